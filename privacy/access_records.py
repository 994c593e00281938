"""The access records for the privacy officer (safeguard notice §8): read, filter, verify, export.

- `access_log_filter_parse`: the query string (API and page) becomes a typed `AccessLogFilter` once, at the
  edge; a bad value is an InvalidInput naming the parameter (400), never an empty or unfiltered answer.
- `access_log_rows`: the filtered rows, newest first (privacy officer only; everyone else 403).
- `access_log_verify`: the hash chain walked end to end (cases.access_log.verify); names the first broken row.
- `access_log_export`: the filtered rows as CSV. The export is itself a download of personal data (each row
  names whose data was touched), so it asks for a reason and writes one download record per client in it,
  with that reason (§8②), in the same transaction as the read it answers.

`export_csv_reason` is the one rule for a reason a personal-data export asks for, shared with the
provision-ledger export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import access_log
from cases.models import AccessAction, PiiAccessLog
from cases.services import pii_access_log_write
from cases.validation import text_validate
from core.errors import InvalidInput
from core.orm import parse_pk
from privacy.officer import require_officer

EXPORT_MAX_ROWS = 100_000
REASON_MAX = 500
# A cell that a spreadsheet would run as a formula is written as text (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AccessLogFilter:
    username: str = ""
    client_id: int | None = None
    action: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as the page's and API's query parameters (for links to the next page, the export)."""
        out = {
            "user": self.username,
            "client": str(self.client_id or ""),
            "action": self.action,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in out.items() if v}


def _date(params: Mapping[str, Any], name: str) -> dt.date | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("Write the date as YYYY-MM-DD."), field=name) from None


def access_log_filter_parse(params: Mapping[str, Any]) -> AccessLogFilter:
    username = str(params.get("user") or "").strip()
    if len(username) > 150:
        raise InvalidInput(_("No staff account has a name that long."), field="user")
    raw_client = str(params.get("client") or "").strip()
    client_id = None
    if raw_client:
        client_id = parse_pk(raw_client)
        if client_id is None:
            raise InvalidInput(_("A client number is a whole number from 1."), field="client")
    action = str(params.get("action") or "").strip()
    if action and action not in AccessAction.values:
        raise InvalidInput(_("Choose one of: %s.") % ", ".join(AccessAction.values), field="action")
    since, until = _date(params, "from"), _date(params, "to")
    if since and until and since > until:
        raise InvalidInput(_("The start date is after the end date."), field="from")
    return AccessLogFilter(username=username, client_id=client_id, action=action, since=since, until=until)


def access_log_rows(user: Any, f: AccessLogFilter) -> QuerySet[PiiAccessLog]:
    require_officer(user)
    qs = PiiAccessLog.objects.select_related("user").order_by("-seq")
    if f.username:
        qs = qs.filter(user__username=f.username)
    if f.client_id is not None:
        qs = qs.filter(client_id=f.client_id)
    if f.action:
        qs = qs.filter(action=f.action)
    # Days are Asia/Seoul days (the current time zone), both ends included.
    if f.since:
        qs = qs.filter(at__gte=_day_start(f.since))
    if f.until:
        qs = qs.filter(at__lt=_day_start(f.until + dt.timedelta(days=1)))
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def access_log_verify(user: Any) -> access_log.Verdict:
    require_officer(user)
    return access_log.verify()


def export_csv_reason(reason: object) -> str:
    """A personal-data export's reason: required, at most 500 characters (PRIVACY.md §8②)."""
    return text_validate(reason, field="reason", max_length=REASON_MAX, required=True)


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


EXPORT_HEADERS = ["순번", "일시", "사용자", "내담자 번호", "행위", "화면·기능", "접속지", "사유"]


def access_log_export(*, user: Any, f: AccessLogFilter, reason: object, ip: str | None) -> str:
    """The filtered rows as CSV text (UTF-8 with a BOM for Excel), and their download records."""
    require_officer(user)
    why = export_csv_reason(reason)
    labels = dict(AccessAction.choices)
    with transaction.atomic():
        rows = list(
            access_log_rows(user, f).values_list(
                "seq", "at", "user__username", "client_id", "action", "view", "ip_address", "reason"
            )[: EXPORT_MAX_ROWS + 1]
        )
        if len(rows) > EXPORT_MAX_ROWS:
            raise InvalidInput(
                _("More than %(max)s rows match: narrow the dates or the filters.") % {"max": f"{EXPORT_MAX_ROWS:,}"},
                field="from",
            )
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(EXPORT_HEADERS)
        for seq, at, username, client_id, action, view, address, row_reason in rows:
            writer.writerow(
                [
                    seq, timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"), csv_cell(username), client_id,
                    str(labels.get(action, action)), csv_cell(view), address or "", csv_cell(row_reason),
                ]
            )  # fmt: skip
        pii_access_log_write(
            user=user,
            clients=[r[3] for r in rows],
            view="privacy:access_log_export",
            ip_address=ip,
            action=AccessAction.DOWNLOAD,
            reason=why,
        )
    return out.getvalue()


def staff_usernames() -> list[str]:
    """The accounts the page's user filter offers (every account that can appear in the log)."""
    return list(get_user_model().objects.order_by("username").values_list("username", flat=True)[:2000])


# What the officer reads in the "screen" column: the screen or endpoint in words (the stored code stays in
# the row and in the export; an unknown code is shown as it is).
SCREEN_LABELS: dict[str, Any] = {
    "cases:intake": gettext_lazy("Intake"),
    "cases:client_search": gettext_lazy("Client search"),
    "cases:client_detail": gettext_lazy("Client page"),
    "cases:case_detail": gettext_lazy("Case page"),
    "cases:case_note_add": gettext_lazy("Case note"),
    "cases:case_close": gettext_lazy("Case closed"),
    "cases:consent_add": gettext_lazy("Consent recorded"),
    "cases:consent_withdraw": gettext_lazy("Consent withdrawn"),
    "cases:import_detail": gettext_lazy("Partner list"),
    "import:apply": gettext_lazy("Partner list applied"),
    "referral:create": gettext_lazy("Referral sent"),
    "referral:create_many": gettext_lazy("Referral sent"),
    "referral:detail": gettext_lazy("Referral page"),
    "referral:slip": gettext_lazy("Referral slip printed"),
    "referral:appointments_day": gettext_lazy("Appointments of the day"),
    "referral:import_report": gettext_lazy("Partner list report"),
    "privacy:access_report": gettext_lazy("Access report printed"),
    "privacy:request_create": gettext_lazy("Person's request recorded"),
    "privacy:provisions_export": gettext_lazy("Provision ledger downloaded"),
    "privacy:access_log_export": gettext_lazy("Access records downloaded"),
    "client-list": gettext_lazy("API: clients"),
    "client-detail": gettext_lazy("API: client"),
    "client-consents": gettext_lazy("API: consent recorded"),
    "consent-withdraw": gettext_lazy("API: consent withdrawn"),
    "case-list": gettext_lazy("API: cases"),
    "case-notes": gettext_lazy("API: case note"),
    "case-close": gettext_lazy("API: case closed"),
    "referral-list": gettext_lazy("API: referral sent"),
    "api:client_list": gettext_lazy("API: clients"),
    "api:client_detail": gettext_lazy("API: client"),
    "api:case_detail": gettext_lazy("API: case"),
    "api:referral-detail": gettext_lazy("API: referral"),
    "api:referral-slip": gettext_lazy("API: referral slip"),
    "service": gettext_lazy("System"),
}


def screen_label(code: str) -> str:
    label = SCREEN_LABELS.get(code)
    return str(label) if label is not None else code
