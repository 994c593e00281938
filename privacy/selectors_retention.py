"""Reads for the retention and access review pages (the privacy officer's; no case content)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from centers.models import Center, PermissionField, Role
from privacy.retention_models import (
    AccessFlag,
    AccessReview,
    DestructionBatch,
    DestructionItem,
    DestructionRecord,
    FlagKind,
    ItemStatus,
    RecordType,
    RetentionHold,
)


def batches() -> QuerySet[DestructionBatch]:
    return DestructionBatch.objects.select_related("approved_by", "proposed_by")


def batch_get(pk: int) -> DestructionBatch | None:
    return batches().filter(pk=pk).first()


@dataclass
class TypeSummary:
    label: str
    clients: int = 0
    rows: int = 0
    skipped: int = 0


def batch_summary(items: list[DestructionItem]) -> list[TypeSummary]:
    labels = dict(RecordType.choices)
    out: dict[str, TypeSummary] = {}
    for t in RecordType.values:
        out[t] = TypeSummary(label=str(labels[t]))
    for i in items:
        s = out[i.record_type]
        if i.status == ItemStatus.SKIPPED:
            s.skipped += 1
        else:
            s.clients += 1
            s.rows += i.rows
    return [s for s in out.values() if s.clients or s.skipped]


def ledger() -> QuerySet[DestructionRecord]:
    return DestructionRecord.objects.select_related("approved_by")


def holds() -> QuerySet[RetentionHold]:
    return RetentionHold.objects.select_related("set_by").order_by("-set_at")


def reviews() -> QuerySet[AccessReview]:
    return AccessReview.objects.select_related("signed_off_by")


def review_for_page(month: dt.date) -> dict[str, Any]:
    review = AccessReview.objects.select_related("signed_off_by").filter(month=month).first()
    flags: list[AccessFlag] = []
    if review is not None:
        flags = list(review.flags.select_related("user", "noted_by").order_by("kind", "user__username", "first_at"))
    groups: dict[str, list[AccessFlag]] = defaultdict(list)
    for f in flags:
        groups[f.kind].append(f)
    labels = dict(FlagKind.choices)
    return {
        "review": review,
        "flag_groups": [(str(labels[k]), k, groups[k]) for k in FlagKind.values if groups.get(k)],
        "flag_count": len(flags),
        "noted_count": sum(1 for f in flags if f.note),
    }


def _value_label(field: str, value: str, centers: dict[str, str]) -> str:
    if value == "":
        return _("(none)")
    if field == PermissionField.ROLE:
        return str(dict(Role.choices).get(value, value))
    if field == PermissionField.CENTER:
        return centers.get(value, value)
    if field in (PermissionField.ACTIVE, PermissionField.SECOND_FACTOR):
        return _("Yes") if value == "yes" else _("No")
    return value


def permission_rows(rows: Any) -> list[dict[str, Any]]:
    rows = list(rows)
    codes = {r.before for r in rows if r.field == PermissionField.CENTER} | {
        r.after for r in rows if r.field == PermissionField.CENTER
    }
    centers = dict(Center.objects.filter(code__in=codes).values_list("code", "name"))
    fields = dict(PermissionField.choices)
    via = {"admin": _("Administration site"), "web": _("Web page"), "api": _("API"), "command": _("Command or system")}
    return [
        {
            "at": r.at,
            "actor": r.actor_username or _("System"),
            "subject": r.subject_username,
            "field": fields.get(r.field, r.field),
            "before": _value_label(r.field, r.before, centers),
            "after": _value_label(r.field, r.after, centers),
            "via": via.get(r.via, r.via),
        }
        for r in rows
    ]
