import threading

import pytest
from django.db import connection

from core.errors import InvalidTransition
from referral import services
from referral.models import Referral
from referral.tests.helpers import send

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_people_accepting_at_once_one_wins_the_other_gets_a_conflict(counselor, mf_counselor, make_staff):
    other = make_staff("counselor", "MF-SEOUL-GWANAK")
    # transaction=True: on_commit runs for real, and routing runs in-process (no broker configured).
    r = send(counselor, "debt_adjustment")
    assert r.to_desk_id is not None
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def accept(user):
        try:
            barrier.wait(timeout=10)
            services.referral_accept(referral_id=r.pk, by=user)
            results[user.username] = "won"
        except InvalidTransition:
            results[user.username] = "409"
        finally:
            connection.close()  # each thread had its own PostgreSQL connection

    threads = [threading.Thread(target=accept, args=(u,)) for u in (mf_counselor, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == ["409", "won"]
    r = Referral.objects.get(pk=r.pk)
    winner = next(u for u in (mf_counselor, other) if results[u.username] == "won")
    assert (r.status, r.assigned_to_id) == ("accepted", winner.pk)
    assert r.events.filter(kind="accept").count() == 1


def test_two_counselors_taking_the_last_place_of_a_slot_at_once_exactly_one_gets_it(
    counselor, mf_counselor, make_staff
):
    import datetime as dt

    import time_machine

    from centers.models import Desk
    from core.errors import SlotUnavailable
    from core.workdays import SEOUL
    from referral.models import Appointment

    with time_machine.travel(dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL)):
        first, second = send(counselor), send(counselor)
        assert first.to_desk_id == second.to_desk_id is not None
        # One place left in the 10:00 slot: the desk takes two a slot and one is booked already.
        Desk.objects.filter(pk=first.to_desk_id).update(slot_places=2)
        start = dt.datetime(2026, 12, 21, 10, 0, tzinfo=SEOUL)
        services.appointment_book(by=counselor, referral_id=send(counselor).pk, start=start)
        barrier = threading.Barrier(2)
        results: dict[int, str] = {}

        def book(user, referral_id):
            try:
                barrier.wait(timeout=10)
                services.appointment_book(by=user, referral_id=referral_id, start=start)
                results[referral_id] = "won"
            except SlotUnavailable as exc:
                results[referral_id] = exc.code
            finally:
                connection.close()  # each thread had its own PostgreSQL connection

        # The sender books one referral while the receiving desk books the other, on two connections.
        threads = [
            threading.Thread(target=book, args=(counselor, first.pk)),
            threading.Thread(target=book, args=(mf_counselor, second.pk)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(results.values()) == ["slot_unavailable", "won"]
    assert Appointment.objects.filter(desk_id=first.to_desk_id, start=start, cancelled_at__isnull=True).count() == 2
    winner = next(pk for pk, result in results.items() if result == "won")
    assert Referral.objects.get(pk=winner).events.filter(kind="book").count() == 1
