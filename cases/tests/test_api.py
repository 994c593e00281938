import datetime as dt

import pytest

from cases import services
from cases.models import Case, Client, Consent, PiiAccessLog
from cases.tests.factories import make_case, make_client, valid_rrn

BIRTH = dt.date(1990, 1, 1)
RRN = valid_rrn(BIRTH)


def test_register_client_answers_201_with_masked_rrn(counselor, api_for):
    r = api_for(counselor).post(
        "/api/v1/clients/",
        {"name": "김민준", "birth_date": "1990-01-01", "phone": "01012345678", "rrn": RRN, "region": "11"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["rrn"] == "900101-1******" and body["phone"] == "010-1234-5678" and body["region"] == "11"
    assert RRN not in r.content.decode() and RRN.replace("-", "") not in r.content.decode()


@pytest.mark.parametrize("stated", [{}, {"gender": None}, {"gender": ""}])
def test_a_gender_not_stated_answers_null_and_a_stated_one_its_code(counselor, api_for, stated):
    api = api_for(counselor)
    body = {"name": "이서연", "birth_date": "1990-01-01", "phone": "010-1234-0000", **stated}
    r = api.post("/api/v1/clients/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["gender"] is None
    assert api.get(f"/api/v1/clients/{r.json()['id']}/").json()["gender"] is None
    assert Client.objects.get(pk=r.json()["id"]).gender == ""
    r = api.post(
        "/api/v1/clients/",
        {"name": "박지훈", "birth_date": "1991-01-01", "phone": "010-1234-0001", "gender": "M"},
        format="json",
    )
    assert r.status_code == 201 and r.json()["gender"] == "M"


def test_duplicate_registration_answers_409_with_existing_id(counselor, api_for):
    first = make_client(counselor, name="김민준", birth_date=BIRTH, phone="010-1234-5678")
    r = api_for(counselor).post(
        "/api/v1/clients/", {"name": "김민준", "birth_date": "1990-01-01", "phone": "010 1234 5678"}, format="json"
    )
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate_client" and r.json()["existing_id"] == first.pk
    assert Client.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"birth_date": "2099-01-01"}, "birth_date"),
        ({"birth_date": "1990-13-45"}, "birth_date"),
        ({"birth_date": 19900101}, "birth_date"),
        ({"phone": "12345"}, "phone"),
        ({"phone": ["010"]}, "phone"),
        ({"rrn": "900101-1234567"}, "rrn"),
        ({"rrn": "abc"}, "rrn"),
        ({"name": "가" * 300}, "name"),
        ({"name": None}, "name"),
        ({"gender": "Z"}, "gender"),
        ({"arrears_days": "many"}, "arrears_days"),
        ({"region": "ZZ"}, "region"),
    ],
)
def test_bad_client_payload_is_a_400_naming_the_field(counselor, api_for, payload, field):
    data = {"name": "김민준", "birth_date": "1990-01-01", "phone": "010-1234-5678", **payload}
    r = api_for(counselor).post("/api/v1/clients/", data, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()
    assert "1234567" not in r.content.decode()
    assert Client.objects.count() == 0


def test_non_json_body_is_a_400(counselor, api_for):
    r = api_for(counselor).post("/api/v1/clients/", "not json", content_type="application/json")
    assert r.status_code == 400


def test_client_detail_writes_exactly_one_access_log_row(counselor, api_for):
    client = make_client(counselor)
    r = api_for(counselor).get(f"/api/v1/clients/{client.pk}/", REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 200 and r.json()["name"] == client.name
    log = PiiAccessLog.objects.filter(action="read").get()
    assert (log.user, log.client, log.view, log.ip_address) == (counselor, client, "api:client_detail", "10.1.2.3")


def test_search_is_scoped_and_logs_each_client_shown(counselor, mf_counselor, api_for):
    mine = make_client(counselor, name="김민준", phone="010-1234-5678", birth_date=BIRTH)
    make_client(counselor, name="이서연", phone="010-2222-3333")
    make_client(mf_counselor, name="김민준", phone="010-1234-5678", birth_date=BIRTH)
    api = api_for(counselor)
    for q in ("김민준", "5678", "01012345678", "1990-01-01", "김민전"):
        before = PiiAccessLog.objects.count()  # the log is append-only: look at what this search added
        r = api.get("/api/v1/clients/", {"q": q})
        assert r.status_code == 200
        assert [c["id"] for c in r.json()["results"]] == [mine.pk], q
        added = PiiAccessLog.objects.order_by("seq")[before:]
        assert [row.client_id for row in added] == [mine.pk]


def test_another_centers_counselor_gets_404(counselor, mf_counselor, api_for):
    client = make_client(counselor)
    case = make_case(counselor, client)
    consent = services.consent_record(
        user=counselor, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )
    api = api_for(mf_counselor)
    assert api.get(f"/api/v1/clients/{client.pk}/").status_code == 404
    assert api.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert api.post(f"/api/v1/cases/{case.pk}/notes/", {"text": "x"}, format="json").status_code == 404
    assert api.post(f"/api/v1/cases/{case.pk}/close/", {}, format="json").status_code == 404
    assert api.post(f"/api/v1/consents/{consent.pk}/withdraw/").status_code == 404
    assert api.post(f"/api/v1/clients/{client.pk}/consents/", {}, format="json").status_code == 404
    r = api.post("/api/v1/cases/", {"client": client.pk, "channel": "walk_in"}, format="json")
    assert r.status_code == 400 and "client" in r.json()
    assert api.get("/api/v1/clients/").json()["count"] == 0
    assert api.get("/api/v1/cases/").json()["count"] == 0
    assert PiiAccessLog.objects.filter(action="read").count() == 0


@pytest.mark.parametrize("who", ["ministry_user", "admin_user_staff"])
def test_ministry_and_admin_get_403_on_every_personal_data_endpoint(request, counselor, api_for, who):
    client = make_client(counselor)
    case = make_case(counselor, client)
    consent = services.consent_record(user=counselor, client=client, purpose="collection", method="paper")
    api = api_for(request.getfixturevalue(who))
    calls = [
        ("get", "/api/v1/clients/", None),
        ("get", "/api/v1/clients/?q=김", None),
        ("post", "/api/v1/clients/", {"name": "a"}),
        ("get", f"/api/v1/clients/{client.pk}/", None),
        ("post", f"/api/v1/clients/{client.pk}/consents/", {}),
        ("post", f"/api/v1/consents/{consent.pk}/withdraw/", None),
        ("get", "/api/v1/cases/", None),
        ("post", "/api/v1/cases/", {}),
        ("get", f"/api/v1/cases/{case.pk}/", None),
        ("post", f"/api/v1/cases/{case.pk}/notes/", {"text": "x"}),
        ("post", f"/api/v1/cases/{case.pk}/close/", {}),
    ]
    for method, url, data in calls:
        r = getattr(api, method)(url, data, format="json")
        assert r.status_code == 403, (method, url, r.status_code)
        assert client.name not in r.content.decode()
    assert PiiAccessLog.objects.filter(action="read").count() == 0


def test_anonymous_gets_401(api_for):
    assert api_for(None).get("/api/v1/clients/").status_code == 401


def test_consent_and_withdrawal_through_the_api(counselor, manager, api_for):
    client = make_client(counselor)
    r = api_for(counselor).post(
        f"/api/v1/clients/{client.pk}/consents/",
        {"purpose": "referral", "organization_kinds": ["microfinance"], "method": "electronic"},
        format="json",
    )
    assert r.status_code == 201 and r.json()["organization_kinds"] == ["microfinance"]
    r2 = api_for(manager).post(f"/api/v1/consents/{r.json()['id']}/withdraw/")
    assert r2.status_code == 200 and r2.json()["withdrawn_by"] == manager.pk and r2.json()["withdrawn_at"]
    assert api_for(manager).post(f"/api/v1/consents/{r.json()['id']}/withdraw/").status_code == 409
    bad = api_for(counselor).post(
        f"/api/v1/clients/{client.pk}/consents/",
        {"purpose": "referral", "organization_kinds": ["bank"], "method": "paper"},
        format="json",
    )
    assert bad.status_code == 400 and "organization_kinds" in bad.json()
    assert Consent.objects.count() == 1


def test_case_lifecycle_through_the_api(counselor, api_for):
    client = make_client(counselor)
    api = api_for(counselor)
    r = api.post(
        "/api/v1/cases/",
        {
            "client": client.pk,
            "channel": "walk_in",
            "needs": [
                {"domain": "employment", "code": "job_search", "note": "물류"},
                {"domain": "finance", "code": "policy_loan"},
            ],
            "note": "첫 방문",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "open" and body["counselor"] == counselor.pk and body["center"] == client.center_id
    assert body["result"] is None  # an open case has no result yet: null, not ""
    assert {n["code"] for n in body["needs"]} == {"job_search", "policy_loan"} and body["opened_at"]
    cid = body["id"]
    assert api.post(f"/api/v1/cases/{cid}/notes/", {"text": "전화 상담"}, format="json").status_code == 201
    before = PiiAccessLog.objects.count()
    detail = api.get(f"/api/v1/cases/{cid}/")
    assert [n["text"] for n in detail.json()["notes"]] == ["전화 상담"]
    assert PiiAccessLog.objects.count() == before + 1
    closed = api.post(f"/api/v1/cases/{cid}/close/", {"result": "referred_only"}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["result"] == "referred_only"
    assert api.post(f"/api/v1/cases/{cid}/close/", {}, format="json").json()["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"needs": [{"domain": "employment", "code": "flying"}]}, "needs"),
        ({"needs": [{"domain": "mars", "code": "job_search"}]}, "needs"),
        ({"needs": "job_search"}, "needs"),
        ({"channel": "fax"}, "channel"),
        ({"note": "x" * 5000}, "note"),
        ({"client": "abc"}, "client"),
    ],
)
def test_bad_case_payload_is_a_400_naming_the_field(counselor, api_for, payload, field):
    client = make_client(counselor)
    data = {"client": client.pk, "channel": "walk_in", **payload}
    r = api_for(counselor).post("/api/v1/cases/", data, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()
    assert Case.objects.count() == 0


def test_case_list_filters_by_status_and_mine(counselor, manager, api_for):
    open_mine = make_case(counselor)
    closed_mine = make_case(counselor)
    services.case_close(user=counselor, case=closed_mine, result="resolved")
    theirs = make_case(manager)
    api = api_for(counselor)

    def ids(params):
        r = api.get("/api/v1/cases/", params)
        assert r.status_code == 200
        return {c["id"] for c in r.json()["results"]}

    assert ids({}) == {open_mine.pk, closed_mine.pk, theirs.pk}
    assert ids({"status": "open"}) == {open_mine.pk, theirs.pk}
    assert ids({"status": "open", "mine": "true"}) == {open_mine.pk}
    assert api.get("/api/v1/cases/", {"status": "weird"}).status_code == 400


def test_malformed_and_huge_ids_are_404(counselor, api_for):
    api = api_for(counselor)
    assert api.get("/api/v1/clients/abc/").status_code == 404
    assert api.get("/api/v1/clients/99999999999999999999999/").status_code == 404
    assert api.get("/api/v1/cases/99999999999999999999999/").status_code == 404


def test_openapi_schema_is_valid(counselor, api_for):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/clients/{id}/consents/" in schema["paths"]
    assert "/api/v1/consents/{id}/withdraw/" in schema["paths"]
    assert api_for(counselor).get("/api/schema/").status_code == 200
