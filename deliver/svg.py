"""Small inline-SVG charts for the delivery report (no JavaScript, no network: the machine is offline)."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#1f6f8b", "#e07a5f", "#3d9970", "#9b5de5", "#f2a541", "#5c677d", "#d62828", "#00a6a6"]
FONT = 'font-family="system-ui, sans-serif"'


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def fmt(v: float | None) -> str:
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}".replace(",", " ")
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="16" {FONT} font-size="13" font-weight="600">{escape(title)}</text>',
    ]


def horizontal_bars(items: list[tuple[str, float, str]], title: str, unit: str = "", width: int = 900) -> str:
    """One bar per (label, value, note); value axis from 0."""
    bar_h, top, left, right = 18, 30, 190, 300
    height = top + bar_h * len(items) + 30
    vmax = max((v for _, v, _ in items if v is not None), default=1.0) or 1.0
    ticks = nice_ticks(0, vmax)
    scale = (width - left - right) / ticks[-1]
    out = _open(width, height, title)
    for t in ticks:
        x = left + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 26}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x:.1f}" y="{height - 12}" {FONT} font-size="10" text-anchor="middle">{fmt(t)}</text>'
        )
    for i, (label, value, note) in enumerate(items):
        y = top + i * bar_h
        w = (value or 0) * scale
        out.append(
            f'<text x="{left - 6}" y="{y + 13}" {FONT} font-size="11" text-anchor="end">'
            f"{escape(label[:32])}</text>"
        )
        out.append(
            f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}: {fmt(value)} {escape(unit)}</title></rect>'
        )
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}" {FONT} font-size="10">{escape(note)}</text>')
    out.append(
        f'<text x="{width - 8}" y="{height - 12}" {FONT} font-size="10" text-anchor="end">'
        f"{escape(unit)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def _value_grid(ticks: list[float], x0: float, x1: float, top: float, plot_h: float) -> list[str]:
    """Horizontal grid lines with their value labels (bar and line charts share the y axis)."""
    out = []
    for t in ticks:
        y = top + plot_h - t / ticks[-1] * plot_h
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{x0 - 4}" y="{y + 3:.1f}" {FONT} font-size="10" text-anchor="end">{fmt(t)}</text>'
        )
    return out


def _close_with_legend(out, names, unit, width, height, left, right, top) -> str:
    out.extend(_legend(names, width - right + 10, top))
    out.append(f'<text x="{left}" y="{height - 6}" {FONT} font-size="10">{escape(unit)}</text>')
    out.append("</svg>")
    return "\n".join(out)


_MARGINS = (30, 50, 40, 150)  # top, left, bottom, right: room for title, axis labels and legend


def _series_frame(series: dict[str, list], title: str, width: int, height: int):
    """An opened chart, its value grid up to the largest value of any series: (out, ticks, plot_h)."""
    top, left, bottom, right = _MARGINS
    vmax = max((v for vals in series.values() for v in vals if v is not None), default=1.0) or 1.0
    ticks = nice_ticks(0, vmax)
    plot_h = height - top - bottom
    out = _open(width, height, title)
    out.extend(_value_grid(ticks, left, width - right, top, plot_h))
    return out, ticks, plot_h


def grouped_bars(
    categories: list[str],
    series: dict[str, list[float]],
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 260,
) -> str:
    """Bars per category, one colour per series, with a legend."""
    top, left, bottom, right = _MARGINS
    out, ticks, plot_h = _series_frame(series, title, width, height)
    group_w = (width - left - right) / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + group_w * 0.1
        for si, (name, vals) in enumerate(series.items()):
            v = vals[ci] or 0
            h = v / ticks[-1] * plot_h
            out.append(
                f'<rect class="bar" x="{gx + si * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w * 0.9:.1f}" height="{h:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{escape(name)} {escape(cat)}: {fmt(v)}</title></rect>"
            )
        out.append(
            f'<text x="{left + (ci + 0.5) * group_w:.1f}" y="{height - bottom + 14}" {FONT} '
            f'font-size="11" text-anchor="middle">{escape(cat)}</text>'
        )
    return _close_with_legend(out, list(series), unit, width, height, left, right, top)


def lines(
    x_labels: list[str],
    series: dict[str, list[float | None]],
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 260,
) -> str:
    """One polyline per series over the x labels, with a legend."""
    top, left, bottom, right = _MARGINS
    out, ticks, plot_h = _series_frame(series, title, width, height)
    step = (width - left - right) / max(len(x_labels) - 1, 1)
    for i, lab in enumerate(x_labels):
        out.append(
            f'<text x="{left + i * step:.1f}" y="{height - bottom + 14}" {FONT} font-size="10" '
            f'text-anchor="middle">{escape(lab)}</text>'
        )
    for si, vals in enumerate(series.values()):
        colour = PALETTE[si % len(PALETTE)]
        pts = [
            (left + i * step, top + plot_h - v / ticks[-1] * plot_h)
            for i, v in enumerate(vals)
            if v is not None
        ]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(
                f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
    return _close_with_legend(out, list(series), unit, width, height, left, right, top)


def strip(
    points: list[tuple[str, float, bool]],
    title: str,
    unit: str,
    markers: dict[str, float | None],
    band: tuple[float | None, float | None] = (None, None),
    reference: float | None = None,
    width: int = 640,
) -> str:
    """Facility medians as dots on one axis (hollow: below the minimum sample), P25/P50/P75 ticks,
    the bootstrap interval of P75 as a band and the national reference value as a dashed red line."""
    height, left, right, axis_y = 120, 20, 20, 78
    values = [v for _, v, _ in points] + [v for v in markers.values() if v is not None]
    values += [v for v in (*band, reference) if v is not None]
    ticks = nice_ticks(0, max(values, default=1.0))
    scale = (width - left - right) / ticks[-1]
    out = _open(width, height, title)
    lo, hi = band
    if lo is not None and hi is not None:
        out.append(
            f'<rect class="ci" x="{left + lo * scale:.1f}" y="30" width="{(hi - lo) * scale:.1f}" '
            f'height="{axis_y - 30}" fill="{PALETTE[0]}" opacity="0.15"><title>bootstrap 95 % '
            f"interval for P75: {fmt(lo)}–{fmt(hi)}</title></rect>"
        )
    for i, (label, v, ok) in enumerate(points):
        y = 40 + (i * 7919 % 29)  # deterministic jitter
        fill = PALETTE[0] if ok else "none"
        out.append(
            f'<circle class="facility" cx="{left + v * scale:.1f}" cy="{y}" r="3.5" fill="{fill}" '
            f'stroke="{PALETTE[0]}"><title>{escape(label)}: {fmt(v)}</title></circle>'
        )
    for name, v in markers.items():
        if v is None:
            continue
        x = left + v * scale
        out.append(
            f'<line x1="{x:.1f}" y1="32" x2="{x:.1f}" y2="{axis_y}" stroke="#333" stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="28" {FONT} font-size="9" text-anchor="middle">{escape(name)}</text>'
        )
    if reference is not None:
        x = left + reference * scale
        out.append(
            f'<line class="reference" x1="{x:.1f}" y1="24" x2="{x:.1f}" y2="{axis_y}" stroke="#d62828" '
            f'stroke-width="2" stroke-dasharray="5,3"><title>DSA national reference value: '
            f"{fmt(reference)}</title></line>"
        )
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#333"/>')
    for t in ticks:
        x = left + t * scale
        out.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" {FONT} font-size="10" text-anchor="middle">{fmt(t)}</text>'
        )
    out.append(
        f'<text x="{width - right}" y="{axis_y + 30}" {FONT} font-size="10" text-anchor="end">'
        f"{escape(unit)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def _legend(names: list[str], x: int, y: int) -> list[str]:
    out = []
    for i, name in enumerate(names):
        out.append(
            f'<rect x="{x}" y="{y + i * 16}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        out.append(
            f'<text x="{x + 14}" y="{y + i * 16 + 9}" {FONT} font-size="10">{escape(name[:22])}</text>'
        )
    return out
