import datetime as dt

import pytest
from django.db import connection
from django.urls import NoReverseMatch, reverse

from cases import services
from cases.models import Case, Client, Consent, PiiAccessLog
from cases.tests.factories import make_case, make_client, valid_rrn

BIRTH = dt.date(1988, 3, 14)


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def intake_post(**overrides):
    data = {
        "name": "김민준",
        "birth_date": "1988-03-14",
        "phone": "010-2345-6789",
        "rrn": valid_rrn(BIRTH),
        "income_band": "none",
        "employment_status": "unemployed",
        "debt_status": "arrears",
        "arrears_days": "45",
        "collection_consent": "on",
        "referral_kinds": ["microfinance", "local_government"],
        "consent_method": "paper",
        "channel": "walk_in",
        "needs": ["job_search", "debt_adjustment"],
        "note": "실직 후 연체",
    }
    data.update(overrides)
    return data


def test_intake_registers_client_consents_and_case_then_shows_suggestions(counselor, web):
    c = web(counselor)
    r = c.post(reverse("cases:intake"), intake_post())
    case = Case.objects.get()
    assert r.status_code == 302 and r.url == reverse("cases:case_detail", args=[case.pk])
    assert set(Consent.objects.values_list("purpose", flat=True)) == {"collection", "referral"}
    page = c.get(r.url).content.decode()
    assert "900314-1******" not in page  # masked prefix is the RRN's, shown as 880314-1******
    assert "880314-1******" in page
    assert 'data-service="debt_adjustment" data-rule="arrears_pre_workout"' in page
    assert "프리워크아웃" in page
    assert 'data-service="job_placement"' in page and 'data-service="emergency_welfare"' in page


def test_referral_form_is_rendered_only_when_the_referral_view_exists(counselor, web):
    case = make_case(counselor, needs=[{"domain": "employment", "code": "job_search"}])
    page = web(counselor).get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    try:
        url = reverse("referral:create_many")
    except NoReverseMatch:
        assert "referral-form" not in page
    else:
        assert f'action="{url}"' in page and 'name="service" value="job_placement"' in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"birth_date": "2999-01-01"}, "birth_date", "미래"),
        ({"birth_date": "1988-02-31"}, "birth_date", "날짜"),
        ({"phone": "010-12"}, "phone", "전화번호"),
        ({"rrn": "880314-1234567"}, "rrn", "주민등록번호"),
        ({"name": ""}, "name", "필수"),
        ({"note": "가" * 4001}, "note", "4000"),
        ({"needs": ["teleport"]}, "needs", "teleport"),
        ({"collection_consent": ""}, "collection_consent", "동의"),
        ({"arrears_days": "-1"}, "arrears_days", "0"),
    ],
)
def test_bad_intake_input_shows_a_korean_field_error_and_saves_nothing(counselor, web, overrides, field, message):
    r = web(counselor).post(reverse("cases:intake"), intake_post(**overrides))
    assert r.status_code == 400
    page = r.content.decode()
    assert f'data-field="{field}"' in page and message in page
    assert Client.objects.count() == 0 and Case.objects.count() == 0


def test_intake_for_a_registered_client_updates_its_facts_and_keeps_its_identity_and_region(counselor, web):
    client = make_client(counselor, name="이서연", birth_date=BIRTH, region="11", income_band="below_50")
    c = web(counselor)
    page = c.get(reverse("cases:intake"), {"client": client.pk}).content.decode()
    assert '<option value="11" selected>' in page  # the region select starts from the stored region
    r = c.post(
        reverse("cases:intake"),
        intake_post(client=str(client.pk), name="", phone="", rrn="", region="11", arrears_days="", debt_status="none"),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    client.refresh_from_db()
    assert (client.name, client.region.code, client.income_band, client.debt_status) == ("이서연", "11", "none", "none")
    assert Client.objects.count() == 1 and Case.objects.get().client == client


def test_intake_says_at_the_form_that_the_rrn_does_not_match_the_birth_date(counselor, web):
    r = web(counselor).post(reverse("cases:intake"), intake_post(rrn=valid_rrn(dt.date(1990, 1, 1))))
    assert r.status_code == 400
    page = r.content.decode()
    assert 'data-field="rrn"' in page and "생년월일" in page
    assert Client.objects.count() == 0


def test_duplicate_registration_offers_the_existing_client(counselor, web):
    existing = make_client(counselor, name="김민준", birth_date=BIRTH, phone="010-2345-6789")
    c = web(counselor)
    r = c.post(reverse("cases:intake"), intake_post(rrn=""))
    assert r.status_code == 409
    assert 'data-testid="duplicate"' in r.content.decode()
    assert f'name="client" value="{existing.pk}"' in r.content.decode()
    assert Client.objects.count() == 1
    r2 = c.post(reverse("cases:intake"), intake_post(rrn="", client=str(existing.pk)))
    assert r2.status_code == 302
    assert Case.objects.get().client == existing
    existing.refresh_from_db()
    assert existing.arrears_days == 45  # facts updated from this visit


@pytest.mark.sqlite
def test_search_shows_matches_and_logs_one_row_per_client_shown(counselor, web):
    a = make_client(counselor, name="김민준", birth_date=BIRTH)
    make_client(counselor, name="이서연")
    r = web(counselor).get(reverse("cases:intake"), {"q": "김민"})
    assert "김민준" in r.content.decode() and "이서연" not in r.content.decode()
    assert list(PiiAccessLog.objects.filter(action="read").values_list("client_id", "view")) == [
        (a.pk, "cases:client_search")
    ]


def test_the_htmx_search_answers_its_section_alone_and_a_history_restore_the_whole_page(
    counselor, web, django_assert_max_num_queries
):
    a = make_client(counselor, name="김민준", birth_date=BIRTH)
    make_client(counselor, name="이서연")
    c = web(counselor)
    c.get(reverse("cases:intake"))
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "client-search"}
    # The user, the two searches and the access record (chain lock, chain head, insert): no region list for an
    # intake form, no badge.
    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 5):
        r = c.get(reverse("cases:intake"), {"q": "김민"}, **htmx)
    body = r.content.decode()
    assert r.status_code == 200 and body.lstrip().startswith('<section class="card" id="client-search">')
    assert f"?client={a.pk}" in body and "이서연" not in body
    assert 'name="collection_consent"' not in body and "<html" not in body
    assert list(PiiAccessLog.objects.filter(action="read").values_list("client_id", "view")) == [
        (a.pk, "cases:client_search")
    ]
    # Back to an earlier search whose snapshot htmx no longer has: it asks for the page, and gets all of it.
    restore = c.get(
        reverse("cases:intake"), {"q": "김민"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert 'name="collection_consent"' in restore.content.decode() and "<html" in restore.content.decode()


@pytest.mark.sqlite
def test_typo_in_a_korean_name_still_finds_the_client(counselor, web):
    a = make_client(counselor, name="김민준")
    r = web(counselor).get(reverse("cases:intake"), {"q": "김민전"})
    assert f"?client={a.pk}" in r.content.decode()


def test_client_page_shows_identity_consents_cases_and_notes_and_logs_once(counselor, web):
    client = make_client(counselor, birth_date=dt.date(1990, 1, 1), rrn=valid_rrn(dt.date(1990, 1, 1)))
    services.consent_record(
        user=counselor, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )
    case = make_case(counselor, client)
    services.case_note_add(user=counselor, case=case, text="첫 상담 메모")
    r = web(counselor).get(reverse("cases:client_detail", args=[client.pk]), REMOTE_ADDR="192.0.2.9")
    page = r.content.decode()
    assert "900101-1******" in page and "첫 상담 메모" in page and "서민금융통합지원센터" in page
    log = PiiAccessLog.objects.filter(action="read").get()
    assert (log.client_id, log.view, log.ip_address, log.user) == (
        client.pk,
        "cases:client_detail",
        "192.0.2.9",
        counselor,
    )


def test_case_page_logs_exactly_one_row(counselor, web):
    case = make_case(counselor)
    web(counselor).get(reverse("cases:case_detail", args=[case.pk]))
    assert PiiAccessLog.objects.filter(client=case.client, view="cases:case_detail").count() == 1
    assert PiiAccessLog.objects.filter(action="read").count() == 1


def test_withdraw_button_withdraws_and_records_who(counselor, web):
    client = make_client(counselor)
    consent = services.consent_record(
        user=counselor, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )
    r = web(counselor).post(reverse("cases:consent_withdraw", args=[consent.pk]))
    assert r.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_by == counselor and consent.withdrawn_at is not None


def test_note_and_close_from_the_case_page(counselor, web):
    case = make_case(counselor)
    c = web(counselor)
    c.post(reverse("cases:case_note_add", args=[case.pk]), {"text": "전화 연결"})
    r = c.post(reverse("cases:case_close", args=[case.pk]), {"result": "resolved"}, follow=True)
    assert "종결" in r.content.decode()
    case.refresh_from_db()
    assert case.status == "closed" and case.notes.count() == 1
    r = c.post(reverse("cases:case_close", args=[case.pk]), {"result": "resolved"}, follow=True)
    assert "이미 종결된 사례" in r.content.decode()
    r = c.post(reverse("cases:case_note_add", args=[case.pk]), {"text": "x" * 5000}, follow=True)
    assert r.status_code == 200


def test_another_centers_counselor_gets_404_on_every_page(counselor, mf_counselor, web):
    client = make_client(counselor)
    case = make_case(counselor, client)
    consent = services.consent_record(user=counselor, client=client, purpose="collection", method="paper")
    c = web(mf_counselor)
    assert c.get(reverse("cases:client_detail", args=[client.pk])).status_code == 404
    assert c.get(reverse("cases:case_detail", args=[case.pk])).status_code == 404
    assert c.get(reverse("cases:intake"), {"client": client.pk}).status_code == 404
    assert c.post(reverse("cases:consent_withdraw", args=[consent.pk])).status_code == 404
    assert c.post(reverse("cases:case_close", args=[case.pk]), {"result": "resolved"}).status_code == 404
    assert f"?client={client.pk}" not in c.get(reverse("cases:intake"), {"q": client.name}).content.decode()
    assert PiiAccessLog.objects.filter(action="read").count() == 0


@pytest.mark.parametrize("who", ["ministry_user", "admin_user_staff"])
def test_ministry_and_admin_get_403_on_every_personal_data_page(request, counselor, web, who):
    client = make_client(counselor)
    case = make_case(counselor, client)
    c = web(request.getfixturevalue(who))
    for url in (
        reverse("cases:intake"),
        reverse("cases:case_list"),
        reverse("cases:client_detail", args=[client.pk]),
        reverse("cases:case_detail", args=[case.pk]),
    ):
        assert c.get(url).status_code == 403, url
    assert c.post(reverse("cases:intake"), intake_post()).status_code == 403
    assert PiiAccessLog.objects.filter(action="read").count() == 0


def test_anonymous_is_sent_to_login(client):
    r = client.get(reverse("cases:intake"))
    assert r.status_code == 302 and "/accounts/login/" in r.url


def test_case_list_filters_by_status_and_owner(counselor, manager, web):
    mine = make_case(counselor, note="내 사례")
    other = make_case(manager)
    closed = make_case(counselor)
    services.case_close(user=counselor, case=closed, result="resolved")
    c = web(counselor)
    page = c.get(reverse("cases:case_list")).content.decode()
    assert f"#{mine.pk}<" in page and f"#{other.pk}<" not in page and f"#{closed.pk}<" not in page
    page = c.get(reverse("cases:case_list"), {"status": "all", "mine": "0"}).content.decode()
    assert all(f"#{k.pk}<" in page for k in (mine, other, closed))


def test_case_list_query_count_does_not_grow_with_rows(counselor, web, django_assert_num_queries):
    for _ in range(3):
        make_case(counselor, needs=[{"code": "job_search"}, {"code": "policy_loan"}])
    c = web(counselor)
    c.get(reverse("cases:case_list"))  # warm the session
    # user with staff profile and center, count, cases, needs (the session was saved by the warm-up: within
    # a minute it is not saved again)
    with django_assert_num_queries(4) as ctx:
        c.get(reverse("cases:case_list"))
    for _ in range(5):
        make_case(counselor)
    with django_assert_num_queries(len(ctx.captured_queries)):
        c.get(reverse("cases:case_list"))


@pytest.mark.sqlite
def test_client_search_query_count_is_fixed(counselor, web, django_assert_num_queries):
    for i in range(4):
        make_client(counselor, name="김민준", phone=f"010-5555-{1000 + i}")
    c = web(counselor)
    c.get(reverse("cases:intake"), {"q": "김민준"})
    # user with staff and center, search, fuzzy names, access log (chain lock, chain head, insert), regions
    # (the region select); the session was saved by the request before. SQLite serializes writers itself: no
    # chain lock query.
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 6):
        r = c.get(reverse("cases:intake"), {"q": "김민준"})
    assert r.content.decode().count("?client=") == 4


def test_api_client_search_query_count_is_fixed(counselor, api_for, django_assert_num_queries):
    for i in range(4):
        make_client(counselor, name="김민준", phone=f"010-5555-{1000 + i}")
    api = api_for(counselor)
    # staff profile, search, access log (chain lock, chain head, insert)
    with django_assert_num_queries(5):
        r = api.get("/api/v1/clients/", {"q": "김민준"})
    assert r.json()["count"] == 4


def test_admin_can_search_the_access_log_but_not_change_it(counselor, admin_client):
    client = make_client(counselor)
    services.pii_access_log_write(user=counselor, clients=[client], view="cases:client_detail", ip_address="10.0.0.1")
    log = PiiAccessLog.objects.filter(action="read").get()
    r = admin_client.get("/admin/cases/piiaccesslog/", {"q": counselor.get_username()})
    assert r.status_code == 200 and "cases:client_detail" in r.content.decode()
    assert client.name not in r.content.decode()
    assert admin_client.get("/admin/cases/piiaccesslog/add/").status_code == 403
    assert admin_client.post(f"/admin/cases/piiaccesslog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(f"/admin/cases/piiaccesslog/{log.pk}/change/", {"view": "edited"})
    log.refresh_from_db()
    assert log.view == "cases:client_detail"
    assert "/admin/cases/client/" not in admin_client.get("/admin/").content.decode()


def test_demo_seed_is_idempotent(counselor):
    from demo.seed_cases import seed

    seed()
    seed()
    assert Client.objects.filter(center__code="EW-SEOUL-GWANAK").count() == 3
    assert Case.objects.count() == 3
