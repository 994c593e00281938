import pytest
from django.core import mail

from cases.models import Consent
from core.errors import ConsentRequired, InvalidInput, InvalidTransition, NotFound, PermissionDenied
from referral import services
from referral.models import EventKind, Notification, Referral, ReferralEvent
from referral.tests.factories import case_with_consent
from referral.tests.helpers import send, walk_to

pytestmark = pytest.mark.django_db

ACTIONS = ["accept", "decline", "start", "hold", "resume", "complete", "fail", "cancel"]
# The lifecycle table of DESIGN.md: which actions each state allows.
ALLOWED = {
    "unrouted": {"cancel"},
    "requested": {"accept", "decline", "cancel"},
    "accepted": {"start", "hold", "complete", "fail", "cancel"},
    "in_progress": {"hold", "complete", "fail", "cancel"},
    "on_hold": {"resume", "fail", "cancel"},
    "completed": set(),
    "failed": set(),
    "rejected": set(),
    "cancelled": set(),
}


def _do(action, pk, sender, receiver):
    kw = {"referral_id": pk}
    if action == "cancel":
        return services.referral_cancel(by=sender, reason="client_request", **kw)
    if action == "decline":
        return services.referral_decline(by=receiver, reason="no_capacity", **kw)
    if action == "complete":
        return services.referral_complete(by=receiver, outcome="fast_track_agreed", achieved=True, **kw)
    if action == "fail":
        return services.referral_fail(by=receiver, reason="no_show", **kw)
    return getattr(services, f"referral_{action}")(by=receiver, **kw)


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_action_outside_the_lifecycle_table_is_refused(
    state, counselor, mf_counselor, django_capture_on_commit_callbacks
):
    r = walk_to(state, sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    expected_status = "requested" if state == "unrouted" else state
    assert r.status == expected_status
    events_before = ReferralEvent.objects.filter(referral=r).count()
    for action in ACTIONS:
        if action in ALLOWED[state]:
            continue
        # Without a desk the referral is out of the receiving center's sight: 404 rather than 409.
        refused = (InvalidTransition, NotFound) if r.to_desk_id is None and action != "cancel" else InvalidTransition
        with pytest.raises(refused):
            _do(action, r.pk, counselor, mf_counselor)
    r.refresh_from_db()
    assert r.status == expected_status
    assert ReferralEvent.objects.filter(referral=r).count() == events_before
    # The page offers exactly the allowed actions to each side.
    from centers.selectors import actor_for

    offered = set(services.allowed_actions(r, actor_for(mf_counselor))) | set(
        services.allowed_actions(r, actor_for(counselor))
    )
    assert offered - {"assign"} == ALLOWED[state]


def test_create_without_consent_is_refused_and_saves_nothing(counselor):
    case = case_with_consent(counselor, kinds=[])
    with pytest.raises(ConsentRequired) as exc:
        services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    assert exc.value.code == "consent_required"
    assert Referral.objects.count() == 0
    assert ReferralEvent.objects.count() == 0


def test_create_refused_when_consent_covers_no_receiving_kind_or_is_withdrawn_or_expired(counselor):
    from datetime import timedelta

    from django.utils import timezone

    # debt_adjustment is delivered by microfinance and credit_recovery desks only.
    case = case_with_consent(counselor, kinds=["local_government"])
    with pytest.raises(ConsentRequired):
        services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    case2 = case_with_consent(counselor)
    Consent.objects.filter(client=case2.client).update(withdrawn_at=timezone.now())
    with pytest.raises(ConsentRequired):
        services.referral_create(by=counselor, case_id=case2.pk, service_code="debt_adjustment")
    case3 = case_with_consent(counselor)
    Consent.objects.filter(client=case3.client).update(expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ConsentRequired):
        services.referral_create(by=counselor, case_id=case3.pk, service_code="debt_adjustment")
    assert Referral.objects.count() == 0


def test_create_rejects_bad_input_with_field_errors(counselor, mf_counselor):
    case = case_with_consent(counselor)
    with pytest.raises(InvalidInput) as exc:
        services.referral_create(by=counselor, case_id=case.pk, service_code="nope")
    assert exc.value.field == "service"
    with pytest.raises(InvalidInput) as exc:
        services.referral_create(by=counselor, case_id="abc", service_code="kesp")
    assert exc.value.field == "case"
    with pytest.raises(InvalidInput) as exc:
        services.referral_create(by=counselor, case_id=case.pk, service_code="kesp", priority="asap")
    assert exc.value.field == "priority"
    # Another center's case is not the caller's to refer.
    with pytest.raises(InvalidInput):
        services.referral_create(by=mf_counselor, case_id=case.pk, service_code="kesp")


def test_new_referral_is_requested_unrouted_then_routed_after_commit(counselor, django_capture_on_commit_callbacks):
    r = send(counselor, "debt_adjustment", route=False)
    assert (r.status, r.to_desk_id) == ("requested", None)
    assert services.status_label(r.status, r.is_routed) == "배정 중"
    services.referral_route(referral_id=r.pk)
    r.refresh_from_db()
    assert r.to_desk.code == "MF-SEOUL-GWANAK-FIN"
    assert r.accept_due_at is not None and r.routed_at is not None
    assert services.status_label(r.status, r.is_routed) == "접수 대기"
    kinds = list(r.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATE, EventKind.ROUTE]


def test_route_runs_once_however_often_the_task_fires(counselor):
    r = send(counselor, "debt_adjustment", route=False)
    services.referral_route(referral_id=r.pk)
    services.referral_route(referral_id=r.pk)
    assert r.events.filter(kind=EventKind.ROUTE).count() == 1


@pytest.mark.sqlite
def test_accept_start_hold_resume_complete_records_outcome_and_tells_sender(
    counselor, mf_counselor, django_capture_on_commit_callbacks
):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        r = services.referral_accept(referral_id=r.pk, by=mf_counselor)
    assert (r.status, r.assigned_to_id) == ("accepted", mf_counselor.pk)
    assert r.contact_due_at and r.close_due_at
    r = services.referral_start(referral_id=r.pk, by=mf_counselor)
    assert r.status == "in_progress" and r.started_at
    r = services.referral_hold(referral_id=r.pk, by=mf_counselor)
    assert r.status == "on_hold"
    r = services.referral_resume(referral_id=r.pk, by=mf_counselor)
    assert r.status == "in_progress"
    with django_capture_on_commit_callbacks(execute=True):
        r = services.referral_complete(
            referral_id=r.pk,
            by=mf_counselor,
            outcome="pre_workout_agreed",
            achieved=True,
            detail={"loan_amount": 3000000},
        )
    assert (r.status, r.outcome, r.achieved) == ("completed", "pre_workout_agreed", True)
    assert r.outcome_detail == {"loan_amount": 3000000}
    assert r.closed_at is not None
    kinds = list(r.events.values_list("kind", flat=True))
    assert kinds == ["create", "route", "accept", "start", "hold", "resume", "complete"]
    sender_kinds = set(Notification.objects.filter(user=counselor).values_list("kind", flat=True))
    assert {"accepted", "completed"} <= sender_kinds
    # E-mail copies went out through Django's backend.
    assert any(f"R{r.pk}" in m.body for m in mail.outbox)


def test_hold_from_accepted_resumes_back_to_accepted(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    services.referral_hold(referral_id=r.pk, by=mf_counselor)
    r = services.referral_resume(referral_id=r.pk, by=mf_counselor)
    assert r.status == "accepted"


def test_complete_needs_an_outcome_of_the_service(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("in_progress", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with pytest.raises(InvalidInput) as exc:
        services.referral_complete(referral_id=r.pk, by=mf_counselor, outcome="hired")  # a job_placement outcome
    assert exc.value.field == "outcome"
    r.refresh_from_db()
    assert r.status == "in_progress"


@pytest.mark.parametrize("state", ["accepted", "in_progress", "on_hold"])
def test_fail_takes_a_coded_reason_from_each_working_state(
    state, counselor, mf_counselor, django_capture_on_commit_callbacks
):
    r = walk_to(state, sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with pytest.raises(InvalidInput):
        services.referral_fail(referral_id=r.pk, by=mf_counselor, reason="bored")
    r = services.referral_fail(referral_id=r.pk, by=mf_counselor, reason="unable_to_contact")
    assert (r.status, r.reason) == ("failed", "unable_to_contact")


@pytest.mark.parametrize("state", ["unrouted", "requested", "accepted", "in_progress", "on_hold"])
def test_sender_cancels_any_open_referral_with_a_reason(
    state, counselor, mf_counselor, django_capture_on_commit_callbacks
):
    r = walk_to(state, sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    r = services.referral_cancel(referral_id=r.pk, by=counselor, reason="sent_in_error")
    assert (r.status, r.reason) == ("cancelled", "sent_in_error")
    assert r.events.last().kind == "cancel"


def test_receiving_side_cannot_cancel_and_sender_cannot_accept(
    counselor, mf_counselor, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        services.referral_cancel(referral_id=r.pk, by=mf_counselor, reason="client_request")
    with pytest.raises(PermissionDenied):
        services.referral_accept(referral_id=r.pk, by=counselor)


def test_third_center_sees_nothing(counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    stranger = make_staff("counselor", "EW-BUSAN-SAHA")
    with pytest.raises(NotFound):
        services.referral_accept(referral_id=r.pk, by=stranger)


@pytest.mark.sqlite
def test_decline_reroutes_to_next_desk_never_back(
    counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    first = r.to_desk
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_decline(referral_id=r.pk, by=mf_counselor, reason="no_capacity", note="꽉 찼습니다")
    r.refresh_from_db()
    assert r.status == "requested" and r.to_desk_id not in (None, first.pk)
    decline = r.events.get(kind="decline")
    assert (decline.desk_id, decline.reason) == (first.pk, "no_capacity")
    assert Notification.objects.filter(user=counselor, kind="declined").exists()
    # The second desk declines too: routing skips both.
    second = make_staff("counselor", r.to_center.code)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_decline(referral_id=r.pk, by=second, reason="out_of_area")
    r.refresh_from_db()
    assert r.to_desk_id not in (first.pk, decline.desk_id) and r.status == "requested"
    assert r.events.filter(kind="route").count() == 3


def test_decline_without_a_reason_is_refused(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with pytest.raises(InvalidInput):
        services.referral_decline(referral_id=r.pk, by=mf_counselor, reason="")


@pytest.mark.sqlite
def test_last_decline_rejects_and_tells_the_sender(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("rejected", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    assert (r.status, r.reason) == ("rejected", "no_candidate")
    assert r.events.last().kind == "route_failed"
    assert Notification.objects.filter(user=counselor, kind="rejected", referral=r).exists()
    assert services.status_label(r.status) == "반려 종결"


def test_consent_withdrawal_signal_cancels_open_referrals_relying_on_it(
    counselor, mf_counselor, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from cases.signals import consent_withdrawn

    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    done = walk_to("completed", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    consent = r.consent
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    consent_withdrawn.send(sender=Consent, consent=consent, by=counselor)
    r.refresh_from_db()
    assert (r.status, r.reason) == ("cancelled", "consent_withdrawn")
    event = r.events.last()
    assert (event.kind, event.reason, event.by_id) == ("cancel", "consent_withdrawn", counselor.pk)
    done.refresh_from_db()
    assert done.status == "completed"


def test_assign_by_manager_and_bulk(counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks):
    mf_manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    a = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    b = walk_to("accepted", sender=counselor, receiver=mf_manager, capture=django_capture_on_commit_callbacks)
    assert services.referral_assign_bulk(referral_ids=[a.pk, b.pk], by=mf_manager, assigned_to=mf_counselor.pk) == 2
    assert set(Referral.objects.values_list("assigned_to_id", flat=True)) == {mf_counselor.pk}
    # A counselor may only take a referral for themselves; an EW counselor is not receiving staff.
    with pytest.raises(PermissionDenied):
        services.referral_assign(referral_id=a.pk, by=mf_counselor, assigned_to=mf_manager.pk)
    with pytest.raises(InvalidInput):
        services.referral_assign(referral_id=a.pk, by=mf_manager, assigned_to=counselor.pk)


def test_withdrawing_consent_through_the_cases_service_cancels_its_open_referrals(
    counselor, mf_counselor, django_capture_on_commit_callbacks
):
    from cases.services import consent_withdraw

    r = walk_to("in_progress", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    consent_withdraw(user=counselor, consent=r.consent)
    r.refresh_from_db()
    assert (r.status, r.reason) == ("cancelled", "consent_withdrawn")
