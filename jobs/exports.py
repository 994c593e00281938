"""The suspect workplace list as an Excel file for the yearly inspections."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from jobs import bizno
from jobs.models import Employer

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV/formula injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HEADERS = ["사업자등록번호", "상호", "주소", "의심 지정일", "판정 공고 수", "공고 수", "최근 판정 사유"]


def safe_cell(value: Any) -> Any:
    """Text that would be read as a formula is written with a leading apostrophe, shown as typed."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def suspect_rows(employers: Iterable[Employer]) -> list[list[Any]]:
    rows = []
    for e in employers:
        last = e.status_changes.filter(suspect=True).order_by("-at", "-pk").first()
        rows.append(
            [
                bizno.formatted(e.business_number),
                e.name,
                e.address,
                timezone.localtime(e.suspect_since).strftime("%Y-%m-%d") if e.suspect_since else "",
                getattr(e, "flagged_count", 0),
                getattr(e, "posting_count", 0),
                last.reason if last else "",
            ]
        )
    return rows


def suspects_xlsx(rows: list[list[Any]], *, reason: str, by: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # noqa: S101 - a new workbook always has a sheet
    ws.title = "의심 사업장"
    ws.append([safe_cell("허위·유해 구인광고 의심 사업장 목록")])
    ws.append(
        [safe_cell(f"제공 사유: {reason}"), safe_cell(f"작성: {by}"), timezone.localtime().strftime("%Y-%m-%d %H:%M")]
    )
    ws.append([])
    ws.append(HEADERS)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for col, width in zip("ABCDEFG", (16, 30, 40, 12, 12, 10, 50), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
