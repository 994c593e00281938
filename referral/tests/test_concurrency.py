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
