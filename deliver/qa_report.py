"""report.html of a sender's QA folder (deliver/qa.py): one self-contained page, offline.

The Jinja2 template `templates/qa_report.html.j2` (autoescaped; the delivery report's CSS inlined,
no script), charts as inline SVG from `deliver.charts`: the files by module and status, the
findings by class, the completeness by month beside the national share, and the ZXM coding by
month beside the national share when the served warehouse has it.
"""

from __future__ import annotations

from typing import Any

import jinja2
import pyarrow as pa

from deliver import charts
from deliver.formatting import fmt, table_rows

MAX_ROWS = 200  # rows of a table shown in the page; the CSV has them all
FINDINGS_SHOWN = 50
MONTHS = [str(m) for m in range(1, 13)]
STATUSES = ("loaded", "rejected", "duplicate")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return fmt(value)
    return "–" if value is None else str(value)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("deliver", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["cell"] = _cell
_ENV.filters["share"] = _share


def _pick(rows: list[dict], columns: list[str]) -> list[dict]:
    return [{c: r.get(c) for c in columns} for r in rows]


def _shown(table: pa.Table) -> list[dict]:
    """A served table's rows as the page shows them: without the columns every row repeats."""
    same = {"year", "institution_orgnr", "is_provisional"}
    return [{k: v for k, v in r.items() if k not in same} for r in table_rows(table)]


def files_chart(files: list[dict]) -> str:
    modules = sorted({r["module"] or "unknown" for r in files})
    series = {s: [0.0] * len(modules) for s in STATUSES}
    for r in files:
        if r["status"] in series:
            series[r["status"]][modules.index(r["module"] or "unknown")] += 1
    return charts.grouped_bars(
        modules, series, "Files of the year by module and status", "files", name="qa-files"
    )


def findings_chart(by_class: list[dict]) -> str:
    items = [
        (
            r["finding_class"],
            float(r["n_findings"]),
            f"{r['n_findings']}"
            + (f" in {r['n_files']} files" if r["n_files"] is not None else " (warehouse)"),
        )
        for r in by_class
    ]
    return charts.horizontal_bars(items, "Findings by class", "findings", name="qa-findings")


def completeness_chart(rows: list[dict], orgnr: str) -> str:
    return charts.lines(
        MONTHS,
        {
            orgnr: [r["share_with_dose"] for r in rows],
            "national": [r["national_share_with_dose"] for r in rows],
        },
        "Share of ionising procedures with a dose indicator, by month",
        "share with a dose indicator",
        name="qa-completeness",
    )


def zxm_chart(shares: tuple[list, list], orgnr: str) -> str:
    mine, nation = shares
    return charts.lines(
        MONTHS,
        {orgnr: mine, "national": nation},
        "Share of image-guided procedures with a ZXM code, by month",
        "share with a ZXM code",
        name="qa-zxm",
    )


def _summary(manifest: dict, tables: dict[str, pa.Table]) -> list[dict]:
    rows = [{"what": f"files {s}", "value": manifest["files"].get(s, 0)} for s in STATUSES]
    rows.append({"what": "findings", "value": manifest["findings"]})
    if "completeness" in tables:
        months = table_rows(tables["completeness"])
        n = sum(r["n_ionising_procedures"] for r in months)
        with_dose = sum(r["n_with_dose"] for r in months)
        rows.append({"what": "ionising procedures", "value": n})
        rows.append({"what": "share with a dose indicator", "value": _share(with_dose / n if n else None)})
        rows.append(
            {
                "what": "months without ionising procedures",
                "value": sum(1 for r in months if not r["n_ionising_procedures"]),
            }
        )
    return rows


def render_qa_report(
    manifest: dict, tables: dict[str, pa.Table], descriptions: dict[str, str], extra: dict[str, Any]
) -> str:
    """The HTML of a QA folder's report.html. `extra["zxm"]`: the institution's and the national ZXM
    share by month (deliver.qa_sources.monthly_national), or None."""
    orgnr = manifest["institution"]
    files = table_rows(tables["files"])
    by_class = table_rows(tables["findings_by_class"])
    sections: list[dict] = []
    rejected = [r for r in files if r["status"] == "rejected"]
    duplicates = [r for r in files if r["status"] == "duplicate"]
    loaded = [r for r in files if r["status"] == "loaded"]
    sections.append(
        {
            "title": "Files",
            "charts": [files_chart(files)],
            "tables": [
                {
                    "title": f"Rejected ({len(rejected)})",
                    "note": "Refused whole: nothing of these files is in the register. Fix and send again.",
                    "rows": _pick(
                        rejected, ["file", "module", "reason_class", "reason", "line", "ingested_at"]
                    ),
                    "empty": "No file was rejected.",
                },
                {
                    "title": f"Duplicates ({len(duplicates)})",
                    "note": "The same bytes as a file already loaded: read once, counted once.",
                    "rows": _pick(duplicates, ["file", "module", "duplicate_of", "ingested_at"]),
                    "empty": "No duplicate.",
                },
                {
                    "title": f"Loaded ({len(loaded)})",
                    "note": "rows: records stored; findings: record-level findings in the file.",
                    "rows": _pick(
                        loaded,
                        [
                            "file",
                            "module",
                            "message_type",
                            "period_from",
                            "period_to",
                            "lopenr",
                            "rows",
                            "findings",
                        ],
                    ),
                    "empty": "No file was loaded.",
                },
            ],
        }
    )
    findings = table_rows(tables["findings"])
    sections.append(
        {
            "title": "Findings",
            "charts": [findings_chart(by_class)] if by_class else [],
            "tables": [
                {
                    "title": "By class",
                    "note": descriptions["findings_by_class"],
                    "rows": _pick(by_class, ["finding_class", "n_findings", "n_files", "examples", "what"]),
                    "empty": "No findings: every record passed the checks.",
                },
                {
                    "title": "Findings"
                    + (
                        f" (first {FINDINGS_SHOWN} of {len(findings)})"
                        if len(findings) > FINDINGS_SHOWN
                        else ""
                    ),
                    "note": "Every finding is in findings.csv.",
                    "rows": _pick(
                        findings[:FINDINGS_SHOWN],
                        ["finding_class", "file", "record_no", "episode_id", "record_key", "detail"],
                    ),
                    "empty": "No findings.",
                },
            ],
        }
    )
    if "completeness" in tables:
        months = table_rows(tables["completeness"])
        sections.append(
            {
                "title": "Completeness by month",
                "charts": [completeness_chart(months, orgnr)],
                "tables": [{"title": "", "note": descriptions["completeness"], "rows": months, "empty": ""}],
            }
        )
    if "zxm_completeness" in tables:
        sections.append(
            {
                "title": "ZXM coding",
                "charts": [zxm_chart(extra["zxm"], orgnr)] if extra.get("zxm") else [],
                "tables": [
                    {
                        "title": "",
                        "note": descriptions["zxm_completeness"],
                        "rows": _shown(tables["zxm_completeness"]),
                        "empty": "No image-guided procedures this year.",
                    }
                ],
            }
        )
    if "double_reporting" in tables:
        sections.append(
            {
                "title": "Double reporting",
                "charts": [],
                "tables": [
                    {
                        "title": "",
                        "note": descriptions["double_reporting"],
                        "rows": _shown(tables["double_reporting"]),
                        "empty": "No procedures this year.",
                    }
                ],
            }
        )
    return _ENV.get_template("qa_report.html.j2").render(
        manifest=manifest,
        summary=_summary(manifest, tables),
        sections=sections,
        max_rows=MAX_ROWS,
    )
