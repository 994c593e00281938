"""Partner referrals in bulk: reading a partner's file, checking every row, matching known clients.

The flow (DESIGN.md "Partner referrals in bulk"): `import_file_parse` / `import_json_parse` read the upload
at the edge (a file-level problem is one InvalidInput with an `errors` list); `import_batch_create` stores
the rows (RRNs sealed) and enqueues `import_batch_validate`, which checks each row with the rules of single
intake and matches the center's clients; `import_batch_approve` (a manager who did not upload) hands the
batch to the referral app, which applies it (referral/imports.py: the referral step needs that app).

A rule is written once: the lifecycle of a batch is IMPORT_LIFECYCLE; field rules are those of
cases.validation, cases.inputs.needs_parse and the consent/organization rules referral_create applies.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.crypto import rrn_blind_index, rrn_decrypt, rrn_encrypt
from cases.inputs import needs_parse
from cases.models import Client, ConsentMethod, Gender, ImportBatch, ImportRow, ImportStatus
from cases.selectors import pii_actor
from cases.services import CONSENT_RETENTION_YEARS
from cases.signals import import_batch_approved
from cases.validation import (
    birth_date_validate,
    name_validate,
    phone_normalize,
    rrn_validate,
    text_validate,
)
from centers.models import CenterKind, Desk, Service
from core.errors import DomainError, FourEyes, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from core.queueing import enqueue_on_commit

User = Any

# --- The lifecycle: one table; pages, API and tasks read it. -----------------------------------------
IMPORT_LIFECYCLE: dict[str, tuple[frozenset[str], str]] = {
    # action: (statuses it starts from, status it leads to)
    "validate": (frozenset({ImportStatus.VALIDATING}), ImportStatus.READY),  # or INVALID
    "approve": (frozenset({ImportStatus.READY}), ImportStatus.APPROVED),
    "apply": (frozenset({ImportStatus.APPROVED, ImportStatus.APPLYING}), ImportStatus.APPLIED),  # or FAILED
}
# While a batch is in one of these, its page refreshes itself to show progress.
WORKING_STATUSES = frozenset({ImportStatus.VALIDATING, ImportStatus.APPROVED, ImportStatus.APPLYING})

# Referral notes are at most 2000 characters (referral.services.NOTE_MAX); the import's note becomes one.
NOTE_MAX = 2000
# Longer than any field may be: refused before any other rule looks at it.
CELL_MAX = 4000
# Uncompressed bytes an XLSX may expand to, and the largest expansion ratio of one member (ZIP bombs).
XLSX_MAX_EXPANSION = 20
XLSX_MAX_RATIO = 200
TEMPLATE_SHEET = "연계명단"
TEMPLATE_CODES_SHEET = "코드표"
ROW_CHUNK = 1000


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Korean header of the template
    required: bool
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("name", "이름", True, ("성명",)),
    Column("birth_date", "생년월일", True),
    Column("phone", "전화번호", True, ("연락처", "휴대전화", "휴대폰")),
    Column("rrn", "주민등록번호", False),
    Column("gender", "성별", False),
    Column("needs", "욕구", True, ("욕구코드",)),
    Column("service", "연계서비스", True, ("서비스", "서비스코드")),
    Column("consent_date", "동의일", True, ("동의일자",)),
    Column("consent_method", "동의방법", True),
    Column("consent_kinds", "제공동의기관", True, ("동의기관",)),
    Column("note", "메모", False, ("비고",)),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
FIELD_LABELS: dict[str, Any] = {
    "file": gettext_lazy("File"),
    "name": gettext_lazy("Name"),
    "birth_date": gettext_lazy("Birth date"),
    "phone": gettext_lazy("Phone"),
    "rrn": gettext_lazy("Resident registration number"),
    "gender": gettext_lazy("Gender"),
    "needs": gettext_lazy("Needs"),
    "service": gettext_lazy("Service"),
    "consent_date": gettext_lazy("Consent date"),
    "consent_method": gettext_lazy("Consent method"),
    "consent_kinds": gettext_lazy("Organizations consented to"),
    "note": gettext_lazy("Note"),
}


def _header_key(text: str) -> str:
    """'연계 서비스(코드)*' → '연계서비스': spaces, asterisks and parenthesised hints are not part of a header."""
    text = re.sub(r"\(.*?\)|\[.*?\]|\*", "", text)
    return "".join(text.split()).lower()


_HEADERS: dict[str, str] = {}
for _c in COLUMNS:
    for _h in (_c.key, _c.header, *_c.aliases):
        _HEADERS[_header_key(_h)] = _c.key

_GENDERS = {"m": Gender.MALE, "남": Gender.MALE, "남성": Gender.MALE, "male": Gender.MALE}
_GENDERS |= {"f": Gender.FEMALE, "여": Gender.FEMALE, "여성": Gender.FEMALE, "female": Gender.FEMALE}
_GENDERS |= {"x": Gender.OTHER, "기타": Gender.OTHER}
_METHODS = {"paper": ConsentMethod.PAPER, "서면": ConsentMethod.PAPER, "종이": ConsentMethod.PAPER}
_METHODS |= {"electronic": ConsentMethod.ELECTRONIC, "전자": ConsentMethod.ELECTRONIC}
_DATE_RE = re.compile(r"^(\d{4})[-./]?(\d{1,2})[-./]?(\d{1,2})\.?$")


def _kind_names() -> dict[str, str]:
    """Organization kinds by code and by their Korean label ('지자체' → local_government)."""
    out = {value: value for value in CenterKind.values}
    with translation.override("ko"):
        for value, label in CenterKind.choices:
            out["".join(str(label).split())] = value
    return out


# --- Reading the upload (at the edge). -----------------------------------------------------------------


@dataclass
class ParsedFile:
    file_format: str  # csv | xlsx | json
    content_hash: str
    # (row number as the partner sees it, {column key: cell value as read})
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _file_error(message: str, *, row: int = 0, column: str = "file") -> InvalidInput:
    return InvalidInput(message, code="invalid_file", errors=[{"row": row, "field": column, "message": message}])


def check_upload_size(size: int) -> None:
    if size > settings.IMPORT_MAX_BYTES:
        raise _file_error(
            _("The file is too large (at most %(mb)s MB); split it into smaller files.")
            % {"mb": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:g}"}
        )


def _too_many_rows() -> InvalidInput:
    return _file_error(
        _("The file has more than %(n)s rows; split it into smaller files.") % {"n": f"{settings.IMPORT_MAX_ROWS:,}"}
    )


def _mapping(header: Sequence[Any]) -> dict[int, str]:
    """Column position → key; refuses a header missing a required column or naming one twice."""
    positions: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(header):
        key = _HEADERS.get(_header_key(str(cell))) if cell is not None else None
        if key is None:
            continue  # a column of the partner's own: ignored
        if key in seen:
            raise _file_error(
                _("The column “%(column)s” appears twice.") % {"column": COLUMN_BY_KEY[key].header},
                row=1,
                column=key,
            )
        seen.add(key)
        positions[i] = key
    missing = [c.header for c in COLUMNS if c.required and c.key not in seen]
    if missing:
        raise _file_error(
            _("Required columns are missing: %(columns)s. Start from the template file.")
            % {"columns": ", ".join(missing)},
            row=1,
        )
    return positions


def _rows_from(records: Iterator[Sequence[Any]], first_number: int) -> list[tuple[int, dict[str, Any]]]:
    """Header first, then data rows; wholly empty rows (common at the end of a sheet) are skipped."""
    try:
        header = next(records)
    except StopIteration:
        raise _file_error(_("The file is empty.")) from None
    mapping = _mapping(header)
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, record in enumerate(records, start=first_number + 1):
        cells = {key: record[i] if i < len(record) else None for i, key in mapping.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
            continue
        if len(rows) >= settings.IMPORT_MAX_ROWS:
            raise _too_many_rows()
        rows.append((number, cells))
    if not rows:
        raise _file_error(_("The file has a header but no rows."))
    return rows


def _decode_csv(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # CP949 is the superset of EUC-KR that Korean Excel writes ("CSV (쉼표로 분리)").
        return content.decode("cp949")
    except UnicodeDecodeError:
        raise _file_error(_("The file's character encoding was not recognised; save it as CSV UTF-8.")) from None


def _parse_csv(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = _decode_csv(content)
    except UnicodeDecodeError:
        raise _file_error(_("The file's character encoding was not recognised; save it as CSV UTF-8.")) from None
    if "\x00" in text:
        raise _file_error(_("This is not a CSV file (it contains binary data)."))
    try:
        return _rows_from(iter(csv.reader(io.StringIO(text, newline=""))), 1)
    except csv.Error:
        raise _file_error(_("The CSV file could not be read (a cell is too large or quoting is broken).")) from None


def _check_zip(content: bytes) -> None:
    """Refuse a ZIP bomb from the archive's directory, before anything is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _file_error(_("The Excel file could not be read; save it again as .xlsx.")) from None
    total = sum(m.file_size for m in members)
    ratios = (m.file_size / max(m.compress_size, 1) for m in members)
    if total > settings.IMPORT_MAX_BYTES * XLSX_MAX_EXPANSION or any(r > XLSX_MAX_RATIO for r in ratios):
        raise _file_error(_("The Excel file expands to far more data than it holds; it was refused."))


def _parse_xlsx(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_zip(content)
    try:
        # Formulas are read as their text ("=HYPERLINK(…)") so that a row with one is refused, not evaluated.
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        raise _file_error(_("The Excel file could not be read; save it again as .xlsx.")) from None
    try:
        names = book.sheetnames
        if TEMPLATE_SHEET in names:
            sheet = book[TEMPLATE_SHEET]
        elif len([n for n in names if n != TEMPLATE_CODES_SHEET]) == 1:
            sheet = book[next(n for n in names if n != TEMPLATE_CODES_SHEET)]
        else:
            raise _file_error(
                _("The workbook has no sheet named “%(sheet)s” (it has: %(sheets)s). Rename the sheet with the list.")
                % {"sheet": TEMPLATE_SHEET, "sheets": ", ".join(names)[:200]}
            )
        try:
            return _rows_from(sheet.iter_rows(values_only=True), 1)
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError):
            raise _file_error(_("The Excel file could not be read; save it again as .xlsx.")) from None
    finally:
        book.close()


def import_file_parse(*, content: bytes, filename: str) -> ParsedFile:
    """A CSV (UTF-8 with or without BOM, CP949/EUC-KR) or XLSX upload → rows; InvalidInput when unreadable."""
    check_upload_size(len(content))
    lower = filename.lower()
    if content.startswith(b"PK\x03\x04"):
        file_format, rows = "xlsx", _parse_xlsx(content)
    elif lower.endswith(".xlsx"):
        raise _file_error(_("The Excel file could not be read; save it again as .xlsx."))
    elif lower.endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(_("Old Excel files (.xls) are not accepted; save the file as .xlsx or CSV."))
    else:
        file_format, rows = "csv", _parse_csv(content)
    return ParsedFile(file_format=file_format, content_hash=hashlib.sha256(content).hexdigest(), rows=rows)


def import_json_parse(payload: object) -> ParsedFile:
    """`{"rows": [{...}, ...]}` from a partner system; the same keys as the file's English headers."""
    rows = payload.get("rows") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise _file_error(_('Send the rows as {"rows": [...]}.'))
    if not rows:
        raise _file_error(_("The file has a header but no rows."))
    if len(rows) > settings.IMPORT_MAX_ROWS:
        raise _too_many_rows()
    out: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(rows, start=1):
        if not isinstance(item, dict):
            raise _file_error(_("Each row must be an object with named fields."), row=number)
        out.append((number, {c.key: item.get(c.key) for c in COLUMNS}))
    canonical = json.dumps(rows, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    check_upload_size(len(canonical.encode()))
    return ParsedFile(file_format="json", content_hash=hashlib.sha256(canonical.encode()).hexdigest(), rows=out)


# --- Creating the batch. -------------------------------------------------------------------------------


def _storable(value: Any) -> Any:
    """A cell as JSON can hold it: dates as ISO text; nested values kept (the row check refuses them)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) > CELL_MAX:
        return {"too_long": True}
    return value


def _seal_rrn(value: Any) -> bytes | None:
    """The RRN cell sealed as on Client (never stored in plaintext, even when malformed)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:013d}"  # Excel drops the leading zero of those born in the 2000s
    return rrn_encrypt(str(value)[:40])


def import_batch_create(*, user: User, parsed: ParsedFile, filename: str = "") -> tuple[ImportBatch, bool]:
    """Store a parsed upload as a batch of the caller's center; (batch, created).

    The same content from the same center answers the batch made from it before, and creates nothing.
    """
    actor = pii_actor(user)
    center_id = actor.center_id or 0
    existing = ImportBatch.objects.filter(center_id=center_id, content_hash=parsed.content_hash).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                center_id=center_id,
                uploaded_by=user,
                status=ImportStatus.VALIDATING,
                filename=filename[:200],
                file_format=parsed.file_format,
                content_hash=parsed.content_hash,
                total_rows=len(parsed.rows),
            )
            ImportRow.objects.bulk_create(
                [
                    ImportRow(
                        batch=batch,
                        number=number,
                        data={k: _storable(v) for k, v in cells.items() if k != "rrn"},
                        rrn_ciphertext=_seal_rrn(cells.get("rrn")),
                    )
                    for number, cells in parsed.rows
                ],
                batch_size=ROW_CHUNK,
            )
            _enqueue_validate(batch.pk)
    except IntegrityError:
        # The same file uploaded twice at once: the other request's batch is the answer.
        return ImportBatch.objects.get(center_id=center_id, content_hash=parsed.content_hash), False
    return batch, True


def _enqueue_validate(batch_id: int) -> None:
    from cases.tasks import validate_import_batch

    enqueue_on_commit(validate_import_batch, batch_id)


# --- Checking every row. ---------------------------------------------------------------------------------


@dataclass
class Catalog:
    """What the row rules need from the directory, read once per batch."""

    services: set[str]
    # service code → operator kinds of the active desks that deliver it (referral.routing's candidates)
    service_kinds: dict[str, set[str]]
    kind_names: dict[str, str]

    @classmethod
    def load(cls) -> Catalog:
        kinds: dict[str, set[str]] = {}
        for code, kind in Desk.objects.filter(active=True, center__active=True).values_list(
            "services__code", "operator_kind"
        ):
            if code:
                kinds.setdefault(code, set()).add(kind)
        return cls(set(Service.objects.values_list("code", flat=True)), kinds, _kind_names())


@dataclass
class CheckedRow:
    values: dict[str, Any]
    rrn_hash: str | None
    errors: list[dict[str, Any]]


def _text(value: Any, column: str) -> str:
    """A text cell: formulas, nested values and oversize cells are refused before any other rule."""
    if value is None:
        return ""
    if isinstance(value, dict) and value.get("too_long"):
        raise InvalidInput(_("The value is too long (at most %(n)d characters).") % {"n": CELL_MAX}, field=column)
    if isinstance(value, bool) or isinstance(value, dict | list | float):
        raise InvalidInput(_("This cell holds a value of the wrong type; enter text."), field=column)
    text = str(value).strip()
    if len(text) > CELL_MAX:
        raise InvalidInput(_("The value is too long (at most %(n)d characters).") % {"n": CELL_MAX}, field=column)
    if text.startswith("="):
        raise InvalidInput(_("The cell holds a formula; enter the value itself."), field=column)
    return text


def _date(value: Any, column: str) -> dt.date:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, column)
    m = _DATE_RE.match(text[:10] if "T" in text else text)
    try:
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise InvalidInput(_("Enter a valid date (YYYY-MM-DD)."), field=column)


def _codes(value: Any, column: str) -> list[str]:
    """'a; b' or ["a", "b"] → ["a", "b"]."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise InvalidInput(_("This cell holds a value of the wrong type; enter text."), field=column)
        items = value
    else:
        items = _text(value, column).replace(",", ";").split(";")
    return [_text(v, column) for v in items if v and v.strip()]


def _phone(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # A number cell lost its leading zero (1012345678 for 010-1234-5678).
        value = f"0{value}"
    return phone_normalize(_text(value, "phone"))


def _check(errors: list[dict[str, Any]], number: int, column: str, fn: Any, *args: Any) -> Any:  # noqa: ANN401 - the checked value's type is the rule's
    try:
        return fn(*args)
    except DomainError as exc:
        errors.append({"row": number, "field": exc.field or column, "message": exc.detail})
        return None


def row_check(number: int, cells: dict[str, Any], rrn: str | None, catalog: Catalog, today: dt.date) -> CheckedRow:
    """Every rule of single intake, for one row; all its problems at once (one per column)."""
    errors: list[dict[str, Any]] = []
    v: dict[str, Any] = {}
    v["name"] = _check(errors, number, "name", lambda: name_validate(_text(cells.get("name"), "name")))
    birth = _check(
        errors, number, "birth_date", lambda: birth_date_validate(_date(cells.get("birth_date"), "birth_date"))
    )
    v["birth_date"] = birth.isoformat() if birth else None
    v["phone"] = _check(errors, number, "phone", lambda: _phone(cells.get("phone")))
    rrn_hash = None
    if rrn and rrn.strip() and birth is not None:
        checked = _check(errors, number, "rrn", lambda: rrn_validate(rrn, birth))
        if checked:
            rrn_hash = rrn_blind_index(checked[0])

    def gender() -> str:
        text = _text(cells.get("gender"), "gender").lower()
        if text and text not in _GENDERS:
            raise InvalidInput(_("Select a valid choice."), field="gender")
        return str(_GENDERS.get(text, ""))

    v["gender"] = _check(errors, number, "gender", gender)

    def needs() -> list[str]:
        codes = _codes(cells.get("needs"), "needs")
        if not codes:
            raise InvalidInput(_("Enter at least one need code."), field="needs")
        return [n.code for n in needs_parse([{"code": code} for code in codes])]

    v["needs"] = _check(errors, number, "needs", needs)

    def service() -> str:
        code = _text(cells.get("service"), "service")
        if code not in catalog.services:
            raise InvalidInput(_("Unknown service."), field="service")
        return code

    v["service"] = _check(errors, number, "service", service)

    def consent_date() -> str:
        day = _date(cells.get("consent_date"), "consent_date")
        if day > today:
            raise InvalidInput(_("The consent date cannot be in the future."), field="consent_date")
        try:
            expiry = day.replace(year=day.year + CONSENT_RETENTION_YEARS)
        except ValueError:  # 29 February
            expiry = day.replace(year=day.year + CONSENT_RETENTION_YEARS, day=28)
        if expiry <= today:
            raise InvalidInput(
                _("A consent older than %(n)d years is no longer valid; record a new consent.")
                % {"n": CONSENT_RETENTION_YEARS},
                field="consent_date",
            )
        return day.isoformat()

    v["consent_date"] = _check(errors, number, "consent_date", consent_date)

    def method() -> str:
        text = _text(cells.get("consent_method"), "consent_method").lower()
        if text not in _METHODS:
            raise InvalidInput(
                _("Enter the consent method as 서면 (paper) or 전자 (electronic)."), field="consent_method"
            )
        return str(_METHODS[text])

    v["consent_method"] = _check(errors, number, "consent_method", method)

    def kinds() -> list[str]:
        out: list[str] = []
        for name in _codes(cells.get("consent_kinds"), "consent_kinds"):
            kind = catalog.kind_names.get("".join(name.split()))
            if kind is None:
                raise InvalidInput(_("Select valid organization kinds."), field="consent_kinds")
            if kind not in out:
                out.append(kind)
        if not out:
            raise InvalidInput(
                _("Choose at least one kind of organization the client agreed to."), field="consent_kinds"
            )
        return out

    v["consent_kinds"] = _check(errors, number, "consent_kinds", kinds)
    if (
        v["service"]
        and v["consent_kinds"]
        and not catalog.service_kinds.get(v["service"], set()) & set(v["consent_kinds"])
    ):
        errors.append(
            {
                "row": number,
                "field": "consent_kinds",
                "message": _(
                    "The consent does not cover any organization that delivers this service; "
                    "the client must consent to one of: %(kinds)s."
                )
                % {"kinds": ", ".join(sorted(_kind_label(k) for k in catalog.service_kinds.get(v["service"], ())))},
            }
        )
    v["note"] = _check(
        errors,
        number,
        "note",
        lambda: text_validate(_text(cells.get("note"), "note"), field="note", max_length=NOTE_MAX),
    )
    return CheckedRow(values=v, rrn_hash=rrn_hash, errors=errors)


def _kind_label(kind: str) -> str:
    return str(dict(CenterKind.choices).get(kind, kind))


def _chunks(items: Sequence[Any], size: int = ROW_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _matches(center_id: int, checked: dict[int, CheckedRow]) -> dict[int, int]:
    """Row number → existing client id, by RRN blind index first, else name + birth date + phone."""
    by_hash = {c.rrn_hash: n for n, c in checked.items() if c.rrn_hash}
    out: dict[int, int] = {}
    for hashes in _chunks(list(by_hash)):
        for pk, rrn_hash in Client.objects.filter(center_id=center_id, rrn_hash__in=hashes).values_list(
            "pk", "rrn_hash"
        ):
            out[by_hash[rrn_hash or ""]] = pk
    identity = {
        (c.values["name"], c.values["birth_date"], c.values["phone"]): n for n, c in checked.items() if n not in out
    }
    phones = sorted({phone for _name, _birth, phone in identity})
    for chunk in _chunks(phones):
        for pk, name, birth, phone in (
            Client.objects.filter(center_id=center_id, phone__in=chunk)
            .order_by("pk")
            .values_list("pk", "name", "birth_date", "phone")
        ):
            n = identity.get((name, birth.isoformat(), phone))
            if n is not None and n not in out:
                out[n] = pk
    return out


def import_progress_key(batch_id: int) -> str:
    """The cache key the applying worker counts its rows in (its transaction hides them until commit)."""
    return f"import-batch:{batch_id}:applied"


def import_batch_validate(*, batch_id: int) -> ImportBatch | None:
    """Check every row of a `validating` batch, then mark it ready or invalid. Idempotent.

    Rows are read and checked in chunks, the progress saved between them; the verdict is one transaction.
    An invalid batch keeps its errors but not its rows (they will never be applied: no personal data kept).
    """
    batch = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.VALIDATING).first()
    if batch is None:
        return None
    with translation.override("ko"):
        catalog = Catalog.load()
        today = timezone.localdate()
        errors: list[dict[str, Any]] = []
        checked: dict[int, CheckedRow] = {}
        seen_rrn: dict[str, int] = {}
        seen_identity: dict[tuple[Any, ...], int] = {}
        done = 0
        ids = list(batch.rows.order_by("number").values_list("pk", flat=True))
        for chunk in _chunks(ids):
            for row in ImportRow.objects.filter(pk__in=chunk).order_by("number"):
                rrn = rrn_decrypt(bytes(row.rrn_ciphertext)) if row.rrn_ciphertext else None
                result = row_check(row.number, row.data, rrn, catalog, today)
                if not result.errors:
                    identity = (result.values["name"], result.values["birth_date"], result.values["phone"])
                    first = seen_rrn.get(result.rrn_hash or "") or seen_identity.get(identity)
                    if first is not None:
                        result.errors.append(
                            {
                                "row": row.number,
                                "field": "name",
                                "message": _("The same person is already listed in row %(row)d.") % {"row": first},
                            }
                        )
                    else:
                        if result.rrn_hash:
                            seen_rrn[result.rrn_hash] = row.number
                        seen_identity[identity] = row.number
                        checked[row.number] = result
                errors.extend(result.errors)
            done += len(chunk)
            ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.VALIDATING).update(processed_rows=done)
        matches = _matches(batch.center_id, checked)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().filter(pk=batch_id, status=ImportStatus.VALIDATING).first()
        if batch is None:
            return None
        now = timezone.now()
        batch.valid_rows = len(checked)
        batch.matched_rows = len(matches)
        batch.errors = errors
        batch.processed_rows = batch.total_rows
        batch.validated_at = now
        if errors:
            batch.status = ImportStatus.INVALID
            ImportRow.objects.filter(batch_id=batch_id).delete()
        else:
            batch.status = ImportStatus.READY
            # The cells as read give way to the checked values: the rows are written anew (one INSERT per
            # thousand; an UPDATE of each row's JSON by CASE costs seconds per thousand rows).
            sealed = list(ImportRow.objects.filter(batch_id=batch_id).values_list("number", "rrn_ciphertext"))
            ImportRow.objects.filter(batch_id=batch_id).delete()
            ImportRow.objects.bulk_create(
                [
                    ImportRow(
                        batch_id=batch_id,
                        number=number,
                        data=checked[number].values,
                        rrn_ciphertext=rrn,
                        matched_client_id=matches.get(number),
                    )
                    for number, rrn in sealed
                ],
                batch_size=ROW_CHUNK,
            )
        batch.save(
            update_fields=[
                "status",
                "valid_rows",
                "matched_rows",
                "errors",
                "processed_rows",
                "validated_at",
                "updated_at",
            ]
        )
    return batch


# --- Approving (maker-checker). ---------------------------------------------------------------------------


def import_status_label(status: str) -> str:
    return str(dict(ImportStatus.choices).get(status, status))


@transaction.atomic
def import_batch_approve(*, user: User, batch_id: int | str) -> ImportBatch:
    """A manager of the batch's center who did not upload it approves; the referral app then applies it."""
    actor = pii_actor(user)
    try:
        pk = int(batch_id)
    except (TypeError, ValueError):
        raise NotFound(_("Not found.")) from None
    batch = ImportBatch.objects.select_for_update().filter(pk=pk, center_id=actor.center_id or 0).first()
    if batch is None:
        raise NotFound(_("Not found."))
    if not actor.is_manager:
        raise PermissionDenied(_("Only a center manager can approve a batch."))
    if batch.uploaded_by_id == actor.user_id:
        raise FourEyes(_("The person who uploaded a batch cannot approve it; ask another manager."))
    starts, to_status = IMPORT_LIFECYCLE["approve"]
    if batch.status not in starts:
        raise InvalidTransition(
            _("This batch is “%(status)s”; it cannot be approved.") % {"status": import_status_label(batch.status)}
        )
    batch.status = to_status
    batch.approved_by = user
    batch.approved_at = timezone.now()
    batch.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    import_batch_approved.send(sender=ImportBatch, batch_id=batch.pk)
    return batch


# --- What the pages and the API show. ------------------------------------------------------------------


def import_progress(batch: ImportBatch) -> int:
    """Percent done of the step the batch is in (validating, or applying)."""
    total = batch.total_rows or 1
    if batch.status == ImportStatus.VALIDATING:
        return min(99, batch.processed_rows * 100 // total)
    if batch.status == ImportStatus.APPLYING:
        # The worker counts in the cache (its one transaction hides its rows until it commits); with the
        # cache unreachable the row's own count stands in (0 from the claim until the commit).
        done = cache.get(import_progress_key(batch.pk))
        return min(99, int(batch.processed_rows if done is None else done) * 100 // total)
    if batch.status == ImportStatus.APPROVED:
        return 0
    return 100


def import_report(batch: ImportBatch) -> list[dict[str, Any]]:
    """Per row once applied: the client (matched or new), the case and the referral made."""
    if batch.status != ImportStatus.APPLIED:
        return []
    return [
        {
            "row": number,
            "client": client_id,
            "matched": matched_id is not None,
            "case": case_id,
            "referral": referral_id,
        }
        for number, client_id, matched_id, case_id, referral_id in batch.rows.order_by("number").values_list(
            "number", "client_id", "matched_client_id", "case_id", "referral_id"
        )
    ]


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def spreadsheet_safe(value: Any) -> Any:
    """A cell that a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _example_row(today: dt.date) -> list[str]:
    return [
        "홍길동",
        "1985-03-15",
        "010-1234-5678",
        "",
        "남",
        "job_search; debt_adjustment",
        "debt_adjustment",
        today.isoformat(),
        "서면",
        "microfinance; employment_welfare",
        "지자체 발굴 대상자",
    ]


def import_template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow(_example_row(timezone.localdate()))
    # A BOM so that Korean Excel opens it as UTF-8.
    return b"\xef\xbb\xbf" + out.getvalue().encode()


def import_template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    from cases.needs import NEEDS

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has one sheet
    sheet.title = TEMPLATE_SHEET
    sheet.append([f"{c.header}{'' if c.required else ' (선택)'}" for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example = _example_row(timezone.localdate())
    sheet.append(example)
    for column_cells in sheet.columns:
        sheet.column_dimensions[column_cells[0].column_letter].width = 18
    codes = book.create_sheet(TEMPLATE_CODES_SHEET)
    with translation.override("ko"):
        codes.append(["구분", "코드", "이름"])
        for need in NEEDS:
            codes.append(["욕구", need.code, str(need.label)])
        for code, name in Service.objects.order_by("code").values_list("code", "name"):
            codes.append(["연계서비스", code, name])
        for value, label in CenterKind.choices:
            codes.append(["제공동의기관", value, str(label)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def errors_for_display(errors: Iterable[dict[str, Any]], limit: int = 500) -> list[dict[str, Any]]:
    return [{**e, "label": field_label(str(e.get("field", "")))} for e in list(errors)[:limit]]
