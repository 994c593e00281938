"""Work24 (고용24) 채용정보 Open API: the HTTP client, and one parser for its answers and for uploads.

The same parser reads what the scheduled import fetches and what a reviewer uploads (a saved list or
detail XML answer, or a CSV of the same fields), so a quirk is handled once. XML is parsed with defusedxml
with DTDs forbidden: no entity expansion ("billion laughs"), no external entities, no network.

Quirks of real answers handled here (JOB_ADS.md): a UTF-8 byte-order mark; two-digit years ("26-03-30");
`closeDt` as "채용시까지" or "채용시까지  26-04-17"; `smodifyDtm` as "202603300950"; titles of the list
cut at 30 characters and no job description in the list (the detail call has both); HTML entities escaped
twice ("&amp;lt;br&amp;gt;"); fields missing altogether.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - only the type; parsing goes through defusedxml

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from jobs.inputs import MAX_CONTENT, PostingInput

WORK24_CREDIT = "본 자료는 고용노동부 고용24(www.work24.go.kr)에서 제공된 정보이며, 무단복제 및 배포를 금지합니다"
WAGE_TYPES = {"시급": "hourly", "일급": "daily", "월급": "monthly", "연봉": "yearly", "H": "hourly", "D": "daily"}
WAGE_TYPES.update({"M": "monthly", "Y": "yearly", "hourly": "hourly", "daily": "daily"})
WAGE_TYPES.update({"monthly": "monthly", "yearly": "yearly"})
UNTIL_FILLED = "채용시까지"
_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding=[\"']([A-Za-z0-9_\-]+)[\"'][^>]*\?>")
# HTML tags only (ASCII names): "<급구>" in a title is text, not markup.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,10}(?:\s[^<>]{0,200})?/?>")
_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_DATE = re.compile(r"(\d{2,4})[-./](\d{1,2})[-./](\d{1,2})")
_HOURS = re.compile(r"주\s*(\d{1,2}(?:\.\d)?)\s*시간")
_MONEY = re.compile(r"(\d[\d,]*)\s*(만)?\s*원?")


class Work24Disabled(Exception):
    """No WORK24_API_KEY: the scheduled import is off (organization keys only; see .env.example)."""


@dataclass(frozen=True)
class ParsedItem:
    """One posting of a file, or why it could not be read. `label` names it in the import report."""

    label: str
    data: PostingInput | None
    error: str = ""


# --- Small field parsers ----------------------------------------------------------------------------------
def text_of(value: str | None) -> str:
    """Entities escaped once or twice, HTML line breaks and tags, surrounding space: plain text."""
    value = value or ""
    for _i in range(3):
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    value = _BR.sub("\n", value)
    value = _TAG.sub("", value)
    return value.replace("\r\n", "\n").strip()


def parse_date(value: str | None) -> dt.date | None:
    """ "2026-03-30", "26-03-30" (two-digit year: 20xx), "2026.3.30", "20260330"; anything else: None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit() and len(value) in (8, 12):
        value = f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    m = _DATE.search(value)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_close(value: str | None) -> tuple[dt.date | None, bool]:
    """`closeDt`: (closing date or None, open until filled). "채용시까지  26-04-17" gives both."""
    value = value or ""
    return parse_date(value.replace(UNTIL_FILLED, " ")), UNTIL_FILLED in value


def parse_won(value: str | None) -> int | None:
    """ "2500000", "2,500,000원", "250만원", "월급 250만원 ~ 300만원" (the lower bound); 0 or none: None."""
    value = (value or "").strip()
    if not value:
        return None
    m = _MONEY.search(value)
    if not m:
        return None
    try:
        amount = int(m.group(1).replace(",", ""))
    except ValueError:
        return None
    if m.group(2):
        amount *= 10_000
    return amount or None


def parse_hours(value: str | None) -> Decimal | None:
    m = _HOURS.search(value or "")
    if not m:
        return None
    try:
        return Decimal(m.group(1))
    except InvalidOperation:
        return None


# --- XML --------------------------------------------------------------------------------------------------
def decode_xml(content: bytes) -> str:
    """Bytes to text by the declared encoding (UTF-8 when none), the BOM dropped; a clear error otherwise."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    m = _DECLARATION.match(content.lstrip()[:200])
    encoding = m.group(1).decode("ascii").lower() if m else "utf-8"
    if encoding in ("euc-kr", "euc_kr", "ks_c_5601-1987", "ksc5601"):
        encoding = "cp949"
    try:
        text = content.decode(encoding)
    except LookupError:
        raise InvalidInput(_("The file declares an unknown encoding (%(enc)s).") % {"enc": encoding}) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            _("The file is not valid %(enc)s text (byte %(pos)s); save it as UTF-8 and upload it again.")
            % {"enc": encoding.upper(), "pos": exc.start}
        ) from None
    # The declaration names the bytes' encoding; the parser now reads text.
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)


def parse_xml_root(content: bytes) -> Element:
    text = decode_xml(content)
    try:
        return SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InvalidInput(
            _("The XML file declares a DTD or entities, which are refused (they can expand without bound).")
        ) from None
    except SafeET.ParseError as exc:
        raise InvalidInput(_("The file is not well-formed XML: %(error)s.") % {"error": str(exc)}) from None


def _child(node: Element, name: str) -> str:
    found = node.find(name)
    return text_of(found.text) if found is not None and found.text else ""


def _list_item(node: Element) -> PostingInput:
    wage_type = WAGE_TYPES.get(_child(node, "salTpNm"), "")
    wage = parse_won(_child(node, "minSal")) or parse_won(_child(node, "sal"))
    close, until_filled = parse_close(_child(node, "closeDt"))
    address = " ".join(p for p in (_child(node, "basicAddr"), _child(node, "detailAddr")) if p)
    return PostingInput(
        external_id=_child(node, "wantedAuthNo"),
        title=_child(node, "title"),
        content="",  # the list has none; the detail call brings jobCont
        wage_type=wage_type if wage else "",
        wage=wage,
        region=_child(node, "region"),
        employer_name=_child(node, "company"),
        business_number=_child(node, "busino"),
        employer_address=address,
        posted_on=parse_date(_child(node, "regDt")),
        closes_on=close,
        closes_when_filled=until_filled,
        detail_url=_child(node, "wantedInfoUrl"),
    )


def _detail_item(root: Element) -> PostingInput:
    corp = root.find("corpInfo")
    info = root.find("wantedInfo")
    charge = root.find("empchargeInfo")
    if info is None:
        raise InvalidInput(_("The detail answer has no wantedInfo."))
    wage_type = WAGE_TYPES.get(_child(info, "salTpNm").split("(")[0].strip()[:2], "")
    sal_text = _child(info, "salTpNm")
    wage = parse_won(_child(info, "sal")) or parse_won(sal_text)
    close, until_filled = parse_close(_child(info, "receiptCloseDt"))
    work_hours = _child(info, "workdayWorkhrCont")
    content = "\n".join(
        p
        for p in (
            _child(info, "jobCont"),
            work_hours,
            _child(info, "etcWelfare"),
            _child(info, "submitDoc"),
            _child(info, "rcptMthd"),
        )
        if p
    )
    return PostingInput(
        external_id=_child(root, "wantedAuthNo"),
        title=_child(info, "wantedTitle"),
        content=content,
        wage_type=wage_type if wage else "",
        wage=wage,
        hours_per_week=parse_hours(work_hours),
        region=_child(info, "workRegion"),
        contact=_child(charge, "contactTelno") if charge is not None else "",
        employer_name=_child(corp, "corpNm") if corp is not None else "",
        business_number=_child(root, "busino") or (_child(corp, "busino") if corp is not None else ""),
        employer_address=_child(corp, "corpAddr") if corp is not None else "",
        closes_on=close,
        closes_when_filled=until_filled,
        detail_url=_child(root, "wantedInfoUrl"),
    )


def _check_item(label: str, data: PostingInput) -> ParsedItem:
    if not data.external_id:
        return ParsedItem(label, None, _("no wantedAuthNo"))
    if len(data.content) > MAX_CONTENT:
        return ParsedItem(label, None, _("the posting text is longer than %(n)s characters") % {"n": MAX_CONTENT})
    return ParsedItem(label, data)


def parse_xml(content: bytes) -> tuple[str, list[ParsedItem]]:
    """("list" | "detail", items) of a Work24 answer. File-level faults raise InvalidInput (nothing stored)."""
    root = parse_xml_root(content)
    if root.tag == "wantedRoot":
        error = _child(root, "error") or _child(root, "message")
        if error and root.find("wanted") is None:
            raise InvalidInput(_("Work24 answered with an error: %(error)s") % {"error": error[:200]})
        items = []
        for index, node in enumerate(root.iter("wanted"), start=1):
            raw = SafeET.tostring(node, encoding="unicode")
            item = _list_item(node)
            label = item.external_id or _("item %(n)s") % {"n": index}
            checked = _check_item(label, item)
            if checked.data is not None:
                checked = ParsedItem(label, _with_raw(checked.data, raw))
            items.append(checked)
        return "list", items
    if root.tag == "wantedDtl":
        item = _detail_item(root)
        raw = SafeET.tostring(root, encoding="unicode")
        checked = _check_item(item.external_id or _("item 1"), item)
        if checked.data is not None:
            checked = ParsedItem(checked.label, _with_raw(checked.data, raw))
        return "detail", [checked]
    raise InvalidInput(
        _("This XML is not a Work24 answer (<wantedRoot> or <wantedDtl> expected, <%(tag)s> found).")
        % {"tag": root.tag[:40]}
    )


def _with_raw(data: PostingInput, raw: str) -> PostingInput:
    from dataclasses import replace

    return replace(data, raw_payload=raw)


# --- CSV --------------------------------------------------------------------------------------------------
CSV_COLUMNS = (
    "wantedAuthNo",
    "title",
    "content",
    "company",
    "busino",
    "wage_type",
    "wage",
    "hours_per_week",
    "region",
    "contact",
    "regDt",
    "closeDt",
)
REQUIRED_CSV_COLUMNS = {"wantedAuthNo", "title"}


def decode_csv(content: bytes) -> str:
    """UTF-8 (with or without BOM), else CP949 (what Excel in Korean saves); else a clear error."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp949")
    except UnicodeDecodeError:
        raise InvalidInput(_("The CSV file is neither UTF-8 nor CP949 (EUC-KR) text; save it as UTF-8.")) from None


def parse_csv(content: bytes) -> list[ParsedItem]:
    text = decode_csv(content)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = set(reader.fieldnames or [])
    missing = REQUIRED_CSV_COLUMNS - header
    if missing:
        raise InvalidInput(
            _("The CSV file lacks the columns %(cols)s (expected: %(all)s).")
            % {"cols": ", ".join(sorted(missing)), "all": ", ".join(CSV_COLUMNS)}
        )
    items: list[ParsedItem] = []
    try:
        for row in reader:
            line = reader.line_num
            items.append(_csv_item(line, {k: (v or "") for k, v in row.items() if k}))
    except csv.Error as exc:
        raise InvalidInput(_("The CSV file is malformed: %(error)s.") % {"error": str(exc)}) from None
    return items


def _csv_item(line: int, row: dict[str, Any]) -> ParsedItem:
    label = row.get("wantedAuthNo", "").strip() or _("line %(n)s") % {"n": line}
    wage_type = WAGE_TYPES.get(row.get("wage_type", "").strip(), "")
    if row.get("wage_type", "").strip() and not wage_type:
        return ParsedItem(label, None, _("unknown wage type %(v)s") % {"v": row["wage_type"][:20]})
    hours = None
    if row.get("hours_per_week", "").strip():
        try:
            hours = Decimal(row["hours_per_week"].strip())
        except InvalidOperation:
            return ParsedItem(label, None, _("hours_per_week is not a number"))
    wage_text = row.get("wage", "").strip()
    wage = parse_won(wage_text) if wage_text else None
    if wage_text and wage is None:
        return ParsedItem(label, None, _("the wage must be more than 0 won"))
    close, until_filled = parse_close(row.get("closeDt"))
    data = PostingInput(
        external_id=row.get("wantedAuthNo", "").strip(),
        title=text_of(row.get("title")),
        content=text_of(row.get("content")),
        wage_type=wage_type,
        wage=wage,
        hours_per_week=hours,
        region=row.get("region", "").strip(),
        contact=row.get("contact", "").strip(),
        employer_name=row.get("company", "").strip(),
        business_number=row.get("busino", "").strip(),
        posted_on=parse_date(row.get("regDt")),
        closes_on=close,
        closes_when_filled=until_filled,
    )
    return _check_item(label, data)


def parse_upload(filename: str, content: bytes) -> list[ParsedItem]:
    """An uploaded file: XML (by its first bytes) or CSV. Size is checked before any parsing."""
    if len(content) > settings.JOBS_IMPORT_MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(n)s bytes; split it.") % {"n": f"{settings.JOBS_IMPORT_MAX_BYTES:,}"}
        )
    if not content.strip():
        raise InvalidInput(_("The file is empty."))
    head = content[:5].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<") or filename.lower().endswith(".xml"):
        return parse_xml(content)[1]
    return parse_csv(content)


# --- HTTP client ------------------------------------------------------------------------------------------
def _get(url: str, params: dict[str, Any]) -> bytes:
    if not url.startswith("https://") and not url.startswith("http://"):
        raise InvalidInput(_("WORK24_BASE_URL must be an http(s) URL."))
    full = f"{url}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(full, headers={"Accept": "application/xml"})  # noqa: S310 - scheme checked
    with urllib.request.urlopen(request, timeout=settings.WORK24_TIMEOUT_SECONDS) as response:  # noqa: S310
        data: bytes = response.read(settings.JOBS_IMPORT_MAX_BYTES + 1)
    if len(data) > settings.JOBS_IMPORT_MAX_BYTES:
        raise InvalidInput(_("Work24 answered with more than the largest accepted file."))
    return data


def _key() -> str:
    if not settings.WORK24_API_KEY:
        raise Work24Disabled(
            "Work24 import is disabled: set WORK24_API_KEY (an organization authKey issued by Work24) "
            "to fetch postings; uploads of saved answers still work."
        )
    return settings.WORK24_API_KEY


def fetch_list(*, page: int = 1, display: int = 100, filters: dict[str, str] | None = None) -> bytes:
    """One page of the list call (startPage ≤ 1000, display ≤ 100), e.g. regDate="D-0" for today's."""
    params = {"authKey": _key(), "callTp": "L", "returnType": "XML", "startPage": min(max(page, 1), 1000)}
    params.update({"display": min(max(display, 1), 100), **(filters or {})})
    return _get(settings.WORK24_BASE_URL, params)


def fetch_detail(wanted_auth_no: str) -> bytes:
    params = {"authKey": _key(), "callTp": "D", "returnType": "XML", "wantedAuthNo": wanted_auth_no}
    params["infoSvc"] = "VALIDATION"
    return _get(settings.WORK24_DETAIL_URL, params)


def list_total(content: bytes) -> int:
    root = parse_xml_root(content)
    try:
        return int(_child(root, "total") or 0)
    except ValueError:
        return 0


def iter_pages(pages: int, **filters: str) -> Iterator[bytes]:
    for page in range(1, pages + 1):
        content = fetch_list(page=page, filters=filters)
        yield content
        if page * 100 >= list_total(content):
            break
