"""Charts for the delivery report: matplotlib figures drawn by its SVG backend into inline `<svg>`.

No pyplot (no global figure state) and no raster backend: each chart is a `Figure` on a
`FigureCanvasSVG`. The rc settings below make the output the same bytes for the same data (a fixed
salt for the generated ids, no date) and keep text as `<text>` (readable, searchable, no glyph
outlines), so a chart needs no font file or script: the report opens offline.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from html import escape
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.rcsetup import cycler

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

PALETTE = ["#1f6f8b", "#e07a5f", "#3d9970", "#9b5de5", "#f2a541", "#5c677d", "#d62828", "#00a6a6"]
REFERENCE = "#d62828"
PX = 1 / 96  # figure sizes are given in CSS pixels
RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "stralebruk-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "legend.frameon": False,
}


@contextmanager
def _axes(width: int, height: int, title: str) -> Iterator[tuple[Figure, Axes]]:
    with mpl.rc_context(RC):
        fig = Figure(figsize=(width * PX, height * PX), layout="constrained")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_title(title)
        yield fig, ax


def _svg(fig: Figure, title: str) -> str:
    """The figure as an inline `<svg class="chart">` (no XML prolog), labelled with its title."""
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)
    label = f'<svg class="chart" role="img" aria-label="{escape(title)}" '
    return text.replace("<svg ", label, 1)


def horizontal_bars(
    items: Sequence[tuple[str, float, str]], title: str, unit: str, *, name: str, width: int = 900
) -> str:
    """One bar per (label, value, note), first item on top, the note beside its bar."""
    with _axes(width, 90 + 18 * len(items), title) as (fig, ax):
        bars = ax.barh(range(len(items)), [v or 0 for _, v, _ in items], height=0.7)
        for i, bar in enumerate(bars):
            bar.set_gid(f"{name}-bar-{i}")
        ax.bar_label(bars, labels=[note for _, _, note in items], padding=4, fontsize=7)
        ax.set_yticks(range(len(items)), [label[:32] for label, _, _ in items])
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        return _svg(fig, title)


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    unit: str,
    *,
    name: str,
    width: int = 640,
    height: int = 260,
) -> str:
    """Bars per category, one colour per series, legend on the right."""
    with _axes(width, height, title) as (fig, ax):
        step = 0.8 / max(len(series), 1)
        for si, (label, values) in enumerate(series.items()):
            xs = [ci - 0.4 + step * (si + 0.5) for ci in range(len(categories))]
            bars = ax.bar(xs, [v or 0 for v in values], step * 0.9, label=label)
            for ci, bar in enumerate(bars):
                bar.set_gid(f"{name}-bar-{ci}-{si}")
        ax.set_xticks(range(len(categories)), categories)
        ax.set_ylabel(unit)
        if series:  # no rows, no legend (matplotlib warns of an empty one)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig, title)


def lines(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    unit: str,
    *,
    name: str,
    width: int = 640,
    height: int = 260,
) -> str:
    """One line per series over the x labels (points without a value left out), legend on the right."""
    with _axes(width, height, title) as (fig, ax):
        for si, (label, values) in enumerate(series.items()):
            points = [(i, v) for i, v in enumerate(values) if v is not None]
            (line,) = ax.plot([i for i, _ in points], [v for _, v in points], marker="o", ms=3, label=label)
            line.set_gid(f"{name}-line-{si}")
        ax.set_xticks(range(len(x_labels)), x_labels)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit)
        if series:  # no rows, no legend (matplotlib warns of an empty one)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig, title)


def interval_line(
    x_labels: Sequence[str],
    values: Sequence[float | None],
    band: Sequence[tuple[float | None, float | None]],
    title: str,
    unit: str,
    *,
    name: str,
    label: str = "P75",
    reference: float | None = None,
    width: int = 480,
    height: int = 220,
) -> str:
    """One line over the x labels (points without a value left out) with its interval as a shaded band
    (`name`-ci, where both bounds are given), and a reference value as a dashed line (`name`-reference)."""
    with _axes(width, height, title) as (fig, ax):
        spans = [(i, lo, hi) for i, (lo, hi) in enumerate(band) if lo is not None and hi is not None]
        if spans:
            fill = ax.fill_between(
                [i for i, _, _ in spans],
                [lo for _, lo, _ in spans],
                [hi for _, _, hi in spans],
                color=PALETTE[0],
                alpha=0.15,
                lw=0,
                label="95 % interval",
            )
            fill.set_gid(f"{name}-ci")
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        (line,) = ax.plot([i for i, _ in points], [v for _, v in points], marker="o", ms=3, label=label)
        line.set_gid(f"{name}-line-0")
        if reference is not None:
            ax.axhline(reference, color=REFERENCE, lw=1.5, ls="--", label="DSA NRV").set_gid(
                f"{name}-reference"
            )
        ax.set_xticks(range(len(x_labels)), x_labels)
        ax.set_xlim(-0.5, max(len(x_labels) - 0.5, 0.5))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit)
        ax.legend(loc="lower left", fontsize=7)
        return _svg(fig, title)


def strip(
    points: Sequence[tuple[str, float, bool]],
    title: str,
    unit: str,
    *,
    name: str,
    markers: Mapping[str, float | None],
    band: tuple[float | None, float | None] = (None, None),
    reference: float | None = None,
    width: int = 640,
) -> str:
    """Facility medians as dots on one axis (hollow: below the minimum sample), P25/P50/P75 as
    ticks, the bootstrap interval of P75 as a band, the national reference value as a dashed line."""
    with _axes(width, 140, title) as (fig, ax):
        lo, hi = band
        if lo is not None and hi is not None:
            ax.axvspan(lo, hi, color=PALETTE[0], alpha=0.15, lw=0).set_gid(f"{name}-ci")
        jitter = [(i * 7919 % 29) / 29 for i in range(len(points))]  # deterministic spread
        for filled in (True, False):
            xs = [v for _, v, ok in points if ok is filled]
            ys = [j for j, (_, _, ok) in zip(jitter, points, strict=True) if ok is filled]
            face = PALETTE[0] if filled else "none"
            ax.scatter(xs, ys, s=18, facecolors=face, edgecolors=PALETTE[0], zorder=3)
        for label, value in markers.items():
            if value is not None:
                ax.axvline(value, ymax=0.9, color="#333", lw=1.5)
                ax.annotate(label, (value, 0.9), xycoords=ax.get_xaxis_transform(), ha="center", va="bottom")
        if reference is not None:
            ax.axvline(reference, color=REFERENCE, lw=2, ls="--").set_gid(f"{name}-reference")
        ax.set_xlim(left=0)
        ax.set_ylim(-0.3, 1.3)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(unit)
        return _svg(fig, title)
