import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import PiiAccessLog
from referral.models import Referral
from referral.tests.factories import case_with_consent
from referral.tests.helpers import send, walk_to

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals/"


def test_post_creates_a_requested_referral_and_routes_it_after_commit(
    counselor, api_for, django_capture_on_commit_callbacks
):
    case = case_with_consent(counselor)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api_for(counselor).post(
            URL, {"case": case.pk, "service": "policy_microloan", "note": "햇살론 문의"}, format="json"
        )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "requested" and body["to_desk"] is None  # routing is asynchronous
    detail = api_for(counselor).get(f"{URL}{body['id']}/").json()
    assert detail["to_desk"] == "EW-SEOUL-GWANAK-FIN-OUT"
    assert detail["routing"]["reason"] == "colocated"
    assert detail["client"].keys() == {"id", "name", "phone"}
    assert [e["kind"] for e in detail["events"]] == ["create", "route"]


def test_post_without_consent_is_400_consent_required_and_nothing_saved(counselor, api_for):
    case = case_with_consent(counselor, kinds=[])
    resp = api_for(counselor).post(URL, {"case": case.pk, "service": "debt_adjustment"}, format="json")
    assert resp.status_code == 400
    assert resp.json()["code"] == "consent_required"
    assert Referral.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"case": "x", "service": "kesp"},
        {"case": 1, "service": ""},
        {"case": 10**12, "service": "kesp"},
        {"case": 1, "service": "kesp", "priority": "now"},
    ],
)
def test_bad_create_input_is_a_400_never_a_500(counselor, api_for, payload):
    resp = api_for(counselor).post(URL, payload, format="json")
    assert resp.status_code == 400


def test_actions_walk_the_lifecycle_and_an_illegal_one_is_409(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    mf = api_for(mf_counselor)
    assert mf.post(f"{URL}{r.pk}/start/").json()["code"] == "invalid_transition"
    assert mf.post(f"{URL}{r.pk}/start/").status_code == 409
    assert mf.post(f"{URL}{r.pk}/accept/", {}, format="json").json()["status"] == "accepted"
    assert mf.post(f"{URL}{r.pk}/accept/", {}, format="json").status_code == 409
    assert mf.post(f"{URL}{r.pk}/start/").json()["status"] == "in_progress"
    assert mf.post(f"{URL}{r.pk}/hold/").json()["status"] == "on_hold"
    assert mf.post(f"{URL}{r.pk}/resume/").json()["status"] == "in_progress"
    bad = mf.post(f"{URL}{r.pk}/complete/", {"outcome": "hired", "achieved": True}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()
    done = mf.post(
        f"{URL}{r.pk}/complete/",
        {"outcome": "workout_agreed", "achieved": True, "detail": {"loan_amount": 1000000}},
        format="json",
    ).json()
    assert (done["status"], done["outcome"], done["achieved"]) == ("completed", "workout_agreed", True)
    assert (
        api_for(counselor).post(f"{URL}{r.pk}/cancel/", {"reason": "client_request"}, format="json").status_code == 409
    )


def test_decline_needs_a_coded_reason(counselor, mf_counselor, api_for, django_capture_on_commit_callbacks):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    assert api_for(mf_counselor).post(f"{URL}{r.pk}/decline/", {"reason": "meh"}, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        resp = api_for(mf_counselor).post(f"{URL}{r.pk}/decline/", {"reason": "no_capacity"}, format="json")
    # The declining center no longer sees the referral once it was re-routed elsewhere, but the
    # action succeeded: 200 with the referral as the decline left it.
    assert resp.status_code == 200
    assert resp.json()["events"][-1]["kind"] in ("decline", "route")
    r.refresh_from_db()
    assert r.events.filter(kind="decline", reason="no_capacity").count() == 1


def test_scope_other_centers_get_404_and_ministry_403(
    counselor, mf_counselor, make_staff, ministry_user, api_for, django_capture_on_commit_callbacks
):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    stranger = make_staff("counselor", "EW-BUSAN-SAHA")
    assert api_for(stranger).get(f"{URL}{r.pk}/").status_code == 404
    assert api_for(stranger).post(f"{URL}{r.pk}/accept/", {}, format="json").status_code == 404
    assert api_for(ministry_user).get(f"{URL}{r.pk}/").status_code == 403
    assert api_for(ministry_user).get(URL).status_code == 403
    assert api_for(None).get(URL).status_code == 401
    assert api_for(counselor).get(f"{URL}abc/").status_code == 404


def test_detail_read_is_written_to_the_pii_access_log(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    api_for(mf_counselor).get(f"{URL}{r.pk}/")
    assert PiiAccessLog.objects.filter(user=mf_counselor, client_id=r.client_id).exists()


def test_list_boxes_and_filters(counselor, mf_counselor, api_for, django_capture_on_commit_callbacks):
    a = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    b = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    mf = api_for(mf_counselor)
    incoming = mf.get(URL, {"box": "incoming"}).json()
    assert {row["id"] for row in incoming["results"]} == {a.pk, b.pk}
    assert mf.get(URL, {"box": "outgoing"}).json()["count"] == 0
    assert [row["id"] for row in mf.get(URL, {"box": "incoming", "status": "accepted"}).json()["results"]] == [b.pk]
    assert [row["id"] for row in mf.get(URL, {"box": "incoming", "assigned": "mine"}).json()["results"]] == [b.pk]
    assert [row["id"] for row in mf.get(URL, {"box": "incoming", "assigned": "unassigned"}).json()["results"]] == [a.pk]
    assert mf.get(URL, {"box": "incoming", "overdue": "true"}).json()["count"] == 0
    assert mf.get(URL, {"box": "incoming", "service": "kesp"}).json()["count"] == 0
    assert mf.get(URL, {"box": "nonsense"}).status_code == 400
    assert api_for(counselor).get(URL, {"box": "outgoing"}).json()["count"] == 2


def test_list_query_count_does_not_grow_with_rows(counselor, mf_counselor, api_for, django_capture_on_commit_callbacks):
    mf = api_for(mf_counselor)
    walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as one:
        mf.get(URL, {"box": "incoming"})
    for _ in range(4):
        walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as five:
        assert mf.get(URL, {"box": "incoming"}).json()["count"] == 5
    # Includes three constant directory prefetches (service, sending and receiving center).
    assert len(five) == len(one) <= 9


def test_a_second_open_referral_of_the_case_for_the_same_service_is_409_with_the_existing_id(
    counselor, api_for, django_capture_on_commit_callbacks
):
    case = case_with_consent(counselor)
    api = api_for(counselor)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, {"case": case.pk, "service": "policy_microloan"}, format="json").json()
    again = api.post(URL, {"case": case.pk, "service": "policy_microloan"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_referral" and again.json()["existing_id"] == first["id"]
    assert Referral.objects.filter(case=case).count() == 1
    # Another service of the same case is fine, and so is the same one once the first is closed.
    assert api.post(URL, {"case": case.pk, "service": "credit_counseling"}, format="json").status_code == 201
    assert api.post(f"{URL}{first['id']}/cancel/", {"reason": "other"}, format="json").status_code == 200
    assert api.post(URL, {"case": case.pk, "service": "policy_microloan"}, format="json").status_code == 201
