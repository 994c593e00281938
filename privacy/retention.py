"""The retention policy: how long each record type is kept, counted from when, and how it is destroyed.

A client's records are due when the later of (the last closed case, the end of the collection consent —
its expiry or withdrawal) lies the record type's years in the past and no case is open; everything is due
at once when the latest collection consent is withdrawn (Act §37③). The access log is kept by its own
period (PII_ACCESS_LOG_RETENTION_DAYS, at least 730 days) and purged nightly by cases.tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from privacy.retention_models import DestructionMethod, RecordType

# What destroying each record type does (shown with the policy and written to the ledger).
METHODS: dict[str, str] = {
    RecordType.IDENTITY: DestructionMethod.OVERWRITTEN,
    RecordType.RRN: DestructionMethod.OVERWRITTEN,
    RecordType.CASE_NOTES: DestructionMethod.DELETED,
    RecordType.NEEDS: DestructionMethod.OVERWRITTEN,
    RecordType.CONSENTS: DestructionMethod.DELETED,
    RecordType.ACCESS_LOG: DestructionMethod.DELETED,
}
WHAT: dict[str, Promise] = {
    RecordType.IDENTITY: _(
        "Name overwritten with '파기됨', phone cleared, birth date coarsened to the month the statistics' age "
        "band needs; the partner list rows that named the person emptied"
    ),
    RecordType.RRN: _("RRN ciphertext, blind index and shown prefix removed"),
    RecordType.CASE_NOTES: _("Case notes deleted; the notes on cases, referrals, their events and postings cleared"),
    RecordType.NEEDS: _("The free-text note on each need cleared; the coded need stays as an anonymised fact"),
    RecordType.CONSENTS: _("Consent records deleted"),
    RecordType.ACCESS_LOG: _("Rows older than the period deleted by the nightly purge"),
}
# The order a batch destroys them in (the RRN before the identity it would point to).
BATCH_TYPES = [RecordType.RRN, RecordType.CASE_NOTES, RecordType.NEEDS, RecordType.CONSENTS, RecordType.IDENTITY]


@dataclass(frozen=True)
class PolicyRow:
    record_type: str
    label: str
    period: str
    counted_from: str
    method: str
    what: str


def years_for(record_type: str) -> int:
    return int(settings.RETENTION_YEARS[record_type])


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def retention_policy() -> list[PolicyRow]:
    labels = dict(RecordType.choices)
    methods = dict(DestructionMethod.choices)
    rows = [
        PolicyRow(
            record_type=t,
            label=str(labels[t]),
            period=str(_("%(n)s years") % {"n": years_for(t)}),
            counted_from=str(_("the last closed case or the collection consent's end (expiry or withdrawal)")),
            method=str(methods[METHODS[t]]),
            what=str(WHAT[t]),
        )
        for t in (RecordType.IDENTITY, RecordType.RRN, RecordType.CASE_NOTES, RecordType.NEEDS, RecordType.CONSENTS)
    ]
    rows.append(
        PolicyRow(
            record_type=RecordType.ACCESS_LOG,
            label=str(labels[RecordType.ACCESS_LOG]),
            period=str(_("%(n)s days") % {"n": settings.PII_ACCESS_LOG_RETENTION_DAYS}),
            counted_from=str(_("the access itself")),
            method=str(methods[METHODS[RecordType.ACCESS_LOG]]),
            what=str(WHAT[RecordType.ACCESS_LOG]),
        )
    )
    return rows


def coarse_birth_date(born: dt.date) -> dt.date:
    """A date standing in for a destroyed birth date that gives the same age band in every month.

    The statistics compare a birth date only with first days of months (stats.rollup: born after
    date(y - n, m, 1)), so every date in (first of month k, first of month k+1] answers alike: keep a
    date of that interval that is not the real one — the 2nd of month k, or the 3rd when the person was
    born on the 2nd.
    """
    if born.day == 1:
        first = (born - dt.timedelta(days=1)).replace(day=1)
    else:
        first = born.replace(day=1)
    stand_in = first.replace(day=2)
    return stand_in if stand_in != born else first.replace(day=3)
