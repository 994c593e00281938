import pytest
from django.core.management import call_command

from referral.models import Referral

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_seed_demo_adds_referrals_in_several_states_once():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    statuses = set(Referral.objects.values_list("status", flat=True))
    assert Referral.objects.count() == 5
    assert {"requested", "accepted", "in_progress", "completed"} <= statuses
