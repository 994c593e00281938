import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referral.models import Notification, Referral
from referral.tests.factories import case_with_consent
from referral.tests.helpers import walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_one_click_send_from_the_case_page_creates_and_returns_with_a_message(
    counselor, web, django_capture_on_commit_callbacks
):
    case = case_with_consent(counselor)
    with django_capture_on_commit_callbacks(execute=True):
        resp = web(counselor).post(
            reverse("referral:create"),
            {"case": case.pk, "service": "policy_microloan", "priority": "normal", "note": "", "next": "/cases/1/"},
            follow=False,
        )
    assert resp.status_code == 302 and resp["Location"] == "/cases/1/"
    assert Referral.objects.get().to_desk.code == "EW-SEOUL-GWANAK-FIN-OUT"
    page = web(counselor).get(reverse("referral:outgoing"))
    assert "보냈습니다" in page.content.decode()


def test_send_without_consent_shows_the_reason_and_an_offsite_next_is_ignored(counselor, web):
    case = case_with_consent(counselor, kinds=[])
    resp = web(counselor).post(
        reverse("referral:create"), {"case": case.pk, "service": "debt_adjustment", "next": "https://evil.example/"}
    )
    assert resp["Location"] == reverse("referral:outgoing")
    assert Referral.objects.count() == 0
    assert "동의" in web(counselor).get(resp["Location"]).content.decode()


def test_queue_shows_counts_filters_overdue_marks_and_korean_labels(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    a = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    walk_to("in_progress", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    Referral.objects.filter(pk=a.pk).update(accept_due_at=timezone.now() - dt.timedelta(hours=1))
    html = web(mf_counselor).get(reverse("referral:queue")).content.decode()
    assert 'data-status="requested">1<' in html and 'data-status="in_progress">1<' in html
    assert 'data-status="overdue">1<' in html
    assert "접수 대기" in html and "진행 중" in html and "반려" in html
    assert f'class="overdue" data-referral="{a.pk}"' in html
    only_overdue = web(mf_counselor).get(reverse("referral:queue"), {"overdue": "1"}).content.decode()
    assert only_overdue.count("data-referral=") == 1
    # Junk filters never break the page.
    assert (
        web(mf_counselor)
        .get(reverse("referral:queue"), {"desk": "x", "status": "zzz", "sort": "?", "page": "9"})
        .status_code
        == 200
    )


def test_queue_accept_and_decline_with_reason_from_the_row(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    a = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    b = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c = web(mf_counselor)
    c.post(reverse("referral:act", args=[a.pk, "accept"]), {"next": reverse("referral:queue")})
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("referral:act", args=[b.pk, "decline"]), {"reason": "out_of_area"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == "accepted" and a.assigned_to_id == mf_counselor.pk
    assert b.events.filter(kind="decline", reason="out_of_area").exists()


def test_bulk_assign_by_manager(counselor, mf_counselor, make_staff, web, django_capture_on_commit_callbacks):
    mgr = make_staff("center_manager", "MF-SEOUL-GWANAK")
    rs = [
        walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
        for _ in range(3)
    ]
    resp = web(mgr).post(
        reverse("referral:bulk_assign"), {"ids": [r.pk for r in rs], "assigned_to": mf_counselor.pk}, follow=True
    )
    assert "3건" in resp.content.decode()
    assert set(Referral.objects.values_list("assigned_to_id", flat=True)) == {mf_counselor.pk}


def test_illegal_action_on_the_page_is_a_message_not_a_500(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    resp = web(mf_counselor).post(reverse("referral:act", args=[r.pk, "complete"]), {"outcome": "x"}, follow=True)
    assert resp.status_code == 200
    assert "할 수 없습니다" in resp.content.decode()
    assert web(mf_counselor).post(reverse("referral:act", args=[r.pk, "explode"]), follow=True).status_code == 200


def test_detail_shows_why_this_desk_timeline_and_not_the_senders_case_notes(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    html = web(mf_counselor).get(reverse("referral:detail", args=[r.pk])).content.decode()
    assert "이 창구로 배정된 이유" in html and "관악서민금융통합지원센터" in html
    assert r.client.name in html and r.client.phone in html
    assert "보내는 센터 내부용" not in html  # the case note stays with the sending center
    assert 'data-action="start"' in html and 'data-action="accept"' not in html
    assert 'data-action="cancel"' not in html  # cancelling is the sender's
    sender_html = web(counselor).get(reverse("referral:detail", args=[r.pk])).content.decode()
    assert 'data-action="cancel"' in sender_html and 'data-action="start"' not in sender_html


def test_other_centers_get_404_and_ministry_403_on_pages(
    counselor, mf_counselor, make_staff, ministry_user, web, django_capture_on_commit_callbacks
):
    r = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    assert web(make_staff("counselor", "EW-BUSAN-SAHA")).get(reverse("referral:detail", args=[r.pk])).status_code == 404
    assert web(ministry_user).get(reverse("referral:queue")).status_code == 403


def test_notifications_page_lists_and_a_post_marks_read(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c = web(counselor)
    home = c.get(reverse("referral:outgoing")).content.decode()
    assert 'data-testid="unread-count">1<' in home
    html = c.get(reverse("referral:notifications")).content.decode()
    assert "접수되었습니다" in html
    # Reading the page changes nothing (a GET); the "mark all read" button (a POST) does.
    assert Notification.objects.filter(user=counselor, read_at__isnull=True).count() == 1
    c.post(reverse("referral:notifications"))
    assert not Notification.objects.filter(user=counselor, read_at__isnull=True).exists()
    assert 'data-testid="unread-count"' not in c.get(reverse("referral:outgoing")).content.decode()


@pytest.mark.parametrize("name", ["referral:queue", "referral:outgoing"])
def test_list_pages_query_count_is_pinned(name, counselor, mf_counselor, web, django_capture_on_commit_callbacks):
    user = mf_counselor if name == "referral:queue" else counselor
    c = web(user)
    walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c.get(reverse(name))
    with CaptureQueriesContext(connection) as one:
        assert c.get(reverse(name)).status_code == 200
    for state in ("accepted", "in_progress", "requested", "on_hold"):
        walk_to(state, sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    c.get(reverse(name))  # the new referrals notified the desk: its badge counts again once
    with CaptureQueriesContext(connection) as five:
        c.get(reverse(name))
    assert len(five) == len(one)
    # Three constant directory prefetches (service, sending and receiving center), the booked appointments'
    # prefetch and the counts split in two (see referral.selectors): fixed, not per row.
    assert len(one) <= 16


def test_queue_rows_offer_every_decline_reason_and_preselect_each_rows_assignee(
    counselor, mf_counselor, make_staff, web, django_capture_on_commit_callbacks
):
    from referral.models import DeclineReason

    colleague = make_staff(center=mf_counselor.staff.center)
    colleague.first_name = "<b>동료</b>"
    colleague.save()
    waiting = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    taken = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    Referral.objects.filter(pk=taken.pk).update(assigned_to=colleague)
    Referral.objects.filter(pk=waiting.pk).update(assigned_to=None)

    manager = make_staff("center_manager", "MF-SEOUL-GWANAK")

    html = web(manager).get(reverse("referral:queue")).content.decode()
    rows = {pk: html.split(f'data-referral="{pk}"', 1)[1].split("</tr>", 1)[0] for pk in (waiting.pk, taken.pk)}
    for value, _label in DeclineReason.choices:
        assert f'<option value="{value}">' in rows[waiting.pk]
    assert "decline" not in rows[taken.pk]  # only a waiting referral can be declined
    assert f'<option value="{colleague.pk}" selected>&lt;b&gt;동료&lt;/b&gt;</option>' in rows[taken.pk]
    assert f'<option value="{mf_counselor.pk}">' in rows[taken.pk]
    assert " selected" not in rows[waiting.pk]
    assert "<b>동료" not in html

    # A counselor may assign only themselves (the assignment rule), so that is all their rows offer.
    mine = web(mf_counselor).get(reverse("referral:queue")).content.decode()
    row = mine.split(f'data-referral="{taken.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'<option value="{mf_counselor.pk}">' in row and f'value="{colleague.pk}"' not in row


def test_sending_the_same_service_twice_from_the_page_links_the_existing_referral(
    counselor, web, django_capture_on_commit_callbacks
):
    case = case_with_consent(counselor)
    form = {"case": case.pk, "service": "policy_microloan", "priority": "normal", "note": ""}
    with django_capture_on_commit_callbacks(execute=True):
        web(counselor).post(reverse("referral:create"), form)
        page = web(counselor).post(reverse("referral:create"), form, follow=True)
    first = Referral.objects.get(case=case)
    html = page.content.decode()
    assert f'href="{reverse("referral:detail", args=[first.pk])}"' in html
    assert Referral.objects.filter(case=case).count() == 1
