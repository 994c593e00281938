import pytest
from django.core.management import call_command

from cases.models import Case, Client, Consent, Need
from cases.needs import NEEDS_BY_CODE
from cases.services import consent_expiry
from referral.models import EventKind, Referral, ReferralEvent

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Client, Consent, Case, Need, Referral, ReferralEvent)}


def test_seed_demo_adds_referrals_in_several_states_once():
    call_command("seed_demo", history=0, verbosity=0)
    first = _counts()
    call_command("seed_demo", history=0, verbosity=0)
    assert _counts() == first
    statuses = set(Referral.objects.values_list("status", flat=True))
    assert Referral.objects.count() == 5
    assert {"requested", "accepted", "in_progress", "completed"} <= statuses


def test_seed_demo_data_obeys_the_intake_rules():
    call_command("seed_demo", history=0, verbosity=0)
    # Consents recorded as the service records them: with the expiry the notice promises.
    for consent in Consent.objects.all():
        assert consent.expires_at is not None and consent.expires_at == consent_expiry(consent.given_at)
    # Needs from the catalog, in their own domain; every referral's case records the need it answers.
    for need in Need.objects.all():
        assert need.code in NEEDS_BY_CODE and NEEDS_BY_CODE[need.code].domain == need.domain
    for r in Referral.objects.select_related("service"):
        assert r.case.needs.filter(domain=r.service.domain).exists()
        assert r.consent is not None and r.consent.client_id == r.client_id
        # Routed by the routing service, so the page has its "why this desk".
        route = r.events.get(kind=EventKind.ROUTE)
        assert route.data["chosen"] == r.to_desk_id and route.data["candidates"]
