import datetime as dt

import pytest
import time_machine

from centers.models import Service
from referral import services, sla
from referral.models import Notification, SlaPolicy
from referral.tasks import enforce_sla
from referral.tests.helpers import send, walk_to

SEOUL = sla.SEOUL


def at(*args):
    return dt.datetime(*args, tzinfo=SEOUL)


def test_business_days_skip_the_weekend():
    # Friday → two business days → Tuesday, close of business.
    assert sla.add_business_days(at(2026, 7, 10, 10, 0), 2) == at(2026, 7, 14, 18, 0)


def test_business_days_skip_korean_public_holidays():
    # Chuseok 2026 is Thu 24 – Sat 26 September: Wednesday + 2 business days is Tuesday 29.
    assert sla.add_business_days(at(2026, 9, 23, 15, 0), 2) == at(2026, 9, 29, 18, 0)
    # Lunar New Year 2026 (16–18 February): Friday 13 + 1 business day is Thursday 19.
    assert sla.add_business_days(at(2026, 2, 13, 9, 0), 1) == at(2026, 2, 19, 18, 0)


@pytest.mark.django_db
def test_defaults_and_per_service_policy(directory):
    svc = Service.objects.get(code="debt_adjustment")
    assert sla.days_for(service_id=svc.pk, priority="normal") == sla.SlaDays(2, 5, 20)
    assert sla.days_for(service_id=svc.pk, priority="urgent") == sla.SlaDays(1, 2, 10)
    SlaPolicy.objects.create(service=None, priority="normal", accept_days=3, contact_days=6, close_days=30)
    assert sla.days_for(service_id=svc.pk, priority="normal").accept == 3
    SlaPolicy.objects.create(service=svc, priority="normal", accept_days=4, contact_days=7, close_days=40)
    assert sla.days_for(service_id=svc.pk, priority="normal") == sla.SlaDays(4, 7, 40)


@pytest.mark.django_db
def test_routing_and_accept_set_due_times_in_business_days(counselor, mf_counselor, django_capture_on_commit_callbacks):
    with time_machine.travel(at(2026, 9, 23, 11, 0), tick=False):
        r = send(counselor, "debt_adjustment", capture=django_capture_on_commit_callbacks, priority="urgent")
        assert r.accept_due_at == at(2026, 9, 28, 18, 0)
        r = services.referral_accept(referral_id=r.pk, by=mf_counselor)
        assert r.contact_due_at == at(2026, 9, 29, 18, 0)


@pytest.mark.django_db
def test_overdue_accept_reroutes_as_timeout_and_alerts_the_desk_managers_once(
    counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks
):
    mf_manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    with time_machine.travel(at(2026, 7, 6, 10, 0), tick=False):
        r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    first = r.to_desk_id
    with time_machine.travel(at(2026, 7, 9, 10, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert enforce_sla()["timeouts"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert enforce_sla()["timeouts"] == 0
    r.refresh_from_db()
    assert r.to_desk_id not in (None, first)
    timeout = r.events.get(kind="timeout")
    assert timeout.desk_id == first
    assert Notification.objects.filter(user=mf_manager, kind="escalated", referral=r).count() == 1


@pytest.mark.django_db
def test_overdue_first_contact_alerts_managers_once(
    counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks
):
    mf_manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    with time_machine.travel(at(2026, 7, 6, 10, 0), tick=False):
        r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with time_machine.travel(at(2026, 7, 20, 10, 0), tick=False):
        enforce_sla()
        enforce_sla()
    r.refresh_from_db()
    assert r.status == "accepted" and r.escalated_step == "contact"
    assert Notification.objects.filter(user=mf_manager, kind="escalated", referral=r).count() == 1
    assert r.events.filter(kind="escalate").count() == 1
