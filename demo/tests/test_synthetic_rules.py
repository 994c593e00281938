"""The generator writes what the product's own rules would have written (referral/routing.py, referral/sla.py,
cases consent expiry and need codes), and its referrals look on their pages like routed ones."""

import dataclasses
import datetime as dt
import re

import pytest
from django.urls import reverse

from cases.models import Consent, Need
from cases.needs import NEEDS_BY_CODE
from cases.services import consent_expiry
from demo.synthetic import Spec, desk_load, generate_synthetic
from referral import routing, sla
from referral.models import EventKind, Priority, Referral, ReferralEvent, SlaPolicy
from referral.tests.helpers import send

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
SEED = 5
SPEC = Spec(clients=120, referrals=500, months=6, seed=SEED, batch=200, now=NOW)


@pytest.fixture
def generated(directory):
    # A policy row for one priority: the generator must read SlaPolicy as the services do.
    SlaPolicy.objects.create(service=None, priority=Priority.NORMAL, accept_days=3, contact_days=4, close_days=15)
    generate_synthetic(SPEC)


def _expected_route(event: ReferralEvent, referral: Referral, earlier: list[ReferralEvent]) -> dict:
    """What referral_route would store at event.at, with the generator's stand-in desk loads."""
    excluded = sorted(
        {e.desk_id for e in earlier if e.kind in (EventKind.DECLINE, EventKind.TIMEOUT) and e.desk_id is not None}
    )
    consent = referral.consent
    assert consent is not None
    kinds = consent.organization_kinds if consent.is_valid_at(event.at) else []
    candidates = [
        dataclasses.replace(c, open_referrals=desk_load(SEED, c))
        for c in routing.candidates_for(referral, organization_kinds=kinds, excluded=excluded)
    ]
    ranked = routing.rank(
        candidates,
        from_center_id=referral.from_center_id,
        from_lat=float(referral.from_center.latitude),
        from_lon=float(referral.from_center.longitude),
        priority=referral.priority,
        now=event.at,
    )
    return routing.explanation(ranked, excluded=excluded)


def test_every_route_event_is_the_products_ranking_at_that_moment(generated):
    referrals = Referral.objects.select_related("consent", "from_center").prefetch_related("events")
    checked = reasons = 0
    seen_reasons = set()
    for referral in referrals:
        events = list(referral.events.all())
        for n, event in enumerate(events):
            if event.kind not in (EventKind.ROUTE, EventKind.ROUTE_FAILED):
                continue
            expected = _expected_route(event, referral, events[:n])
            assert event.data == expected, f"R{referral.pk} event {event.pk}"
            if event.kind == EventKind.ROUTE:
                assert event.desk_id == expected["chosen"]
                assert event.reason == expected["reason"]
                reasons += 1
                seen_reasons.add(event.reason)
            checked += 1
    assert checked > 500 and reasons > 400
    # The explanations are not all alike: co-location, a best score and full desks passed over all occur.
    assert {"colocated", "best_score", "others_full"} <= seen_reasons


def test_a_generated_referral_shows_why_this_desk_like_a_routed_one(
    generated, client, make_staff, counselor, django_capture_on_commit_callbacks
):
    def why_rows(referral: Referral, user) -> list[list[str]]:
        client.force_login(user)
        page = client.get(reverse("referral:detail", args=[referral.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        section = html[html.index('data-testid="why-this-desk"') :]
        section = section[: section.index("</section>")]
        body = section[section.index("<tbody>") : section.index("</tbody>")]
        return [
            [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        ]

    routed = send(counselor, "policy_microloan", capture=django_capture_on_commit_callbacks)
    reference = why_rows(routed, counselor)
    generated_referral = (
        Referral.objects.filter(to_desk__isnull=False, service__code="policy_microloan", route_attempts=1)
        .order_by("pk")
        .first()
    )
    assert generated_referral is not None
    receiver = make_staff("counselor", generated_referral.to_center)
    rows = why_rows(generated_referral, receiver)
    data = generated_referral.events.filter(kind=EventKind.ROUTE).last().data
    assert len(rows) == len(data["candidates"]) == min(routing.TOP_N, data["candidate_count"]) > 1
    assert len(rows[0]) == len(reference[0]) == 6
    for row, candidate in zip(rows, data["candidates"], strict=True):
        desk, _same_building, distance, hours, load, score = row
        assert candidate["desk_name"] in desk and candidate["center_name"] in desk
        assert distance == str(candidate["distance_km"]) and hours == str(candidate["hours_to_open"])
        assert load.startswith(f"{candidate['open_referrals']}/{candidate['capacity']}")
        assert score == str(candidate["score"])
        assert all(cell for cell in (desk, distance, hours, load, score))


def test_every_due_time_is_the_sla_rule_from_the_step_it_counts_from(generated):
    checked = 0
    for r in Referral.objects.all():
        days = sla.days_for(service_id=r.service_id, priority=r.priority)
        if r.routed_at is not None:
            assert r.accept_due_at == sla.add_business_days(r.routed_at, days.accept), r.pk
            checked += 1
        else:
            assert r.accept_due_at is None
        if r.accepted_at is not None:
            assert r.contact_due_at == sla.add_business_days(r.accepted_at, days.contact), r.pk
            assert r.close_due_at == sla.add_business_days(r.accepted_at, days.close), r.pk
        else:
            assert r.contact_due_at is None and r.close_due_at is None
    assert checked > 400
    # The policy row was read: normal referrals got 4 business days to first contact, urgent ones the default.
    normal = Referral.objects.filter(priority=Priority.NORMAL, accepted_at__isnull=False).first()
    assert normal is not None
    assert normal.contact_due_at == sla.add_business_days(normal.accepted_at, 4)


def test_a_desk_that_lets_the_accept_deadline_pass_is_timed_out_and_the_referral_sent_on(generated):
    timeouts = ReferralEvent.objects.filter(kind=EventKind.TIMEOUT).select_related("referral")
    assert timeouts.exists()
    for t in timeouts:
        route = t.referral.events.filter(kind=EventKind.ROUTE, desk_id=t.desk_id, at__lt=t.at).last()
        assert route is not None
        assert t.at > sla.add_business_days(
            route.at, sla.days_for(service_id=t.referral.service_id, priority=t.referral.priority).accept
        )
    # Nothing waits at a desk long past its accept deadline: the SLA sweep would have moved it on.
    assert not Referral.objects.filter(
        status="requested", to_desk__isnull=False, accept_due_at__lt=NOW - dt.timedelta(minutes=5)
    ).exists()


def test_consents_expire_by_the_consent_rule_and_needs_use_catalog_codes(generated):
    for consent in Consent.objects.all():
        assert consent.expires_at == consent_expiry(consent.given_at)
    for need in Need.objects.all():
        assert need.code in NEEDS_BY_CODE and NEEDS_BY_CODE[need.code].domain == need.domain
