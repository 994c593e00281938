import datetime as dt

import pytest

from centers.models import Desk
from referral import routing, services
from referral.models import EventKind, Notification, Referral
from referral.tests.helpers import send, walk_to

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SEOUL = dt.timezone(dt.timedelta(hours=9))


def test_finance_service_from_employment_welfare_center_goes_to_the_outreach_desk_in_the_building(
    counselor, django_capture_on_commit_callbacks
):
    r = send(counselor, "policy_microloan", capture=django_capture_on_commit_callbacks)
    assert r.to_desk.code == "EW-SEOUL-GWANAK-FIN-OUT"
    assert r.colocated is True
    route = r.events.get(kind=EventKind.ROUTE)
    assert route.data["reason"] == "colocated"
    assert route.data["chosen"] == r.to_desk_id
    assert route.data["candidates"][0]["desk_code"] == "EW-SEOUL-GWANAK-FIN-OUT"
    assert len(route.data["candidates"]) > 1  # the runners-up are kept to explain the choice


def test_service_the_building_lacks_goes_to_the_nearest_center(counselor, django_capture_on_commit_callbacks):
    r = send(counselor, "debt_adjustment", capture=django_capture_on_commit_callbacks)
    assert r.to_desk.code == "MF-SEOUL-GWANAK-FIN"
    assert r.colocated is False
    candidates = r.events.get(kind=EventKind.ROUTE).data["candidates"]
    distances = [c["distance_km"] for c in candidates]
    assert distances[0] < 1 and distances[0] == min(distances)


def test_a_full_desk_is_passed_over_while_another_has_room(counselor, django_capture_on_commit_callbacks):
    Desk.objects.filter(code="EW-SEOUL-GWANAK-FIN-OUT").update(capacity=1)
    first = send(counselor, "policy_microloan", capture=django_capture_on_commit_callbacks)
    assert first.to_desk.code == "EW-SEOUL-GWANAK-FIN-OUT"
    second = send(counselor, "policy_microloan", capture=django_capture_on_commit_callbacks)
    assert second.to_desk.code == "MF-SEOUL-GWANAK-FIN"
    data = second.events.get(kind=EventKind.ROUTE).data
    assert "EW-SEOUL-GWANAK-FIN-OUT" in data["full_desks"]
    assert data["reason"] == "others_full"


def test_a_desk_that_declined_is_never_chosen_again(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    declined = r.to_desk_id
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_decline(referral_id=r.pk, by=mf_counselor, reason="out_of_area")
    r.refresh_from_db()
    data = r.events.filter(kind=EventKind.ROUTE).last().data
    assert declined in data["excluded_desks"]
    assert declined not in [c["desk_id"] for c in data["candidates"]]
    assert r.to_desk_id != declined


def test_desks_the_consent_does_not_cover_are_not_candidates(counselor, django_capture_on_commit_callbacks):
    from referral.tests.factories import case_with_consent

    case = case_with_consent(counselor, kinds=["credit_recovery"])
    r = send(counselor, "debt_adjustment", case=case, capture=django_capture_on_commit_callbacks)
    assert r.to_desk.code == "CR-SEOUL-FIN"
    data = r.events.get(kind=EventKind.ROUTE).data
    assert data["reason"] == "only_candidate"


def _cand(code, lat, lon, days=(0, 1, 2, 3, 4), load=0, capacity=10, center=99):
    return routing.Candidate(
        desk_id=hash(code) % 1000,
        desk_code=code,
        desk_name=code,
        center_id=center,
        center_code=code,
        center_name=code,
        latitude=lat,
        longitude=lon,
        open_days=tuple(days),
        opens_at=dt.time(9),
        closes_at=dt.time(18),
        open_referrals=load,
        capacity=capacity,
    )


def test_urgent_referrals_weigh_the_next_opening_more_than_distance():
    # Monday 2026-07-06 08:00 Seoul. Near desk opens Wednesday; farther desk opens at 9 today.
    now = dt.datetime(2026, 7, 6, 8, 0, tzinfo=SEOUL)
    near = _cand("NEAR", 37.50, 126.95, days=(2,))
    far = _cand("FAR", 37.60, 126.95)  # about 11 km away
    args = {"from_center_id": 1, "from_lat": 37.50, "from_lon": 126.95, "now": now}
    assert routing.rank([near, far], priority="normal", **args)[0].desk_code == "NEAR"
    assert routing.rank([near, far], priority="urgent", **args)[0].desk_code == "FAR"


def test_ranking_is_deterministic_and_breaks_ties_by_desk_code():
    now = dt.datetime(2026, 7, 6, 10, 0, tzinfo=SEOUL)
    a, b = _cand("B-DESK", 37.5, 127.0), _cand("A-DESK", 37.5, 127.0)
    args = {"from_center_id": 1, "from_lat": 37.4, "from_lon": 127.0, "priority": "normal", "now": now}
    assert [s.desk_code for s in routing.rank([a, b], **args)] == ["A-DESK", "B-DESK"]
    assert routing.rank([b, a], **args) == routing.rank([a, b], **args)


def test_desk_closed_on_a_public_holiday_counts_hours_to_the_next_working_day():
    # Chuseok 2026: Thu 24 – Sat 26 September. At Wednesday 18:30 the next opening is Monday 28 at 9:00.
    now = dt.datetime(2026, 9, 23, 18, 30, tzinfo=SEOUL)
    hours = routing.hours_until_open(open_days=range(5), opens_at=dt.time(9), closes_at=dt.time(18), now=now)
    assert hours == pytest.approx(4 * 24 + 14.5)


def test_a_ranked_row_is_stored_with_every_field_of_the_row():
    from dataclasses import asdict

    ranked = routing.rank(
        [_cand("A", 37.5, 127.0, days=(1, 3), load=3), _cand("B", 37.6, 127.1, load=10)],
        from_center_id=1,
        from_lat=37.5,
        from_lon=127.0,
        priority="urgent",
        now=dt.datetime(2026, 3, 2, 20, 0, tzinfo=SEOUL),
    )
    assert [s.as_data() for s in ranked] == [asdict(s) for s in ranked]
    assert ranked[-1].as_data()["full"] is True and ranked[0].as_data()["hours_to_open"] > 0


# --- The batch pass (a partner batch's referrals, routed in one go). ---


def test_a_batch_pass_counts_the_load_it_assigns_as_it_goes(counselor):
    Desk.objects.filter(code="EW-SEOUL-GWANAK-FIN-OUT").update(capacity=2)
    refs = [send(counselor, "policy_microloan", route=False) for _ in range(3)]
    assert services.referrals_route(referral_ids=[r.pk for r in refs]) == 3
    desks = [r.to_desk.code for r in (Referral.objects.select_related("to_desk").get(pk=x.pk) for x in refs)]
    # The building's desk takes two, then is full: the third goes elsewhere, as one-at-a-time routing would.
    assert desks[:2] == ["EW-SEOUL-GWANAK-FIN-OUT", "EW-SEOUL-GWANAK-FIN-OUT"]
    assert desks[2] == "MF-SEOUL-GWANAK-FIN"
    third = Referral.objects.get(pk=refs[2].pk).events.get(kind=EventKind.ROUTE).data
    assert third["reason"] == "others_full" and "EW-SEOUL-GWANAK-FIN-OUT" in third["full_desks"]


def test_a_batch_pass_routes_as_one_at_a_time_would(counselor, django_capture_on_commit_callbacks):
    """Same inputs, same choice and the same explanation: the pass only reads the desks once."""
    Desk.objects.filter(code="EW-SEOUL-GWANAK-FIN-OUT").update(capacity=1)
    singly = [send(counselor, s, capture=django_capture_on_commit_callbacks) for s in ("policy_microloan",) * 2]
    expected = [(r.to_desk_id, r.events.get(kind=EventKind.ROUTE).data) for r in singly]
    Referral.objects.filter(pk__in=[r.pk for r in singly]).update(status="cancelled")  # free the desks again
    batch = [send(counselor, "policy_microloan", route=False) for _ in range(2)]
    services.referrals_route(referral_ids=[r.pk for r in batch])
    got = [
        (r.to_desk_id, r.events.get(kind=EventKind.ROUTE).data) for r in (Referral.objects.get(pk=x.pk) for x in batch)
    ]
    for (desk, data), (want_desk, want) in zip(got, expected, strict=True):
        assert desk == want_desk
        assert {k: v for k, v in data.items() if k != "candidates"} == {
            k: v for k, v in want.items() if k != "candidates"
        }
        assert [c["desk_code"] for c in data["candidates"]] == [c["desk_code"] for c in want["candidates"]]


def test_a_batch_pass_is_idempotent_and_tells_each_desk_once(counselor, mf_counselor):
    refs = [send(counselor, "debt_adjustment", route=False) for _ in range(3)]
    assert services.referrals_route(referral_ids=[r.pk for r in refs]) == 3
    assert services.referrals_route(referral_ids=[r.pk for r in refs]) == 0
    assert all(Referral.objects.get(pk=r.pk).events.filter(kind=EventKind.ROUTE).count() == 1 for r in refs)
    desk = Referral.objects.get(pk=refs[0].pk).to_desk_id
    per_user = list(Notification.objects.filter(kind="arrived").values_list("user_id", flat=True))
    assert mf_counselor.pk in per_user
    assert len(per_user) == len(set(per_user))  # one notification per person, not one per referral
    assert all("3" in n.message for n in Notification.objects.filter(kind="arrived"))
    assert {r.to_desk_id for r in Referral.objects.filter(pk__in=[r.pk for r in refs])} == {desk}


def test_a_desk_closure_counts_as_closed_in_the_next_opening():
    # Monday 6 July 2026 at 18:30: the next opening is Tuesday 9:00, unless the desk is closed on Tuesday.
    now = dt.datetime(2026, 7, 6, 18, 30, tzinfo=SEOUL)
    week = {"open_days": range(5), "opens_at": dt.time(9), "closes_at": dt.time(18), "now": now}
    assert routing.hours_until_open(**week) == pytest.approx(14.5)
    assert routing.hours_until_open(**week, closed_days={dt.date(2026, 7, 7)}) == pytest.approx(24 + 14.5)


def test_routing_reads_the_desks_closures_and_shows_the_later_opening(counselor, django_capture_on_commit_callbacks):
    import time_machine

    from centers.models import DeskClosure

    # Monday 6 July 2026, 18:30. The outreach desk opens on Tuesdays and Thursdays at 10:00; closed this Tuesday,
    # its next opening is Thursday.
    with time_machine.travel(dt.datetime(2026, 7, 6, 18, 30, tzinfo=SEOUL)):
        desk = Desk.objects.get(code="EW-SEOUL-GWANAK-FIN-OUT")
        DeskClosure.objects.create(desk=desk, date=dt.date(2026, 7, 7), reason="교육")
        r = send(counselor, "policy_microloan", route=False)
        found = {c.desk_code: c for c in routing.candidates_for(r, organization_kinds=["microfinance"], excluded=[])}
        assert found["EW-SEOUL-GWANAK-FIN-OUT"].closed_days == frozenset({dt.date(2026, 7, 7)})
        with django_capture_on_commit_callbacks(execute=True):
            services.referral_route(referral_id=r.pk)
        route = Referral.objects.get(pk=r.pk).events.get(kind=EventKind.ROUTE)
        rows = {c["desk_code"]: c for c in route.data["candidates"]}
        # Thursday 9 July 10:00 (the outreach desk opens at 10:00): 2 days and 15.5 hours away.
        assert rows["EW-SEOUL-GWANAK-FIN-OUT"]["hours_to_open"] == pytest.approx(2 * 24 + 15.5)
