"""The lifecycle table (referral/lifecycle.py) is the one statement of the lifecycle: labels, the service
check, the API's action endpoints and the pages' buttons all follow it; and the assignment rule."""

import inspect

import pytest
from django.urls import reverse

from core.errors import InvalidInput, PermissionDenied
from referral import lifecycle, services
from referral.api import ACTION_SERIALIZERS
from referral.models import Referral, ReferralEvent
from referral.tests.helpers import walk_to

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_status_and_action_labels_are_designs_korean_table():
    assert {
        (s, routed): lifecycle.status_label(s, routed)
        for s, routed in [
            ("requested", False),
            ("requested", True),
            ("accepted", True),
            ("in_progress", True),
            ("on_hold", True),
            ("completed", True),
            ("failed", True),
            ("rejected", True),
            ("cancelled", True),
        ]
    } == {
        ("requested", False): "배정 중",
        ("requested", True): "접수 대기",
        ("accepted", True): "접수",
        ("in_progress", True): "진행 중",
        ("on_hold", True): "보류",
        ("completed", True): "완료",
        ("failed", True): "연계 실패",
        ("rejected", True): "반려 종결",
        ("cancelled", True): "취소",
    }
    assert {a.code: str(a.label) for a in lifecycle.USER_ACTIONS} == {
        "accept": "접수",
        "decline": "반려",
        "assign": "담당자 지정",
        "start": "상담 시작",
        "hold": "보류",
        "resume": "재개",
        "complete": "완료 처리",
        "fail": "연계 실패 처리",
        "cancel": "의뢰 취소",
    }


@pytest.mark.parametrize("action", lifecycle.USER_ACTIONS, ids=lambda a: a.code)
def test_each_action_has_a_service_and_an_api_endpoint_taking_exactly_its_inputs(action, counselor, api_for):
    service = services._SERVICES[action.code]
    params = set(inspect.signature(service).parameters) - {"referral_id", "by"}
    assert params == set(action.input_names)
    assert list(ACTION_SERIALIZERS[action.code]().fields) == list(action.input_names)
    path = reverse(f"referral-{action.code}", args=[1])
    assert path == f"/api/v1/referrals/1/{action.code}/"
    # Generated, yet a real endpoint: an unknown referral is a 404 like any other.
    assert api_for(counselor).post(path, {}, format="json").status_code == 404


def test_the_api_refuses_what_the_table_refuses_with_409(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    r = walk_to("completed", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    resp = api_for(mf_counselor).post(f"/api/v1/referrals/{r.pk}/start/", {}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"
    assert "완료" in resp.json()["detail"] and "상담 시작" in resp.json()["detail"]


def test_cancel_never_accepts_the_consent_withdrawn_reason_from_people(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    resp = api_for(counselor).post(f"/api/v1/referrals/{r.pk}/cancel/", {"reason": "consent_withdrawn"}, format="json")
    assert resp.status_code == 400 and "reason" in resp.json()
    with pytest.raises(InvalidInput):
        services.referral_cancel(referral_id=r.pk, by=counselor, reason="consent_withdrawn")
    assert Referral.objects.get(pk=r.pk).status == "requested"


# --- The assignment rule: a counselor may assign only themselves, a manager any active staff. ---


def test_a_counselor_accepting_cannot_assign_a_colleague(
    counselor, mf_counselor, make_staff, api_for, django_capture_on_commit_callbacks
):
    colleague = make_staff(center="MF-SEOUL-GWANAK")
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    events = ReferralEvent.objects.filter(referral=r).count()
    with pytest.raises(PermissionDenied):
        services.referral_accept(referral_id=r.pk, by=mf_counselor, assigned_to=colleague.pk)
    resp = api_for(mf_counselor).post(f"/api/v1/referrals/{r.pk}/accept/", {"assigned_to": colleague.pk}, format="json")
    assert resp.status_code == 403
    r.refresh_from_db()
    assert (r.status, r.assigned_to_id) == ("requested", None)
    assert ReferralEvent.objects.filter(referral=r).count() == events

    # Naming themselves is allowed.
    resp = api_for(mf_counselor).post(
        f"/api/v1/referrals/{r.pk}/accept/", {"assigned_to": mf_counselor.pk}, format="json"
    )
    assert resp.status_code == 200 and resp.json()["assigned_to"] == mf_counselor.pk


def test_a_manager_accepting_may_assign_any_active_staff_of_the_receiving_center_only(
    counselor, mf_counselor, make_staff, api_for, django_capture_on_commit_callbacks
):
    manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    gone = make_staff(center="MF-SEOUL-GWANAK")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    for outsider in (gone, counselor):  # inactive, or staff of the sending center
        with pytest.raises(InvalidInput) as exc:
            services.referral_accept(referral_id=r.pk, by=manager, assigned_to=outsider.pk)
        assert exc.value.field == "assigned_to"
    resp = api_for(manager).post(f"/api/v1/referrals/{r.pk}/accept/", {"assigned_to": mf_counselor.pk}, format="json")
    assert resp.status_code == 200
    r.refresh_from_db()
    assert (r.status, r.assigned_to_id) == ("accepted", mf_counselor.pk)
    assert r.events.get(kind="accept").by_id == manager.pk


def test_a_counselor_cannot_reassign_to_a_colleague_but_a_manager_can(
    counselor, mf_counselor, make_staff, web_client, django_capture_on_commit_callbacks
):
    manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    colleague = make_staff(center="MF-SEOUL-GWANAK")
    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    url = reverse("referral:act", args=[r.pk, "assign"])
    assert web_client(mf_counselor).post(url, {"assigned_to": colleague.pk}).status_code == 403
    assert Referral.objects.get(pk=r.pk).assigned_to_id == mf_counselor.pk
    assert web_client(manager).post(url, {"assigned_to": colleague.pk}).status_code == 302
    assert Referral.objects.get(pk=r.pk).assigned_to_id == colleague.pk


# --- Pages: buttons from the table, htmx row swaps and polls ---


@pytest.fixture
def web_client(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_detail_page_offers_exactly_the_tables_actions_with_their_inputs(
    counselor, mf_counselor, web_client, django_capture_on_commit_callbacks
):
    r = walk_to("in_progress", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    html = web_client(mf_counselor).get(reverse("referral:detail", args=[r.pk])).content.decode()
    offered = {code for code in lifecycle.ACTIONS if f'data-action="{code}"' in html}
    assert offered == {"assign", "hold", "complete", "fail"}
    form = html.split(f'action="/referrals/{r.pk}/fail/"', 1)[1].split("</form>", 1)[0]
    assert '<option value="no_show">' in form and 'name="note"' in form


def test_an_htmx_accept_answers_with_the_row_alone(
    counselor, mf_counselor, web_client, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c = web_client(mf_counselor)
    resp = c.post(reverse("referral:act", args=[r.pk, "accept"]), {"next": "/referrals/"}, **HX)
    html = resp.content.decode()
    assert resp.status_code == 200 and html.lstrip().startswith("<tr") and "<html" not in html
    assert f'data-referral="{r.pk}"' in html and "접수 처리되었습니다" in html
    assert 'data-action="accept"' not in html and 'data-action="assign"' in html
    assert Referral.objects.get(pk=r.pk).status == "accepted"
    # Too late a second time: the row says why instead of a page-wide message.
    again = c.post(reverse("referral:act", args=[r.pk, "accept"]), **HX).content.decode()
    assert 'class="msg error"' in again and "할 수 없습니다" in again


def test_an_htmx_decline_that_sends_the_referral_elsewhere_removes_its_row(
    counselor, mf_counselor, web_client, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        resp = web_client(mf_counselor).post(
            reverse("referral:act", args=[r.pk, "decline"]), {"reason": "out_of_area"}, **HX
        )
    r.refresh_from_db()
    assert r.to_center_id != mf_counselor.staff.center_id
    assert resp.status_code == 200 and resp.content == b""


def test_the_queue_poll_answers_with_the_table_only(
    counselor, mf_counselor, web_client, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c = web_client(mf_counselor)
    page = c.get(reverse("referral:queue")).content.decode()
    assert 'id="queue-table"' in page and 'hx-trigger="every 5s"' in page
    polled = c.get(reverse("referral:queue"), HTTP_HX_TARGET="queue-table", **HX).content.decode()
    assert "<html" not in polled and 'id="queue-table"' in polled and f'data-referral="{r.pk}"' in polled
    sent = c.get(reverse("referral:outgoing"), HTTP_HX_TARGET="outgoing-table", **HX).content.decode()
    assert "<html" not in sent and 'id="outgoing-table"' in sent


def test_htmx_is_served_from_self_and_the_pages_have_no_inline_script(counselor, mf_counselor, web_client):
    c = web_client(mf_counselor)
    resp = c.get(reverse("referral:queue"))
    html = resp.content.decode()
    assert "script-src 'self'" in resp["Content-Security-Policy"]
    assert "unsafe-inline" not in resp["Content-Security-Policy"]
    scripts = html.split("<script")[1:]
    assert scripts and all(s.lstrip().startswith("src=") for s in scripts)
    assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html
    js = c.get("/static/htmx/htmx.min.js")
    assert js.status_code == 200 and b"htmx" in b"".join(js.streaming_content)
