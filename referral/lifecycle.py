"""The referral lifecycle of DESIGN.md, stated once.

Every other place reads this table: status labels (pages, API, exports), the service's allowed-transition
check (`services._transition`), the buttons of the queue and detail pages (`allowed_actions`), and the
API's `POST /api/v1/referrals/{id}/<action>/` actions with their request bodies (`referral.api`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from centers.selectors import Actor
from referral.models import OPEN_STATUSES, CancelReason, DeclineReason, FailReason, RejectReason, Status


class Side(StrEnum):
    """Who may take an action: the sending center's staff, the receiving desk's, or only the system."""

    SENDING = "sending"
    RECEIVING = "receiving"
    SYSTEM = "system"


class Assignee(StrEnum):
    """Whether an action takes `assigned_to` (a staff member of the receiving center)."""

    NONE = ""
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True)
class Action:
    """One row of the lifecycle table."""

    code: str
    label: Promise | str
    from_statuses: frozenset[str]
    # None: the status does not change (assign, escalate) or the change decides it (resume goes back
    # to the status before the hold; routing with no desk left rejects).
    to_status: str | None
    side: Side
    # None: routed or not; True: only while waiting at a desk; False: only while unrouted.
    routed: bool | None = None
    # Input, beyond the referral: a coded reason from these choices (less `reason_excluded`), a free
    # note, an outcome of the service (with `achieved` and `detail`), an assignee.
    reasons: type[TextChoices] | None = None
    reason_excluded: tuple[str, ...] = ()
    note: bool = False
    outcome: bool = False
    assignee: Assignee = Assignee.NONE
    # The job posting the outcome happened at (job placement), with the reason a suspect employer needs.
    posting: bool = False
    # Offered on the queue's rows as well as on the referral's page.
    in_queue: bool = False
    # The button's look: "primary", "danger" or "".
    style: str = ""

    @property
    def takes_assignee(self) -> bool:
        return self.assignee != Assignee.NONE

    @property
    def assignee_required(self) -> bool:
        return self.assignee == Assignee.REQUIRED

    @property
    def input_names(self) -> tuple[str, ...]:
        """The action's inputs: the API's request fields and the service's keyword arguments alike."""
        names: list[str] = []
        if self.takes_assignee:
            names.append("assigned_to")
        if self.reasons is not None:
            names.append("reason")
        if self.outcome:
            names += ["outcome", "achieved", "detail"]
        if self.posting:
            names += ["employer_posting", "warning_reason"]
        if self.note:
            names.append("note")
        return tuple(names)

    @property
    def reason_choices(self) -> list[tuple[str, str]]:
        if self.reasons is None:
            return []
        return [(v, label) for v, label in self.reasons.choices if v not in self.reason_excluded]

    def allows(self, status: str, *, routed: bool) -> bool:
        """Whether the action may start from this status (and routing state)."""
        return status in self.from_statuses and (self.routed is None or self.routed == routed)


@dataclass(frozen=True)
class ActionInput:
    """An action's input as parsed at the edge (a page's form or an API body); each action reads the
    fields its `input_names` lists and ignores the rest."""

    reason: str = ""
    note: str = ""
    outcome: str = ""
    achieved: bool | None = None
    detail: dict[str, Any] | None = None
    assigned_to: int | str | None = None
    employer_posting: int | str | None = None
    warning_reason: str = ""

    def for_action(self, action: Action) -> dict[str, Any]:
        return {name: getattr(self, name) for name in action.input_names}


_OPEN = frozenset(OPEN_STATUSES)
_WORKING = frozenset({Status.ACCEPTED, Status.IN_PROGRESS})

ACTIONS: dict[str, Action] = {
    a.code: a
    for a in (
        Action("route", "", frozenset({Status.REQUESTED}), Status.REQUESTED, Side.SYSTEM, routed=False),
        Action(
            "accept",
            _("Accept"),
            frozenset({Status.REQUESTED}),
            Status.ACCEPTED,
            Side.RECEIVING,
            routed=True,
            assignee=Assignee.OPTIONAL,
            in_queue=True,
            style="primary",
        ),
        # Back to routing, which never returns it to this desk; `rejected` when no desk is left.
        Action(
            "decline",
            _("Decline"),
            frozenset({Status.REQUESTED}),
            Status.REQUESTED,
            Side.RECEIVING,
            routed=True,
            reasons=DeclineReason,
            note=True,
            in_queue=True,
            style="danger",
        ),
        Action("timeout", "", frozenset({Status.REQUESTED}), Status.REQUESTED, Side.SYSTEM, routed=True),
        Action(
            "assign",
            _("Assign"),
            _OPEN,
            None,
            Side.RECEIVING,
            routed=True,
            assignee=Assignee.REQUIRED,
            in_queue=True,
        ),
        Action(
            "start",
            _("Start counseling"),
            frozenset({Status.ACCEPTED}),
            Status.IN_PROGRESS,
            Side.RECEIVING,
            note=True,
            style="primary",
        ),
        Action("hold", _("Hold"), _WORKING, Status.ON_HOLD, Side.RECEIVING, note=True),
        Action("resume", _("Resume"), frozenset({Status.ON_HOLD}), None, Side.RECEIVING, note=True),
        Action(
            "complete",
            _("Mark completed"),
            _WORKING,
            Status.COMPLETED,
            Side.RECEIVING,
            outcome=True,
            posting=True,
            note=True,
            style="primary",
        ),
        Action(
            "fail",
            _("Mark failed"),
            frozenset({*_WORKING, Status.ON_HOLD}),
            Status.FAILED,
            Side.RECEIVING,
            reasons=FailReason,
            note=True,
            style="danger",
        ),
        # A consent withdrawal cancels too, through its own service (no side check); people cannot
        # give that reason.
        Action(
            "cancel",
            _("Cancel referral"),
            _OPEN,
            Status.CANCELLED,
            Side.SENDING,
            reasons=CancelReason,
            reason_excluded=(CancelReason.CONSENT_WITHDRAWN,),
            note=True,
            style="danger",
        ),
        Action("escalate", "", _OPEN, None, Side.SYSTEM, routed=True),
    )
}

# What people can do, in the order pages show the buttons and the API lists its actions.
USER_ACTIONS: tuple[Action, ...] = tuple(a for a in ACTIONS.values() if a.side != Side.SYSTEM)


# --- Status labels (DESIGN.md's table), used by pages, API and exports alike. ---

UNROUTED = "unrouted"  # `requested` without a desk: a label and a queue filter, not a status
_UNROUTED_LABEL = _("Assigning a desk")
_STATUS_LABELS: dict[str, Promise] = {
    Status.REQUESTED: _("Awaiting acceptance"),
    Status.ACCEPTED: _("Accepted"),
    Status.IN_PROGRESS: _("In progress"),
    Status.ON_HOLD: _("On hold"),
    Status.COMPLETED: _("Completed"),
    Status.FAILED: _("Failed"),
    Status.REJECTED: _("Rejected"),
    Status.CANCELLED: _("Cancelled"),
}
# The queue's status filters and header counts, in lifecycle order.
STATUS_FILTERS: tuple[str, ...] = (
    UNROUTED,
    Status.REQUESTED,
    Status.ACCEPTED,
    Status.IN_PROGRESS,
    Status.ON_HOLD,
    Status.COMPLETED,
    Status.FAILED,
    Status.REJECTED,
    Status.CANCELLED,
)


def user_action(code: str) -> Action | None:
    """The action people can take under this code, or None (unknown, or the system's own)."""
    action = ACTIONS.get(code)
    return action if action is not None and action.side != Side.SYSTEM else None


def status_label(status: str, routed: bool = True) -> str:
    if status == UNROUTED or (status == Status.REQUESTED and not routed):
        return str(_UNROUTED_LABEL)
    label = _STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def action_label(code: str) -> str:
    action = ACTIONS.get(code)
    return str(action.label) if action is not None and action.label else code


# --- Who may act ---


def side_of(actor: Actor, *, from_center_id: int | None, to_center_id: int | None) -> set[Side]:
    """The sides of a referral the actor stands on (none for another center's staff or a non-center role)."""
    if not actor.is_center_staff:
        return set()
    sides = set()
    if actor.center_id == from_center_id:
        sides.add(Side.SENDING)
    if actor.center_id == to_center_id:
        sides.add(Side.RECEIVING)
    return sides


def may_assign_others(actor: Actor) -> bool:
    """The assignment rule, for accept and assign alike: a center manager may assign any active staff
    member of the receiving center; anyone else may assign only themselves."""
    return actor.is_manager


def allowed_actions(
    actor: Actor, *, status: str, routed: bool, from_center_id: int | None, to_center_id: int | None
) -> list[Action]:
    """The actions the actor may take on a referral in this state right now (the page's buttons)."""
    sides = side_of(actor, from_center_id=from_center_id, to_center_id=to_center_id)
    return [a for a in USER_ACTIONS if a.side in sides and a.allows(status, routed=routed)]


# --- Appointments (DESIGN.md "Appointments and the referral slip") ---
# Not a row of the table above (the status does not change): the first meeting at the receiving desk is
# booked, rebooked or cancelled by either side while the referral is open and at a desk; the lifecycle
# frees it when the referral leaves the desk (decline, accept deadline) or closes.
APPOINTMENT_SIDES = frozenset({Side.SENDING, Side.RECEIVING})
APPOINTMENT_STATUSES = _OPEN


def may_book(actor: Actor, *, status: str, routed: bool, from_center_id: int | None, to_center_id: int | None) -> bool:
    """Whether the actor may book, rebook or cancel the referral's appointment right now."""
    sides = side_of(actor, from_center_id=from_center_id, to_center_id=to_center_id)
    return bool(sides & APPOINTMENT_SIDES) and routed and status in APPOINTMENT_STATUSES


# --- Reason labels: every coded reason an event or a referral can carry, in one place. -----------------
_ROUTING_REASON_LABELS = {
    "colocated": _("Outreach desk in the same building"),
    "only_candidate": _("Only desk available"),
    "others_full": _("Closer desks are full"),
    "best_score": _("Best overall score"),
    "no_candidate": _("No desk left to route to"),
    "accept_overdue": _("Accept deadline passed"),
    "contact": _("First contact overdue"),
    "close": _("Closing overdue"),
}
ROUTING_REASONS = frozenset(_ROUTING_REASON_LABELS)


def reason_label(code: str) -> str:
    """The Korean (or English) label of a coded reason: decline, fail, cancel, reject, routing, SLA step."""
    if not code:
        return ""
    for choices in (DeclineReason, FailReason, CancelReason, RejectReason):
        if code in choices.values:
            return str(choices(code).label)
    label = _ROUTING_REASON_LABELS.get(code)
    return str(label) if label is not None else code
