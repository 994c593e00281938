"""Every change to a referral goes through `_transition`, which locks the row, checks the lifecycle
table of DESIGN.md and writes exactly one ReferralEvent.

Locking rule: the referral row is selected FOR UPDATE before its status is read, so two people acting
at once are serialized; the second sees the new status and gets InvalidTransition (409). Booking an
appointment locks the referral row, then the desk's row (always in that order), and counts the places
taken under the desk's lock: of two people taking a slot's last place at once exactly one gets it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import AccessAction, Case, CaseStatus, Consent, ConsentPurpose
from cases.services import access_record_write, client_processing_check
from cases.validation import text_validate
from centers import slots
from centers.models import CENTER_ROLES, Center, Desk, Service, ServiceOutcome
from centers.selectors import Actor, actor_for
from core.errors import (
    Conflict,
    ConsentRequired,
    DomainError,
    DuplicateReferral,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RowError,
    SlotUnavailable,
)
from core.orm import prefetched
from core.queueing import enqueue_on_commit
from jobs.models import RiskLevel
from jobs.selectors import employer_risk_for_postings
from referral import lifecycle, routing, sla
from referral.lifecycle import Action, ActionInput, Side, action_label, may_assign_others, side_of, status_label
from referral.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentEnd,
    CancelReason,
    EventKind,
    Priority,
    Referral,
    ReferralEvent,
    ReferralPosting,
    RejectReason,
    Status,
)
from referral.notifications import NotificationKind, desk_staff_ids, manager_ids, notify, notify_many
from referral.signals import referral_changed, referral_routed

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
        freed = _free_appointment(referral, now=now, by=by)
        if freed is not None:
            result.data = {**result.data, "appointment_freed": _appointment_data(freed)}
            if referral.to_desk_id is None:
                referral.contact_due_at = None
                result.fields["contact_due_at"] = None
        referral.save(update_fields=sorted({*result.fields, "status", "updated_at"}))
        _event_of(referral, result, by=by, at=now, from_status=from_status).save(force_insert=True)
        referral_changed.send(sender=Referral, at=referral.created_at, clients=[referral.client_id])
        return referral


def _event_of(
    referral: Referral, change: Change, *, by: User | None, at: dt.datetime, from_status: str
) -> ReferralEvent:
    """The one event a change writes (the referral already carries its new status and fields)."""
    return ReferralEvent(
        referral=referral,
        at=at,
        by=by,
        kind=change.kind,
        from_status=from_status,
        to_status=referral.status,
        desk_id=change.desk_id if change.desk_id is not None else referral.to_desk_id,
        reason=change.reason,
        note=change.note,
        data=change.data,
    )


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


def _sender_check(actor: Actor) -> None:
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts cannot send referrals."))
    if not actor.is_center_staff:
        raise PermissionDenied(_("Only center staff can send referrals."))


def _case_check(case: Case | None) -> Case:
    if case is None:
        raise InvalidInput(_("No such case at your center."), field="case")
    if case.status != CaseStatus.OPEN:
        raise InvalidInput(_("The case is closed; reopen it or open a new case to refer."), field="case")
    return case


def _service_check(service: Service | None) -> Service:
    if service is None:
        raise InvalidInput(_("Unknown service."), field="service")
    return service


def _priority_check(priority: str) -> None:
    if priority not in Priority.values:
        raise InvalidInput(_("Priority must be normal or urgent."), field="priority")


def _delivering_kinds(service: Service) -> set[str]:
    """Organization kinds that run an active desk for the service: a consent must cover one of them."""
    return set(
        Desk.objects.filter(active=True, center__active=True, services=service).values_list("operator_kind", flat=True)
    )


def _covering_consent(consents: Iterable[Consent], kinds: set[str]) -> Consent:
    """The newest valid referral consent covering one of `kinds` (consents newest first), else ConsentRequired."""
    consent = next((c for c in consents if kinds & set(c.organization_kinds or [])), None)
    if consent is None:
        raise ConsentRequired(
            _(
                "The client has no valid consent to provide their data to an organization that delivers this service. "
                "Record the client's consent first."
            )
        )
    return consent


def _duplicate_check(existing: int | None) -> None:
    if existing is not None:
        raise DuplicateReferral(
            _("An open referral of this case for this service already exists (R%(id)s).") % {"id": existing},
            existing_id=existing,
        )


def _referral_new(
    *, case: Case, service: Service, consent: Consent, priority: str, by: User, note: str, now: dt.datetime
) -> Referral:
    return Referral(
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


def _create_event(referral: Referral, *, by: User, note: str, now: dt.datetime) -> ReferralEvent:
    return ReferralEvent(referral=referral, at=now, by=by, kind=EventKind.CREATE, to_status=Status.REQUESTED, note=note)


def referral_create(
    *,
    by: User,
    case_id: int | str,
    service_code: str,
    priority: str = Priority.NORMAL,
    note: str = "",
) -> Referral:
    actor = actor_for(by)
    _sender_check(actor)
    try:
        case_pk = int(case_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose a case."), field="case") from None
    case = _case_check(
        Case.objects.select_related("client", "center").filter(pk=case_pk, center_id=actor.center_id or 0).first()
    )
    client_processing_check(case.client)
    service = _service_check(Service.objects.filter(code=service_code or "").first())
    _priority_check(priority)
    note = _note(note)

    now = timezone.now()
    consent = _covering_consent(_valid_consents(case.client_id, now), _delivering_kinds(service))
    with transaction.atomic():
        # Lock the case so two sends of the same service (a double click, two tabs) cannot both pass the check.
        Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).get()
        _duplicate_check(
            Referral.objects.filter(case_id=case.pk, service_id=service.pk, status__in=OPEN_STATUSES)
            .values_list("pk", flat=True)
            .first()
        )
        referral = _referral_new(
            case=case, service=service, consent=consent, priority=priority, by=by, note=note, now=now
        )
        referral.save(force_insert=True)
        event = _create_event(referral, by=by, note=note, now=now)
        event.save(force_insert=True)
        referral_changed.send(sender=Referral, at=now, clients=[referral.client_id])
        _enqueue_route(referral.pk)
        access_record_write(by, [case.client_id], AccessAction.CREATE)
    # The referral as created, relations in hand (the API answers with it instead of reading it back).
    prefetched(referral, "events", [event])
    prefetched(referral, "postings", [])
    referral.active_appointments = []  # type: ignore[attr-defined]
    return referral


@dataclass(frozen=True)
class BulkReferral:
    """One referral of a bulk send: a case of the sender's center (its client and center loaded)."""

    case: Case
    service_code: str
    note: str = ""


BULK_CHUNK = 1000


def referrals_create_bulk(*, by: User, rows: Sequence[BulkReferral], priority: str = Priority.NORMAL) -> list[Referral]:
    """referral_create for many cases at once (a partner batch), with the same rules, in one transaction; routing
    is the caller's to enqueue (one `route_referrals` task for the lot). RowError names the refused row."""
    actor = actor_for(by)
    _sender_check(actor)
    _priority_check(priority)
    now = timezone.now()
    services = {s.code: s for s in Service.objects.filter(code__in={r.service_code for r in rows})}
    center = Center.objects.filter(pk=actor.center_id or 0).first()
    kinds: dict[int, set[str]] = {}
    with transaction.atomic():
        case_ids = [r.case.pk for r in rows]
        consents: dict[int, list[Consent]] = {}
        existing: dict[tuple[int, int], int] = {}
        for start in range(0, len(case_ids), BULK_CHUNK):
            chunk = case_ids[start : start + BULK_CHUNK]
            # Locked as referral_create locks its case; the cases are read back as they are now.
            list(Case.objects.select_for_update().filter(pk__in=chunk).values_list("pk", flat=True))
            clients = [r.case.client_id for r in rows[start : start + BULK_CHUNK]]
            for c in (
                Consent.objects.filter(client_id__in=clients, purpose=ConsentPurpose.REFERRAL)
                .valid_at(now)
                .order_by("-given_at", "-pk")
            ):
                consents.setdefault(c.client_id, []).append(c)
            for pk, case_pk, service_pk in Referral.objects.filter(
                case_id__in=chunk, status__in=OPEN_STATUSES
            ).values_list("pk", "case_id", "service_id"):
                existing.setdefault((case_pk, service_pk), pk)
        made: list[Referral] = []
        for i, r in enumerate(rows):
            try:
                case = _case_check(r.case if r.case.center_id == actor.center_id else None)
                service = _service_check(services.get(r.service_code or ""))
                note = _note(r.note)
                if service.pk not in kinds:
                    kinds[service.pk] = _delivering_kinds(service)
                consent = _covering_consent(consents.get(case.client_id, []), kinds[service.pk])
                _duplicate_check(existing.get((case.pk, service.pk)))
            except DomainError as exc:
                raise RowError(i, exc) from exc
            if center is not None and not Case._meta.get_field("center").is_cached(case):
                case.center = center  # the sender's center, read once for the lot
            referral = _referral_new(
                case=case, service=service, consent=consent, priority=priority, by=by, note=note, now=now
            )
            made.append(referral)
        Referral.objects.bulk_create(made, batch_size=BULK_CHUNK)
        events = [_create_event(referral, by=by, note=referral.note, now=now) for referral in made]
        ReferralEvent.objects.bulk_create(events, batch_size=BULK_CHUNK)
        if made:
            referral_changed.send(sender=Referral, at=now, clients=[r.client_id for r in made])
    return made


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


def _route_kinds(r: Referral, now: dt.datetime) -> list[str]:
    """The organization kinds the referral's consent covers now (none once it lapsed or was withdrawn)."""
    kinds = r.consent.organization_kinds if r.consent_id and r.consent else []
    if r.consent and not r.consent.is_valid_at(now):
        kinds = []
    return list(kinds)


def _rank_for(
    r: Referral, candidates: Sequence[routing.Candidate], now: dt.datetime, hours: dict[int, float] | None = None
) -> list[routing.Scored]:
    from_center = r.from_center
    return routing.rank(
        candidates,
        from_center_id=from_center.pk,
        from_lat=float(from_center.latitude),
        from_lon=float(from_center.longitude),
        priority=r.priority,
        now=now,
        hours_by_desk=hours,
    )


def _route_change(
    r: Referral,
    ranked: Sequence[routing.Scored],
    excluded: Sequence[int],
    now: dt.datetime,
    desk_center: int | None,
    days: sla.SlaDays | None = None,
) -> Change:
    """What routing does to the referral given its ranked candidates: a desk, or rejected with no candidate."""
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
    days = days or sla.days_for(service_id=r.service_id, priority=r.priority)
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


def referral_route(*, referral_id: int) -> Referral | None:
    """Pick a desk for an unrouted referral. Idempotent: a routed or closed referral is left alone."""

    def change(r: Referral, now: dt.datetime) -> Change | None:
        excluded = routing.excluded_desk_ids(r.pk)
        candidates = routing.candidates_for(r, organization_kinds=_route_kinds(r, now), excluded=excluded)
        ranked = _rank_for(r, candidates, now)
        desk_center = None
        if ranked:
            desk_center = Desk.objects.values_list("center_id", flat=True).get(pk=ranked[0].desk_id)
            # Claimed by a conditional update as well as the row lock: a second run finds to_desk set.
            claimed = Referral.objects.filter(pk=r.pk, status=Status.REQUESTED, to_desk__isnull=True).update(
                to_desk_id=ranked[0].desk_id, to_center_id=desk_center
            )
            if claimed != 1:
                return None
        return _route_change(r, ranked, excluded, now, desk_center)

    with transaction.atomic():
        referral = _transition(referral_id=referral_id, action="route", by=None, change=change)
        if referral is None:
            return None
        _routed([referral])
    _route_notify([referral])
    return referral


def _routed(referrals: Sequence[Referral]) -> None:
    """Tell the apps above of the referrals that now sit at a desk (the provision ledger), in the transaction."""
    at_desk = [r for r in referrals if r.to_desk_id and r.status != Status.REJECTED]
    if at_desk:
        referral_routed.send(sender=Referral, referrals=at_desk)


def _route_notify(referrals: Sequence[Referral]) -> None:
    """Tell the sender of each rejected referral, and the staff of each desk that got referrals; a batch's
    many referrals to one desk (or from one sender) are one notification per person, not one per referral."""
    rejected: dict[int, list[Referral]] = {}
    arrived: dict[tuple[int, int], list[Referral]] = {}
    for referral in referrals:
        if referral.status == Status.REJECTED:
            rejected.setdefault(referral.created_by_id, []).append(referral)
        elif referral.to_desk_id and referral.to_center_id:
            arrived.setdefault((referral.to_desk_id, referral.to_center_id), []).append(referral)
    for user_id, group in rejected.items():
        notify_many(users=[user_id], referrals=group, kind=NotificationKind.REJECTED)
    for (desk_id, center_id), group in arrived.items():
        notify_many(
            users=desk_staff_ids(desk_id=desk_id, center_id=center_id), referrals=group, kind=NotificationKind.ARRIVED
        )


ROUTE_CHUNK = 1000
_ROUTED_FIELDS: tuple[str, ...] = ("status", "updated_at", "to_desk_id", "to_center_id", "routed_at", "accept_due_at")
_ROUTED_FIELDS += ("colocated", "route_attempts", "escalated_step", "reason", "closed_at")


def referrals_route(*, referral_ids: Iterable[int]) -> int:
    """Route many unrouted referrals in one pass per thousand (a partner batch): candidates are read once per
    service, consent kinds and excluded desks, each desk's load counted on as the pass assigns to it; each
    referral is ranked and explained exactly as referral_route would. Idempotent; returns how many it routed."""
    ids = sorted(set(referral_ids))
    done = 0
    for start in range(0, len(ids), ROUTE_CHUNK):
        done += _route_chunk(ids[start : start + ROUTE_CHUNK])
    return done


def _route_chunk(ids: Sequence[int]) -> int:
    rule = lifecycle.ACTIONS["route"]
    with transaction.atomic():
        refs = [
            r
            for r in Referral.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("consent", "from_center")
            .filter(pk__in=ids, status=Status.REQUESTED, to_desk__isnull=True)
            .order_by("pk")
            if rule.allows(r.status, routed=r.to_desk_id is not None)
        ]
        if not refs:
            return 0
        excluded: dict[int, set[int]] = {}
        for referral_id, desk_id in ReferralEvent.objects.filter(
            referral_id__in=[r.pk for r in refs], kind__in=[EventKind.DECLINE, EventKind.TIMEOUT], desk__isnull=False
        ).values_list("referral_id", "desk_id"):
            excluded.setdefault(referral_id, set()).add(desk_id)
        now = timezone.now()
        pools: dict[tuple[Any, ...], tuple[list[routing.Candidate], dict[int, float]]] = {}
        taken: dict[int, int] = {}  # desk → referrals this pass gave it
        sla_days: dict[tuple[int, str], sla.SlaDays] = {}
        events: list[ReferralEvent] = []
        for r in refs:
            kinds = _route_kinds(r, now)
            skip = sorted(excluded.get(r.pk, ()))
            key = (r.service_id, tuple(sorted(kinds)), tuple(skip))
            if key not in pools:
                found = routing.candidates_for(r, organization_kinds=kinds, excluded=skip)
                hours = {
                    c.desk_id: routing.hours_until_open(
                        open_days=c.open_days,
                        opens_at=c.opens_at,
                        closes_at=c.closes_at,
                        now=now,
                        closed_days=c.closed_days,
                    )  # fmt: skip
                    for c in found
                }
                pools[key] = (found, hours)
            found, hours = pools[key]
            candidates = [
                dataclasses.replace(c, open_referrals=c.open_referrals + taken[c.desk_id]) if c.desk_id in taken else c
                for c in found
            ]
            ranked = _rank_for(r, candidates, now, hours)
            desk_center = None
            if ranked:
                desk_center = next(c.center_id for c in found if c.desk_id == ranked[0].desk_id)
                taken[ranked[0].desk_id] = taken.get(ranked[0].desk_id, 0) + 1
            if (r.service_id, r.priority) not in sla_days:
                sla_days[(r.service_id, r.priority)] = sla.days_for(service_id=r.service_id, priority=r.priority)
            change = _route_change(r, ranked, skip, now, desk_center, sla_days[(r.service_id, r.priority)])
            from_status = r.status
            for name, value in change.fields.items():
                setattr(r, name, value)
            r.status = change.to_status or rule.to_status or from_status
            r.updated_at = now
            events.append(_event_of(r, change, by=None, at=now, from_status=from_status))
        # One UPDATE per set of equal values (about one per desk chosen), not one per referral.
        same: dict[tuple[Any, ...], list[int]] = {}
        for r in refs:
            same.setdefault(tuple(getattr(r, f) for f in _ROUTED_FIELDS), []).append(r.pk)
        for values, pks in same.items():
            Referral.objects.filter(pk__in=pks).update(**dict(zip(_ROUTED_FIELDS, values, strict=True)))
        ReferralEvent.objects.bulk_create(events, batch_size=ROUTE_CHUNK)
        by_created: dict[dt.datetime, list[int]] = {}
        for r in refs:
            by_created.setdefault(r.created_at, []).append(r.client_id)
        for at, clients in sorted(by_created.items()):
            referral_changed.send(sender=Referral, at=at, clients=clients)
        _routed(refs)
        _route_notify(refs)
    return len(refs)


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
                # The meeting already booked, if any, is the first contact (sla.contact_due).
                "contact_due_at": sla.contact_due(
                    accepted_at=now, days=days, appointment_day_close=_appointment_day_close(r)
                ),
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


# --- Appointments: the client's first meeting at the receiving desk (DESIGN.md) ---


def active_appointment(referral: Referral) -> Appointment | None:
    """The referral's appointment that holds a place (prefetched as `active_appointments` when listed)."""
    cached = getattr(referral, "active_appointments", None)
    if cached is not None:
        return cached[0] if cached else None
    return Appointment.objects.filter(referral_id=referral.pk, cancelled_at__isnull=True).select_related("desk").first()


def _appointment_data(a: Appointment) -> dict[str, Any]:
    # Seoul times with their offset, as the API answers them.
    return {
        "start": a.start.astimezone(sla.SEOUL).isoformat(),
        "end": a.end.astimezone(sla.SEOUL).isoformat(),
        "desk": a.desk_id,
    }


def _appointment_day_close(r: Referral) -> dt.datetime | None:
    a = Appointment.objects.filter(referral_id=r.pk, cancelled_at__isnull=True).select_related("desk").first()
    if a is None:
        return None
    return slots.closing_time(a.desk, a.start.astimezone(sla.SEOUL).date())


def _free_appointment(referral: Referral, *, now: dt.datetime, by: User | None) -> Appointment | None:
    """Within a transition: free the appointment of a referral that left its desk (decline, accept
    deadline: always) or closed (only one still to come; a meeting that took place stays as it was)."""
    left = referral.to_desk_id is None
    closed = referral.status not in OPEN_STATUSES
    if not (left or closed):
        return None
    a = Appointment.objects.filter(referral_id=referral.pk, cancelled_at__isnull=True).first()
    if a is None or (not left and a.start <= now):
        return None
    a.cancelled_at, a.cancelled_by = now, by
    a.end_reason = AppointmentEnd.LEFT_DESK if left else AppointmentEnd.CLOSED
    a.save(update_fields=["cancelled_at", "cancelled_by", "end_reason"])
    return a


def _lock_for_appointment(by: User, referral_id: int) -> Referral:
    """The referral, locked, once the user may book for it: either side (lifecycle.may_book), open, at a
    desk. Another center's referral does not exist (404); ministry accounts are refused (403)."""
    actor = actor_for(by)
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts cannot act on referrals."))
    referral = Referral.objects.select_for_update(of=("self",)).filter(pk=referral_id).first()
    if referral is None or not side_of(
        actor, from_center_id=referral.from_center_id, to_center_id=referral.to_center_id
    ):
        raise NotFound(_("No such referral."))
    routed = referral.to_desk_id is not None
    if not lifecycle.may_book(
        actor,
        status=referral.status,
        routed=routed,
        from_center_id=referral.from_center_id,
        to_center_id=referral.to_center_id,
    ):
        if referral.status in OPEN_STATUSES and not routed:
            raise InvalidTransition(_("No desk has been chosen yet; book once the referral reaches a desk."))
        raise InvalidTransition(
            _("This referral is %(status)s; appointments can be booked only while it is open.")
            % {"status": status_label(referral.status, routed)}
        )
    return referral


def _set_contact_due(referral: Referral, appointment: Appointment | None, desk: Desk, now: dt.datetime) -> list[str]:
    """The first-contact due after a booking or cancellation (sla.contact_due); the contact alert may come
    again for a later due."""
    close = slots.closing_time(desk, appointment.start.astimezone(sla.SEOUL).date()) if appointment else None
    days = sla.days_for(service_id=referral.service_id, priority=referral.priority)
    referral.contact_due_at = sla.contact_due(accepted_at=referral.accepted_at, days=days, appointment_day_close=close)
    changed = ["contact_due_at", "updated_at"]
    if referral.escalated_step == "contact" and (referral.contact_due_at is None or referral.contact_due_at > now):
        referral.escalated_step = ""
        changed.append("escalated_step")
    return changed


def appointment_book(*, by: User, referral_id: int, start: dt.datetime) -> Referral:
    """Book the slot of the receiving desk that starts at `start` (rebooking frees the one held before, in
    the same transaction). 409 `slot_unavailable` when no bookable slot starts then or its places are
    taken. The first-contact due follows the appointment (sla.contact_due)."""
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        raise InvalidInput(_("Give the slot's start as a date and time."), field="start")
    with transaction.atomic():
        referral = _lock_for_appointment(by, referral_id)
        # The desk's row is the lock every booking of its slots takes: the count below cannot go stale.
        desk = Desk.objects.select_for_update().get(pk=referral.to_desk_id or 0)
        now = timezone.now()
        slot = slots.slot_starting(desk, start, now=now)
        if slot is None:
            raise SlotUnavailable(
                _("No bookable slot of this desk starts at that time (closed, past, or outside its hours).")
            )
        current = Appointment.objects.filter(referral_id=referral.pk, cancelled_at__isnull=True).first()
        if current is not None and current.start == slot.start and current.desk_id == desk.pk:
            return referral  # booked already: nothing to change
        taken = (
            Appointment.objects.filter(desk_id=desk.pk, start=slot.start, cancelled_at__isnull=True)
            .exclude(referral_id=referral.pk)
            .count()
        )
        if taken >= slot.capacity:
            raise SlotUnavailable(_("This slot is full; choose another time."))
        if current is not None:
            current.cancelled_at, current.cancelled_by, current.end_reason = now, by, AppointmentEnd.REBOOKED
            current.save(update_fields=["cancelled_at", "cancelled_by", "end_reason"])
        appointment = Appointment.objects.create(
            referral=referral, desk=desk, start=slot.start, end=slot.end, booked_by=by, created_at=now
        )
        changed = _set_contact_due(referral, appointment, desk, now)
        referral.save(update_fields=changed)
        ReferralEvent.objects.create(
            referral=referral,
            at=now,
            by=by,
            kind=EventKind.REBOOK if current is not None else EventKind.BOOK,
            from_status=referral.status,
            to_status=referral.status,
            desk_id=desk.pk,
            data={
                "appointment": _appointment_data(appointment),
                "previous": _appointment_data(current) if current is not None else None,
            },
        )
        referral_changed.send(sender=Referral, at=referral.created_at, clients=[referral.client_id])
    return referral


def appointment_cancel(*, by: User, referral_id: int) -> Referral:
    """Free the referral's appointment (its place goes back to the slot). Without one, nothing changes."""
    with transaction.atomic():
        referral = _lock_for_appointment(by, referral_id)
        current = Appointment.objects.filter(referral_id=referral.pk, cancelled_at__isnull=True).first()
        if current is None:
            return referral
        now = timezone.now()
        current.cancelled_at, current.cancelled_by, current.end_reason = now, by, AppointmentEnd.CANCELLED
        current.save(update_fields=["cancelled_at", "cancelled_by", "end_reason"])
        desk = Desk.objects.get(pk=current.desk_id)
        referral.save(update_fields=_set_contact_due(referral, None, desk, now))
        ReferralEvent.objects.create(
            referral=referral,
            at=now,
            by=by,
            kind=EventKind.UNBOOK,
            from_status=referral.status,
            to_status=referral.status,
            desk_id=current.desk_id,
            data={"appointment": _appointment_data(current)},
        )
        referral_changed.send(sender=Referral, at=referral.created_at, clients=[referral.client_id])
    return referral


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
    from cases.services import pii_access_log_write

    pii_access_log_write(user=by, clients=[referral.client_id], view=view, ip_address=ip, action=AccessAction.PRINT)


def appointments_pii_read(*, by: User, client_ids: Iterable[int], ip: str | None = None) -> None:
    """Record that the user saw these clients' names on the desk's day of appointments (PIPA access log)."""
    from cases.services import pii_access_log_write

    pii_access_log_write(user=by, clients=list(client_ids), view="referral:appointments_day", ip_address=ip)
