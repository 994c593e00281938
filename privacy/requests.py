"""The person's requests (Act §35-§37, PRIVACY.md) and the provision ledger (Decree §15).

- `subject_request_create`: a counselor or manager records a request of a client of their center, with how
  the person's identity was checked; it is due 10 days after receipt (PRIVACY_REQUEST_DAYS). What the Act
  makes take effect at once does so when it is received: a suspension stops the processing (the client is
  hidden from search and new referrals answer 409 `processing_suspended`) and a withdrawal withdraws the
  consents through the cases service (open referrals are cancelled; a collection consent schedules the
  destruction), then is answered as granted.
- `subject_request_answer`: the privacy officer, or a manager of the request's center, answers with a coded
  decision; a refusal or a partial grant names a reason the Act allows. A refused suspension resumes the
  processing; a granted erasure puts the client in the next destruction batch (ground `erasure_requested`).
- `requests_alert_due` (daily): tells the privacy officers and the center's managers once when an open request
  is due within PRIVACY_REQUEST_ALERT_DAYS days or overdue.
- `provision_record_routed`: a referral that reached a desk of another organization (another center, or a desk
  another kind of organization runs) writes a provision row; `provision_record_export` one per list exported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.models import AccessAction, Client, Consent, ProcessingStop
from cases.services import consent_withdraw, pii_access_log_write
from centers.models import Center, Desk, Role
from centers.selectors import Actor, actor_for
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.orm import parse_pk
from core.queueing import enqueue_on_commit
from privacy.requests_models import (
    Decision,
    IdentityCheck,
    Provision,
    RefusalReason,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)

SYSTEM_NAME = "연계(Yeongye) 고용·복지·금융 연계 시스템"
# What a receiving desk sees of the client (the referral page): the items of Decree §15.
REFERRAL_ITEMS = ["성명", "생년월일", "성별", "휴대전화번호", "욕구(고용·복지·금융)", "의뢰 사유·메모"]
REFERRAL_PURPOSE = "고용·복지·금융 서비스 연계 및 사후관리"
REFERRAL_BASIS = "개인정보 보호법 제17조제1항제1호(정보주체의 제3자 제공 동의)"
REFERRAL_METHOD = "시스템 내 의뢰 전송(접근권한 부여)"
REFERRAL_LIMITS = "연계 목적 외 이용·제3자 제공 금지, 보유기간 경과 시 파기"


class AlreadyAnswered(Conflict):
    code = "already_answered"


def _days() -> int:
    return settings.PRIVACY_REQUEST_DAYS


def _alert_days() -> int:
    return settings.PRIVACY_REQUEST_ALERT_DAYS


# --- Who sees and does what ----------------------------------------------------------------------------------


def request_list_for(user: Any) -> QuerySet[SubjectRequest]:
    """The privacy officer sees every center's requests; counselors and managers their center's; no one else."""
    actor = actor_for(user)
    qs = SubjectRequest.objects.select_related("center", "received_by", "answered_by")
    if actor.role == Role.PRIVACY_OFFICER:
        return qs
    if actor.is_center_staff:
        return qs.filter(center_id=actor.center_id or 0)
    raise PermissionDenied(_("Your role has no access to the person's requests."))


def _pk(value: object) -> int:
    pk = parse_pk(value)
    if pk is None:
        raise NotFound(_("Not found."))
    return pk


def request_get_for(user: Any, pk: object) -> SubjectRequest:
    qs = request_list_for(user)
    try:
        return qs.get(pk=_pk(pk))
    except SubjectRequest.DoesNotExist:
        raise NotFound(_("Not found.")) from None


def request_overdue(qs: QuerySet[SubjectRequest], now: dt.datetime | None = None) -> QuerySet[SubjectRequest]:
    return qs.filter(status=RequestStatus.OPEN, due_at__lt=now or timezone.now())


def _can_answer(actor: Actor, request: SubjectRequest) -> bool:
    if actor.role == Role.PRIVACY_OFFICER:
        return True
    return actor.is_manager and actor.center_id == request.center_id


def can_answer(user: Any, request: SubjectRequest) -> bool:
    return _can_answer(actor_for(user), request)


# --- Receiving a request ---------------------------------------------------------------------------------------


def _parse_choice(value: object, choices: Any, field: str) -> str:
    text = str(value or "").strip()
    if text not in choices.values:
        raise InvalidInput(
            _("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)}, field=field, code="invalid_choice"
        )
    return text


def subject_request_create(
    *,
    user: Any,
    client: Client,
    kind: object,
    identity_check: object,
    received_at: dt.datetime | None = None,
    note: str = "",
    ip_address: str | None = None,
) -> SubjectRequest:
    """Record a request of `client` (of the caller's center); a suspension or a withdrawal takes effect now."""
    actor = actor_for(user)
    if not actor.is_center_staff or actor.center_id != client.center_id:
        raise NotFound(_("Not found."))
    kind = _parse_choice(kind, RequestKind, "kind")
    identity = _parse_choice(identity_check, IdentityCheck, "identity_check")
    now = timezone.now()
    received = received_at or now
    if timezone.is_naive(received):
        raise InvalidInput(_("Give the time with its time zone."), field="received_at")
    if received > now + dt.timedelta(minutes=5):
        raise InvalidInput(_("A request cannot be received in the future."), field="received_at")
    if received < now - dt.timedelta(days=365):
        raise InvalidInput(_("Record a request within a year of receiving it."), field="received_at")
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput(_("Keep the note under 2,000 characters."), field="note")
    if client.processing_stopped == ProcessingStop.DESTROYED:
        raise Conflict(_("This client's records were destroyed: nothing is held to answer about."))
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk)
        request = SubjectRequest.objects.create(
            client=locked,
            center_id=locked.center_id,
            kind=kind,
            received_at=received,
            due_at=received + dt.timedelta(days=_days()),
            identity_check=identity,
            note=note,
            received_by=user,
        )
        if kind == RequestKind.SUSPENSION and locked.processing_stopped == ProcessingStop.NONE:
            Client.objects.filter(pk=locked.pk).update(processing_stopped=ProcessingStop.SUSPENDED)
            client.processing_stopped = ProcessingStop.SUSPENDED
        if kind == RequestKind.WITHDRAWAL:
            withdrawn = 0
            for consent in Consent.objects.filter(client_id=locked.pk, withdrawn_at__isnull=True).order_by("pk"):
                consent_withdraw(user=user, consent=consent)
                withdrawn += 1
            _answer(
                request,
                by=user,
                decision=Decision.GRANTED,
                reason="",
                answer=_("%(n)s consents withdrawn on receipt.") % {"n": withdrawn},
            )
        pii_access_log_write(
            user=user, clients=[locked.pk], view="privacy:request_create", ip_address=ip_address,
            action=AccessAction.CREATE,
        )  # fmt: skip
    return request


# --- Answering -------------------------------------------------------------------------------------------------


def _answer(request: SubjectRequest, *, by: Any, decision: str, reason: str, answer: str) -> None:
    request.status = RequestStatus.ANSWERED
    request.decision = decision
    request.reason = reason
    request.answer = answer
    request.answered_at = timezone.now()
    request.answered_by = by
    request.save(update_fields=["status", "decision", "reason", "answer", "answered_at", "answered_by"])


def subject_request_answer(
    *, user: Any, request_id: int, decision: object, reason: object = "", answer: str = ""
) -> SubjectRequest:
    """Answer an open request with a coded decision; a refusal or partial grant names the Act's reason."""
    actor = actor_for(user)
    pk = _pk(request_id)
    with transaction.atomic():
        request = request_list_for(user).select_for_update(of=("self",)).filter(pk=pk).first()
        if request is None:
            raise NotFound(_("Not found."))
        if not _can_answer(actor, request):
            raise PermissionDenied(_("The privacy officer or a manager of the center answers requests."))
        if request.status != RequestStatus.OPEN:
            raise AlreadyAnswered(_("This request has already been answered."))
        decision = _parse_choice(decision, Decision, "decision")
        reason_text = str(reason or "").strip()
        if decision == Decision.GRANTED:
            reason_text = ""
        elif not reason_text:
            raise InvalidInput(
                _("A refusal or a partial grant names the reason the Act allows."), field="reason",
                code="reason_required",
            )  # fmt: skip
        else:
            reason_text = _parse_choice(reason_text, RefusalReason, "reason")
        answer = (answer or "").strip()
        if len(answer) > 2000:
            raise InvalidInput(_("Keep the answer under 2,000 characters."), field="answer")
        _answer(request, by=user, decision=decision, reason=reason_text, answer=answer)
        client_rows = Client.objects.filter(pk=request.client_id)
        if request.kind == RequestKind.SUSPENSION and decision == Decision.REFUSED:
            client_rows.filter(processing_stopped=ProcessingStop.SUSPENDED).update(
                processing_stopped=ProcessingStop.NONE
            )
        if request.kind == RequestKind.ERASURE and decision == Decision.GRANTED:
            # Nothing more is done for the person until the next destruction batch destroys their records.
            client_rows.filter(processing_stopped=ProcessingStop.NONE).update(
                processing_stopped=ProcessingStop.SUSPENDED
            )
            from privacy.retention_tasks import propose_destruction

            enqueue_on_commit(propose_destruction)
    return request


def erasure_granted_client_ids() -> set[int]:
    """Clients whose erasure request was granted (privacy.destruction lists them as due)."""
    return set(
        SubjectRequest.objects.filter(kind=RequestKind.ERASURE, decision=Decision.GRANTED).values_list(
            "client_id", flat=True
        )
    )


# --- The due-date alert ---------------------------------------------------------------------------------------


def requests_alert_due(*, now: dt.datetime | None = None) -> int:
    """Tell the privacy officers and the center's managers, once, of each open request due soon or overdue."""
    from referral.models import Notification
    from referral.notifications import notifications_add, send_notification_email

    now = now or timezone.now()
    soon = now + dt.timedelta(days=_alert_days())
    users = get_user_model().objects.filter(is_active=True)
    officers = list(users.filter(staff__role=Role.PRIVACY_OFFICER).values_list("pk", flat=True))
    with transaction.atomic():
        due = list(
            SubjectRequest.objects.select_for_update(skip_locked=True)
            .filter(status=RequestStatus.OPEN, alerted_at__isnull=True, due_at__lte=soon)
            .order_by("due_at")
        )
        managers: dict[int, list[int]] = {}
        for center_id, pk in users.filter(
            staff__role=Role.CENTER_MANAGER, staff__center_id__in={r.center_id for r in due}
        ).values_list("staff__center_id", "pk"):
            managers.setdefault(center_id, []).append(pk)
        rows = []
        with translation.override(settings.LANGUAGE_CODE):
            for r in due:
                message = _("A request of the person (%(kind)s, #%(id)s) is due %(due)s.") % {
                    "kind": r.get_kind_display(),
                    "id": r.pk,
                    "due": f"{timezone.localtime(r.due_at):%Y-%m-%d}",
                }
                for user_id in {*officers, *managers.get(r.center_id, [])}:
                    rows.append(Notification(user_id=user_id, kind="privacy_request_due", message=message[:300]))
        made = notifications_add(rows)
        for row in made:
            enqueue_on_commit(send_notification_email, row.pk)
        SubjectRequest.objects.filter(pk__in=[r.pk for r in due]).update(alerted_at=now)
    return len(made)


# --- The provision ledger --------------------------------------------------------------------------------------


def _other_organization(desk: Desk, from_center: Center) -> bool:
    return desk.center_id != from_center.pk or desk.operator_kind != from_center.kind


def provision_record_routed(*, referrals: Sequence[Any], at: dt.datetime | None = None) -> int:
    """One provision row per referral that now sits at a desk of another organization (routed or re-routed)."""
    desk_ids = {r.to_desk_id for r in referrals if r.to_desk_id}
    if not desk_ids:
        return 0
    desks = {d.pk: d for d in Desk.objects.select_related("center").filter(pk__in=desk_ids)}
    centers = {c.pk: c for c in Center.objects.filter(pk__in={r.from_center_id for r in referrals})}
    at = at or timezone.now()
    rows = []
    for r in referrals:
        desk = desks.get(r.to_desk_id)
        origin = centers.get(r.from_center_id)
        if desk is None or origin is None or not _other_organization(desk, origin):
            continue
        rows.append(
            Provision(
                at=at,
                client_id=r.client_id,
                referral_id=r.pk,
                system=SYSTEM_NAME,
                recipient=f"{desk.center.name} · {desk.name}"[:200],
                recipient_kind=desk.operator_kind,
                recipient_center_id=desk.center_id,
                purpose=REFERRAL_PURPOSE,
                legal_basis=REFERRAL_BASIS,
                items=REFERRAL_ITEMS,
                method=REFERRAL_METHOD,
                limits=REFERRAL_LIMITS,
            )
        )
    Provision.objects.bulk_create(rows)
    return len(rows)


def provision_record_export(
    *,
    by: Any,
    recipient: str,
    recipient_kind: str,
    purpose: str,
    legal_basis: str,
    items: Iterable[str],
    method: str,
    limits: str = "",
    clients: Iterable[int] = (),
) -> int:
    """An export of a list to another organization: one row per person in it (or one row for a list of none)."""
    at = timezone.now()
    common = {
        "at": at,
        "system": SYSTEM_NAME,
        "recipient": recipient[:200],
        "recipient_kind": recipient_kind[:40],
        "purpose": purpose[:300],
        "legal_basis": legal_basis[:300],
        "items": list(items),
        "method": method[:100],
        "limits": limits[:300],
        "provided_by": by,
    }
    ids = sorted(set(clients))
    rows = [Provision(client_id=pk, **common) for pk in ids] or [Provision(**common)]
    Provision.objects.bulk_create(rows)
    return len(rows)


def provisions_for_client(user: Any, client_id: object) -> QuerySet[Provision]:
    """One client's provisions: for the privacy officer, or the client's own center."""
    actor = actor_for(user)
    pk = _pk(client_id)
    clients = Client.objects.filter(pk=pk)
    if actor.role != Role.PRIVACY_OFFICER:
        if not actor.is_center_staff:
            raise PermissionDenied(_("Your role has no access to personal data."))
        clients = clients.filter(center_id=actor.center_id or 0)
    if not clients.exists():
        raise NotFound(_("Not found."))
    return Provision.objects.filter(client_id=pk).select_related("recipient_center").order_by("at", "pk")


def provisions_all(user: Any) -> QuerySet[Provision]:
    if actor_for(user).role != Role.PRIVACY_OFFICER:
        raise PermissionDenied(_("The provision ledger is for the privacy officer."))
    return Provision.objects.order_by("-at", "-pk")
