"""The table exactly as shown on the dashboard, as a matrix, CSV (UTF-8 with BOM) and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from stats.selectors import FIGURES, StatsReport
from stats.suppression import MASKED, SUPPRESSED

NUMBER_FORMATS = {"count": "#,##0", "hours": "0.0", "share": "0.0%"}


def table_matrix(report: StatsReport) -> tuple[list[str], list[str], list[list[Any]]]:
    """(headers, kinds, rows) of the table, the totals row last."""
    headers = [_("Month")] + [h for _k, h in report.columns] + [_(h) for _k, h, _kind in FIGURES]
    kinds = ["text"] * (1 + len(report.columns)) + [kind for _k, _h, kind in FIGURES]
    rows = []
    for r in report.rows:
        rows.append(
            [r.month] + [r.labels.get(k, "") for k, _h in report.columns] + [r.values.get(k) for k, _h, _kd in FIGURES]
        )
    total = [_("Total")] + [""] * len(report.columns) + [report.total.values.get(k) for k, _h, _kd in FIGURES]
    rows.append(total)
    return headers, kinds, rows


def _text(v: Any) -> str:
    if v is None:
        return ""
    return str(v)


def to_csv(report: StatsReport) -> bytes:
    headers, _kinds, rows = table_matrix(report)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    # The BOM lets Excel recognise UTF-8 and show Korean correctly.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def filter_description(report: StatsReport) -> list[tuple[str, str]]:
    q = report.query
    return [
        (_("First month"), f"{q.start:%Y-%m}"),
        (_("Last month"), f"{q.end:%Y-%m}"),
        (_("Center"), q.center.name if q.center else _("All")),
        (_("Region"), q.region.name if q.region else _("All")),
        (_("Center kind"), q.kind or _("All")),
        (_("Domain"), q.domain or _("All")),
        (_("Group by"), q.group),
        (_("Generated at"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        (
            _("Figures as of"),
            timezone.localtime(report.computed_at).strftime("%Y-%m-%d %H:%M") if report.computed_at else "",
        ),
    ]


def suppression_note(report: StatsReport) -> list[str]:
    if not report.suppressed:
        return [_("Small cells are not suppressed in this export (own center or administrator).")]
    return [
        _("Any figure counting 1 to 4 clients is shown as “<5”, never the number."),
        _("Figures that would let a “<5” cell be recovered by subtraction are hidden as “*”."),
        _("Medians and 90th percentiles from fewer than 5 durations are shown as “<5”."),
    ]


def to_xlsx(report: StatsReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    headers, kinds, rows = table_matrix(report)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Statistics")[:31]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in rows:
        ws.append([v if v not in (None,) else None for v in row])
        for cell, kind in zip(ws[ws.max_row], kinds, strict=True):
            if kind in NUMBER_FORMATS and not isinstance(cell.value, str):
                cell.number_format = NUMBER_FORMATS[kind]
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(10, min(30, len(h) * 2 + 2))
    info = wb.create_sheet(_("Filters")[:31])
    info.append([_("Condition"), _("Value")])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for k, v in filter_description(report):
        info.append([k, v])
    info.append([])
    info.append([_("Suppression rule")])
    info.cell(row=info.max_row, column=1).font = Font(bold=True)
    for line in suppression_note(report):
        info.append([line])
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 40
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["MASKED", "SUPPRESSED", "table_matrix", "to_csv", "to_xlsx"]
