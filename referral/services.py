"""Every change to a referral goes through `_transition`, which locks the row, checks the lifecycle
table of DESIGN.md and writes exactly one ReferralEvent.

Locking rule: the referral row is selected FOR UPDATE before its status is read, so two people acting
at once are serialized; the second sees the new status and gets InvalidTransition (409).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseStatus, Consent, ConsentPurpose
from cases.services import client_processing_check
from cases.validation import text_validate
from centers.models import CENTER_ROLES, Desk, Service, ServiceOutcome
from centers.selectors import Actor, actor_for
from core.errors import (
    Conflict,
    ConsentRequired,
    DuplicateReferral,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from core.orm import prefetched
from core.queueing import enqueue_on_commit
from jobs.models import RiskLevel
from jobs.selectors import employer_risk_for_postings
from referral import lifecycle, routing, sla
from referral.lifecycle import Action, ActionInput, Side, action_label, may_assign_others, side_of, status_label
from referral.models import (
    OPEN_STATUSES,
    CancelReason,
    EventKind,
    Priority,
    Referral,
    ReferralEvent,
    ReferralPosting,
    RejectReason,
    Status,
)
from referral.notifications import NotificationKind, desk_staff_ids, manager_ids, notify
from referral.signals import referral_changed

NOTE_MAX = 2000
# The service whose referrals carry job postings (the safe job market tie-in).
JOB_PLACEMENT = "job_placement"
OFFER_MAX = 20
# Posting risks that need a reason to be offered (or placed at) anyway; a suspect employer needs one too.
RISKY_LEVELS = frozenset({RiskLevel.HIGH, RiskLevel.MEDIUM})


@dataclass
class Change:
    """What an action does to the locked row: fields to save, the event to write, and the new status when
    the lifecycle table leaves it to the change (resume, a routing that finds no desk)."""

    kind: str
    to_status: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    desk_id: int | None = None


def _check_side(referral: Referral, actor: Actor, action: Action) -> None:
    if action.side == Side.SYSTEM:
        raise PermissionDenied(_("Only the system can do this."))
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts cannot act on referrals."))
    sides = side_of(actor, from_center_id=referral.from_center_id, to_center_id=referral.to_center_id)
    if not sides:
        raise NotFound(_("No such referral."))
    if action.side not in sides:
        raise PermissionDenied(
            _("Only the receiving desk can do this.")
            if action.side == Side.RECEIVING
            else _("Only the sender can do this.")
        )


def _transition(
    *,
    referral_id: int,
    action: str,
    by: User | None,
    change: Callable[[Referral, dt.datetime], Change | None],
    check_side: bool = True,
) -> Referral | None:
    """Lock, check the lifecycle table, apply, write one event. `change` may return None to do nothing."""
    rule = lifecycle.ACTIONS[action]
    with transaction.atomic():
        referral = Referral.objects.select_for_update(of=("self",)).filter(pk=referral_id).first()
        if referral is None:
            raise NotFound(_("No such referral."))
        if by is not None and check_side:
            _check_side(referral, actor_for(by), rule)
        if not rule.allows(referral.status, routed=referral.to_desk_id is not None):
            if rule.side == Side.SYSTEM or not check_side:
                return None  # another run got there first
            raise InvalidTransition(
                _("This referral is %(status)s; “%(action)s” is not possible now.")
                % {
                    "status": status_label(referral.status, referral.to_desk_id is not None),
                    "action": action_label(action),
                }
            )
        now = timezone.now()
        result = change(referral, now)
        if result is None:
            return None
        from_status = referral.status
        to_status = result.to_status or rule.to_status or from_status
        for name, value in result.fields.items():
            setattr(referral, name, value)
        referral.status = to_status
        referral.save(update_fields=sorted({*result.fields, "status", "updated_at"}))
        ReferralEvent.objects.create(
            referral=referral,
            at=now,
            by=by,
            kind=result.kind,
            from_status=from_status,
            to_status=to_status,
            desk_id=result.desk_id if result.desk_id is not None else referral.to_desk_id,
            reason=result.reason,
            note=result.note,
            data=result.data,
        )
        referral_changed.send(sender=Referral, at=referral.created_at)
        return referral


def allowed_actions(referral: Referral, actor: Actor) -> list[str]:
    """Codes of the actions the actor may take on this referral right now (the API's `allowed_actions`)."""
    return [a.code for a in lifecycle_actions_for(referral, actor)]


def lifecycle_actions_for(referral: Referral, actor: Actor) -> list[Action]:
    return lifecycle.allowed_actions(
        actor,
        status=referral.status,
        routed=referral.to_desk_id is not None,
        from_center_id=referral.from_center_id,
        to_center_id=referral.to_center_id,
    )


# --- Create ---


def _note(note: str | None) -> str:
    """Free text of a referral or an action: at most 2000 characters, no control characters."""
    return text_validate(note, field="note", max_length=NOTE_MAX)


def _reason_ok(action: str, reason: str) -> bool:
    return reason in {value for value, _label in lifecycle.ACTIONS[action].reason_choices}


def _valid_consents(client_id: int, now: dt.datetime) -> list[Consent]:
    return list(
        Consent.objects.filter(client_id=client_id, purpose=ConsentPurpose.REFERRAL)
        .valid_at(now)
        .order_by("-given_at", "-pk")
    )


def referral_create(
    *,
    by: User,
    case_id: int | str,
    service_code: str,
    priority: str = Priority.NORMAL,
    note: str = "",
) -> Referral:
    actor = actor_for(by)
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts cannot send referrals."))
    if not actor.is_center_staff:
        raise PermissionDenied(_("Only center staff can send referrals."))
    try:
        case_pk = int(case_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a case."), field="case") from None
    case = Case.objects.select_related("client", "center").filter(pk=case_pk, center_id=actor.center_id or 0).first()
    if case is None:
        raise InvalidInput(_("No such case at your center."), field="case")
    if case.status != CaseStatus.OPEN:
        raise InvalidInput(_("The case is closed; reopen it or open a new case to refer."), field="case")
    client_processing_check(case.client)
    service = Service.objects.filter(code=service_code or "").first()
    if service is None:
        raise InvalidInput(_("Unknown service."), field="service")
    if priority not in Priority.values:
        raise InvalidInput(_("Priority must be normal or urgent."), field="priority")
    note = _note(note)

    now = timezone.now()
    kinds = set(
        Desk.objects.filter(active=True, center__active=True, services=service).values_list("operator_kind", flat=True)
    )
    consent = next((c for c in _valid_consents(case.client_id, now) if kinds & set(c.organization_kinds or [])), None)
    if consent is None:
        raise ConsentRequired(
            _(
                "The client has no valid consent to provide their data to an organization that delivers this service. "
                "Record the client's consent first."
            )
        )
    with transaction.atomic():
        # Lock the case so two sends of the same service (a double click, two tabs) cannot both pass the check.
        Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).get()
        existing = (
            Referral.objects.filter(case_id=case.pk, service_id=service.pk, status__in=OPEN_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        if existing is not None:
            raise DuplicateReferral(
                _("An open referral of this case for this service already exists (R%(id)s).") % {"id": existing},
                existing_id=existing,
            )
        referral = Referral.objects.create(
            case=case,
            client=case.client,
            service=service,
            consent=consent,
            priority=priority,
            status=Status.REQUESTED,
            from_center=case.center,
            created_by=by,
            note=note,
            created_at=now,
        )
        event = ReferralEvent.objects.create(
            referral=referral, at=now, by=by, kind=EventKind.CREATE, to_status=Status.REQUESTED, note=note
        )
        referral_changed.send(sender=Referral, at=now)
        _enqueue_route(referral.pk)
    # The referral as created, relations in hand (the API answers with it instead of reading it back).
    prefetched(referral, "events", [event])
    prefetched(referral, "postings", [])
    return referral


@dataclass(frozen=True)
class ReferralRequest:
    """One row of a case page's "send all suggested" form, parsed at the edge."""

    service_code: str
    priority: str = Priority.NORMAL
    note: str = ""


MANY_MAX = 20


def referral_create_many(*, by: User, case_id: int | str, rows: Iterable[ReferralRequest]) -> list[Referral]:
    """Every row's referral or none: one transaction, so the first domain error (a duplicate, a missing
    consent) rolls back the ones already created and their routing is never enqueued."""
    rows = list(rows)
    if not rows:
        raise InvalidInput(_("Choose at least one service to refer."), field="service")
    if len(rows) > MANY_MAX:
        raise InvalidInput(_("Too many referrals at once."), field="service")
    if len({r.service_code for r in rows}) != len(rows):
        raise InvalidInput(_("Each service can be referred once."), field="service")
    with transaction.atomic():
        return [
            referral_create(by=by, case_id=case_id, service_code=r.service_code, priority=r.priority, note=r.note)
            for r in rows
        ]


def _enqueue_route(referral_id: int) -> None:
    from referral.tasks import route_referral

    enqueue_on_commit(route_referral, referral_id)


# --- Routing (the system) ---


def referral_route(*, referral_id: int) -> Referral | None:
    """Pick a desk for an unrouted referral. Idempotent: a routed or closed referral is left alone."""

    def change(r: Referral, now: dt.datetime) -> Change | None:
        excluded = routing.excluded_desk_ids(r.pk)
        kinds = r.consent.organization_kinds if r.consent_id and r.consent else []
        if r.consent and not r.consent.is_valid_at(now):
            kinds = []
        candidates = routing.candidates_for(r, organization_kinds=kinds, excluded=excluded)
        from_center = r.from_center
        ranked = routing.rank(
            candidates,
            from_center_id=from_center.pk,
            from_lat=float(from_center.latitude),
            from_lon=float(from_center.longitude),
            priority=r.priority,
            now=now,
        )
        data = routing.explanation(ranked, excluded=excluded)
        if not ranked:
            return Change(
                kind=EventKind.ROUTE_FAILED,
                to_status=Status.REJECTED,
                fields={"reason": RejectReason.NO_CANDIDATE, "closed_at": now, "route_attempts": r.route_attempts + 1},
                reason=RejectReason.NO_CANDIDATE,
                data=data,
            )
        chosen = ranked[0]
        days = sla.days_for(service_id=r.service_id, priority=r.priority)
        desk_center = Desk.objects.values_list("center_id", flat=True).get(pk=chosen.desk_id)
        # Claimed by a conditional update as well as the row lock: a second run finds to_desk set.
        claimed = Referral.objects.filter(pk=r.pk, status=Status.REQUESTED, to_desk__isnull=True).update(
            to_desk_id=chosen.desk_id, to_center_id=desk_center
        )
        if claimed != 1:
            return None
        return Change(
            kind=EventKind.ROUTE,
            fields={
                "to_desk_id": chosen.desk_id,
                "to_center_id": desk_center,
                "routed_at": now,
                "accept_due_at": sla.add_business_days(now, days.accept),
                "colocated": chosen.colocated,
                "route_attempts": r.route_attempts + 1,
                "escalated_step": "",
            },
            reason=data["reason"],
            data=data,
            desk_id=chosen.desk_id,
        )

    referral = _transition(referral_id=referral_id, action="route", by=None, change=change)
    if referral is None:
        return None
    if referral.status == Status.REJECTED:
        notify(users=[referral.created_by_id], referral=referral, kind=NotificationKind.REJECTED)
    elif referral.to_desk_id and referral.to_center_id:
        notify(
            users=desk_staff_ids(desk_id=referral.to_desk_id, center_id=referral.to_center_id),
            referral=referral,
            kind=NotificationKind.ARRIVED,
        )
    return referral


def _leave_desk(reason: str, note: str, kind: str) -> Callable[[Referral, dt.datetime], Change]:
    def change(r: Referral, now: dt.datetime) -> Change:
        return Change(
            kind=kind,
            fields={
                "to_desk": None,
                "to_center": None,
                "assigned_to": None,
                "routed_at": None,
                "accept_due_at": None,
                "escalated_step": "",
            },
            reason=reason,
            note=note,
            desk_id=r.to_desk_id,
        )

    return change


# --- Receiving side ---


def _assignee(referral: Referral, assigned_to: int | str | None, *, by: User) -> User | None:
    """The staff member named as assignee, checked against the assignment rule (lifecycle.may_assign_others)."""
    if assigned_to in (None, ""):
        return None
    try:
        pk = int(assigned_to)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a staff member of the receiving center."), field="assigned_to") from None
    user = User.objects.filter(
        pk=pk, is_active=True, staff__center_id=referral.to_center_id or 0, staff__role__in=list(CENTER_ROLES)
    ).first()
    if user is None:
        raise InvalidInput(_("Choose a staff member of the receiving center."), field="assigned_to")
    if user.pk != by.pk and not may_assign_others(actor_for(by)):
        raise PermissionDenied(_("Only a center manager can assign a referral to someone else."))
    return user


def referral_accept(*, referral_id: int, by: User, assigned_to: int | str | None = None) -> Referral:
    def change(r: Referral, now: dt.datetime) -> Change:
        assignee = _assignee(r, assigned_to, by=by) or r.assigned_to or by
        days = sla.days_for(service_id=r.service_id, priority=r.priority)
        return Change(
            kind=EventKind.ACCEPT,
            fields={
                "accepted_at": now,
                "assigned_to": assignee,
                "contact_due_at": sla.add_business_days(now, days.contact),
                "close_due_at": sla.add_business_days(now, days.close),
                "escalated_step": "",
            },
            data={"assigned_to": assignee.pk},
        )

    referral = _transition(referral_id=referral_id, action="accept", by=by, change=change)
    assert referral is not None  # noqa: S101 - receiving-side transitions raise instead of returning None
    notify(users=[referral.created_by_id], referral=referral, kind=NotificationKind.ACCEPTED)
    return referral


def referral_decline(*, referral_id: int, by: User, reason: str, note: str = "") -> Referral:
    """Decline at this desk: the referral goes back to routing, which never returns it to this desk."""
    note = _note(note)
    if not _reason_ok("decline", reason):
        raise InvalidInput(_("Choose a reason for declining."), field="reason")
    referral = _transition(
        referral_id=referral_id, action="decline", by=by, change=_leave_desk(reason, note, EventKind.DECLINE)
    )
    assert referral is not None  # noqa: S101
    notify(users=[referral.created_by_id], referral=referral, kind=NotificationKind.DECLINED)
    _enqueue_route(referral.pk)
    return referral


def referral_timeout(*, referral_id: int) -> Referral | None:
    """The accept deadline passed at this desk: re-route as on decline and alert the desk's managers."""
    desk = Referral.objects.filter(pk=referral_id).values("to_desk_id", "to_center_id", "accept_due_at").first()
    if desk is None:
        return None

    def change(r: Referral, now: dt.datetime) -> Change | None:
        if r.accept_due_at is None or r.accept_due_at > now:
            return None
        return _leave_desk("accept_overdue", "", EventKind.TIMEOUT)(r, now)

    referral = _transition(referral_id=referral_id, action="timeout", by=None, change=change)
    if referral is None:
        return None
    if desk["to_center_id"]:
        notify(
            users=manager_ids(center_id=desk["to_center_id"]),
            referral=referral,
            kind=NotificationKind.ESCALATED,
            extra=str(_("not accepted in time, sent to the next desk")),
        )
    _enqueue_route(referral.pk)
    return referral


def referral_escalate(*, referral_id: int, step: str) -> Referral | None:
    """Alert the receiving center's managers once about an overdue step (contact or close)."""

    def change(r: Referral, now: dt.datetime) -> Change | None:
        due = {"contact": r.contact_due_at, "close": r.close_due_at}.get(step)
        if due is None or due > now or r.escalated_step == step:
            return None
        if step == "contact" and r.status != Status.ACCEPTED:
            return None
        if r.escalated_step == "close":
            return None
        return Change(kind=EventKind.ESCALATE, fields={"escalated_step": step}, reason=step)

    referral = _transition(referral_id=referral_id, action="escalate", by=None, change=change)
    if referral is None or referral.to_center_id is None:
        return referral
    step_text = {"contact": _("first contact overdue"), "close": _("closing overdue")}[step]
    notify(
        users=manager_ids(center_id=referral.to_center_id),
        referral=referral,
        kind=NotificationKind.ESCALATED,
        extra=str(step_text),
    )
    return referral


def referral_assign(*, referral_id: int, by: User, assigned_to: int | str | None) -> Referral:
    def change(r: Referral, now: dt.datetime) -> Change:
        assignee = _assignee(r, assigned_to, by=by)
        if assignee is None:
            raise InvalidInput(_("Choose a staff member of the receiving center."), field="assigned_to")
        if r.assigned_to_id == assignee.pk:
            raise InvalidTransition(_("The referral is already assigned to this person."))
        return Change(
            kind=EventKind.ASSIGN,
            fields={"assigned_to": assignee},
            data={"assigned_to": assignee.pk, "previous": r.assigned_to_id},
        )

    referral = _transition(referral_id=referral_id, action="assign", by=by, change=change)
    assert referral is not None  # noqa: S101
    return referral


def referral_assign_bulk(*, referral_ids: Iterable[int], by: User, assigned_to: int | str | None) -> int:
    """Assign several referrals at once; each is its own transition. Returns how many changed."""
    done = 0
    for pk in sorted(set(referral_ids)):
        try:
            referral_assign(referral_id=pk, by=by, assigned_to=assigned_to)
        except (InvalidTransition, NotFound):
            continue
        done += 1
    return done


def referral_start(*, referral_id: int, by: User, note: str = "") -> Referral:
    note = _note(note)

    def change(r: Referral, now: dt.datetime) -> Change:
        return Change(kind=EventKind.START, fields={"started_at": now}, note=note)

    referral = _transition(referral_id=referral_id, action="start", by=by, change=change)
    assert referral is not None  # noqa: S101
    return referral


def referral_hold(*, referral_id: int, by: User, note: str = "") -> Referral:
    note = _note(note)

    def change(r: Referral, now: dt.datetime) -> Change:
        return Change(kind=EventKind.HOLD, fields={"status_before_hold": r.status}, note=note)

    referral = _transition(referral_id=referral_id, action="hold", by=by, change=change)
    assert referral is not None  # noqa: S101
    return referral


def referral_resume(*, referral_id: int, by: User, note: str = "") -> Referral:
    note = _note(note)

    def change(r: Referral, now: dt.datetime) -> Change:
        back = (
            r.status_before_hold
            if r.status_before_hold in (Status.ACCEPTED, Status.IN_PROGRESS)
            else Status.IN_PROGRESS
        )
        return Change(kind=EventKind.RESUME, to_status=back, fields={"status_before_hold": ""}, note=note)

    referral = _transition(referral_id=referral_id, action="resume", by=by, change=change)
    assert referral is not None  # noqa: S101
    return referral


def _clean_detail(detail: Any) -> dict[str, Any]:
    if detail in (None, ""):
        return {}
    if not isinstance(detail, dict):
        raise InvalidInput(_("Details must be a set of named values."), field="detail")
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if not isinstance(key, str) or len(key) > 40:
            raise InvalidInput(_("Detail names must be short text."), field="detail")
        if value in (None, ""):
            continue
        if not isinstance(value, str | int | float | bool) or len(str(value)) > 200:
            raise InvalidInput(_("Detail values must be short text or numbers."), field="detail")
        out[key] = value
    if len(out) > 20:
        raise InvalidInput(_("Too many details."), field="detail")
    return out


def referral_complete(
    *,
    referral_id: int,
    by: User,
    outcome: str,
    achieved: bool | None = None,
    detail: dict[str, Any] | None = None,
    note: str = "",
    employer_posting: int | str | None = None,
    warning_reason: str = "",
) -> Referral:
    """Close with an outcome of the service. A job placement may name the posting the client was placed
    through; a placement (an achieved outcome) at a suspect employer needs a reason (409
    `suspect_employer` without one), kept on the completion event with the employer's status then."""
    clean = _clean_detail(detail)
    note = _note(note)
    warning_reason = text_validate(warning_reason, field="warning_reason", max_length=NOTE_MAX)
    posting_id: int | None = None
    if employer_posting not in (None, ""):
        try:
            posting_id = int(employer_posting)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput(_("No such job posting."), field="employer_posting") from None

    def change(r: Referral, now: dt.datetime) -> Change:
        code = ServiceOutcome.objects.filter(service_id=r.service_id, code=outcome or "").first()
        if code is None:
            raise InvalidInput(_("Choose an outcome of this service."), field="outcome")
        done = code.achieved if achieved is None else bool(achieved)
        data: dict[str, Any] = {"outcome": code.code, "achieved": done, "detail": clean}
        if posting_id is not None:
            data["placement"] = _placement(r, posting_id, placed=done, reason=warning_reason)
        return Change(
            kind=EventKind.COMPLETE,
            fields={"outcome": code.code, "achieved": done, "outcome_detail": clean, "closed_at": now},
            reason=code.code,
            note=note,
            data=data,
        )

    referral = _transition(referral_id=referral_id, action="complete", by=by, change=change)
    assert referral is not None  # noqa: S101
    notify(users=[referral.created_by_id], referral=referral, kind=NotificationKind.COMPLETED)
    return referral


def _placement(r: Referral, posting_id: int, *, placed: bool, reason: str) -> dict[str, Any]:
    """The completion event's record of where the client was placed, as the employer stood at that moment."""
    if r.service.code != JOB_PLACEMENT:
        raise InvalidInput(_("A placement posting applies only to job placement referrals."), field="employer_posting")
    risk = employer_risk_for_postings([posting_id]).get(posting_id)
    if risk is None:
        raise InvalidInput(_("No such job posting."), field="employer_posting")
    if placed and risk["suspect"] and not reason:
        raise Conflict(
            _(
                "The employer of this posting is on the suspect workplace list; "
                "give the reason for recording the placement."
            ),
            code="suspect_employer",
            postings=[{"id": posting_id, "risk_level": risk["risk_level"], "why": posting_risks(risk)}],
        )
    return {
        "posting": posting_id,
        "employer": risk["employer_id"],
        "employer_suspect": risk["suspect"],
        "risk_level": risk["risk_level"],
        "warning_reason": reason if risk["suspect"] else "",
    }


def referral_fail(*, referral_id: int, by: User, reason: str, note: str = "") -> Referral:
    note = _note(note)
    if not _reason_ok("fail", reason):
        raise InvalidInput(_("Choose why the referral failed."), field="reason")

    def change(r: Referral, now: dt.datetime) -> Change:
        return Change(
            kind=EventKind.FAIL,
            fields={"reason": reason, "closed_at": now},
            reason=reason,
            note=note,
        )

    referral = _transition(referral_id=referral_id, action="fail", by=by, change=change)
    assert referral is not None  # noqa: S101
    notify(users=[referral.created_by_id], referral=referral, kind=NotificationKind.FAILED)
    return referral


def _cancel_change(reason: str, note: str) -> Callable[[Referral, dt.datetime], Change]:
    def change(r: Referral, now: dt.datetime) -> Change:
        return Change(
            kind=EventKind.CANCEL,
            fields={"reason": reason, "closed_at": now},
            reason=reason,
            note=note,
        )

    return change


def referral_cancel(*, referral_id: int, by: User, reason: str, note: str = "") -> Referral:
    note = _note(note)
    if not _reason_ok("cancel", reason):
        raise InvalidInput(_("Choose a reason for cancelling."), field="reason")
    referral = _transition(referral_id=referral_id, action="cancel", by=by, change=_cancel_change(reason, note))
    assert referral is not None  # noqa: S101
    if referral.to_desk_id and referral.to_center_id:
        users = (
            [referral.assigned_to_id]
            if referral.assigned_to_id
            else desk_staff_ids(desk_id=referral.to_desk_id, center_id=referral.to_center_id)
        )
        notify(users=[u for u in users if u], referral=referral, kind=NotificationKind.CANCELLED)
    return referral


def referrals_cancel_for_withdrawn_consent(*, consent_id: int, by: User | None = None) -> int:
    """Cancel every open referral that relied on a withdrawn consent; returns how many were cancelled."""
    ids = list(
        Referral.objects.filter(consent_id=consent_id, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    for pk in ids:
        # A withdrawal cancels on the sender's behalf whoever records it: no side check.
        referral = _transition(
            referral_id=pk,
            action="cancel",
            by=by,
            change=_cancel_change(CancelReason.CONSENT_WITHDRAWN, ""),
            check_side=False,
        )
        if referral is not None:
            done += 1
    return done


# --- Job postings offered to the client of a job placement referral ---


def posting_risks(risk: dict[str, Any]) -> list[str]:
    """Why a posting needs a reason to be offered: its screening risk, its employer on the suspect list."""
    why = []
    if risk["risk_level"] in RISKY_LEVELS:
        why.append(f"risk_{risk['risk_level']}")
    if risk["suspect"]:
        why.append("suspect_employer")
    return why


def referral_offer_postings(
    *, by: User, referral_id: int, posting_ids: Iterable[int | str], reason: str = ""
) -> Referral:
    """Offer job postings to the client of an open job placement referral (either side may).

    Not a lifecycle transition (the status stays), so not through `_transition`; the same locking rule
    holds: the referral row is locked before its status is read. Postings already offered are left
    as they were; a posting rated high or medium, or whose employer is suspect, needs a reason (409
    `risky_posting` without one), kept on the posting's offer and on the event with the risks of the moment.
    """
    reason = text_validate(reason, field="reason", max_length=NOTE_MAX).strip()
    try:
        ids = sorted({int(i) for i in posting_ids})
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose job postings by their number."), field="postings") from None
    if not ids:
        raise InvalidInput(_("Choose at least one job posting."), field="postings")
    if len(ids) > OFFER_MAX:
        raise InvalidInput(_("Offer at most %(n)s job postings at once.") % {"n": OFFER_MAX}, field="postings")
    actor = actor_for(by)
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts cannot act on referrals."))
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",)).select_related("service").filter(pk=referral_id).first()
        )
        if referral is None or not side_of(
            actor, from_center_id=referral.from_center_id, to_center_id=referral.to_center_id
        ):
            raise NotFound(_("No such referral."))
        if referral.service.code != JOB_PLACEMENT:
            raise Conflict(_("Only job placement referrals carry job postings."), code="not_job_placement")
        if referral.status not in OPEN_STATUSES:
            raise InvalidTransition(
                _("This referral is %(status)s; job postings can be offered only while it is open.")
                % {"status": status_label(referral.status, referral.to_desk_id is not None)}
            )
        risks = employer_risk_for_postings(ids)
        missing = [i for i in ids if i not in risks]
        if missing:
            raise InvalidInput(
                _("No such job posting: %(ids)s.") % {"ids": ", ".join(map(str, missing))}, field="postings"
            )
        already = set(referral.postings.filter(posting_id__in=ids).values_list("posting_id", flat=True))
        new = [i for i in ids if i not in already]
        risky = [{"id": i, "risk_level": risks[i]["risk_level"], "why": posting_risks(risks[i])} for i in new]
        risky = [r for r in risky if r["why"]]
        if risky and not reason:
            raise Conflict(
                _("Some of these job postings are risky; give the reason for offering them anyway."),
                code="risky_posting",
                postings=risky,
            )
        if new:
            now = timezone.now()
            risky_ids = {r["id"] for r in risky}
            ReferralPosting.objects.bulk_create(
                ReferralPosting(
                    referral=referral,
                    posting_id=i,
                    offered_by=by,
                    offered_at=now,
                    warning_reason=reason if i in risky_ids else "",
                )
                for i in new
            )
            ReferralEvent.objects.create(
                referral=referral,
                at=now,
                by=by,
                kind=EventKind.OFFER,
                from_status=referral.status,
                to_status=referral.status,
                desk_id=referral.to_desk_id,
                note=reason,
                data={
                    "postings": [
                        {"id": i, "risk_level": risks[i]["risk_level"], "suspect": risks[i]["suspect"]} for i in new
                    ],
                    "risky": risky,
                },
            )
    return referral


# --- Any action of the lifecycle table, by its code (the pages' forms and the API's actions) ---

_SERVICES: dict[str, Callable[..., Referral]] = {
    "accept": referral_accept,
    "decline": referral_decline,
    "assign": referral_assign,
    "start": referral_start,
    "hold": referral_hold,
    "resume": referral_resume,
    "complete": referral_complete,
    "fail": referral_fail,
    "cancel": referral_cancel,
}


def referral_act(*, referral_id: int, by: User, action: str, inputs: ActionInput) -> Referral:
    """Take the named action of the lifecycle table with the inputs that action takes."""
    spec = lifecycle.user_action(action)
    if spec is None:
        raise NotFound(_("Unknown action."))
    return _SERVICES[spec.code](referral_id=referral_id, by=by, **inputs.for_action(spec))


# --- Personal data reads by the referral screens ---


def referral_pii_read(*, by: User, referral: Referral, view: str, ip: str | None = None) -> None:
    """Record that the user saw the client's name and contact (PIPA access log)."""
    from cases.services import pii_access_log_write

    pii_access_log_write(user=by, clients=[referral.client_id], view=view, ip_address=ip)


def referral_slip_print(*, by: User, referral: Referral, view: str, ip: str | None = None) -> None:
    """Record that the user printed the client's slip (PIPA access log, action "print")."""
    from cases.models import AccessAction
    from cases.services import pii_access_log_write

    pii_access_log_write(user=by, clients=[referral.client_id], view=view, ip_address=ip, action=AccessAction.PRINT)
