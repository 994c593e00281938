from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jobs import services
from jobs.models import Employer, JobExportLog, Source
from jobs.tests.factories import OTHER_BIZNO, make_flagged_posting, make_posting

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_list_filters_by_risk_and_shows_the_nav_entry(admin_user_staff, counselor):
    ok = make_posting(admin_user_staff, title="평범한 물류 공고")
    bad = make_flagged_posting(admin_user_staff, title="위험한 재택 공고")
    html = client_for(counselor).get(reverse("jobs:posting_list"), {"risk": "high"}).content.decode()
    assert bad.title in html and ok.title not in html
    assert 'href="/jobs/"' in html  # the nav entry
    html = client_for(counselor).get(reverse("jobs:posting_list"), {"risk": "low"}).content.decode()
    assert ok.title in html and bad.title not in html


def test_the_list_page_reads_a_fixed_number_of_queries(admin_user_staff, ministry_user):
    for i in range(3):
        make_flagged_posting(admin_user_staff, title=f"공고 {i}", business_number=OTHER_BIZNO)
    c = client_for(ministry_user)
    c.get(reverse("jobs:posting_list"))
    with CaptureQueriesContext(connection) as few:
        c.get(reverse("jobs:posting_list"))
    for i in range(3, 12):
        make_posting(admin_user_staff, title=f"공고 {i}")
    with CaptureQueriesContext(connection) as many:
        c.get(reverse("jobs:posting_list"))
    assert len(many) == len(few) <= 10


def test_detail_marks_the_quoted_text_and_shows_the_basis(admin_user_staff, counselor):
    bad = make_flagged_posting(admin_user_staff)
    html = client_for(counselor).get(reverse("jobs:posting_detail", args=[bad.pk])).content.decode()
    assert "<mark" in html and "통장 사본" in html
    assert "직업안정법 시행령 §34 제1호" in html
    assert 'name="decision"' not in html  # counselors do not review
    assert f'action="/jobs/{bad.pk}/report/"' in html


def test_a_work24_posting_shows_the_credit_line_and_its_link(admin_user_staff, counselor):
    p = make_posting(
        admin_user_staff,
        source=Source.WORK24,
        external_id="K1",
        detail_url="https://www.work24.go.kr/wk/a/b/1500/empDetailAuthView.do?wantedAuthNo=K1",
    )
    for url in (reverse("jobs:posting_detail", args=[p.pk]), reverse("jobs:posting_list")):
        html = client_for(counselor).get(url).content.decode()
        assert "본 자료는 고용노동부 고용24(www.work24.go.kr)에서 제공된 정보" in html
        assert "wantedAuthNo=K1" in html


def test_a_reviewer_decides_on_the_page_and_the_employer_page_shows_the_history(admin_user_staff, ministry_user):
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    c = client_for(ministry_user)
    resp = c.post(reverse("jobs:posting_review", args=[bad.pk]), {"decision": "false_ad", "reason": "신분증 요구"})
    assert resp.status_code == 302
    employer = Employer.objects.get(business_number=OTHER_BIZNO)
    assert employer.suspect
    html = c.get(reverse("jobs:employer_detail", args=[employer.pk])).content.decode()
    assert "신분증 요구" in html and 'data-testid="suspect"' in html
    # An empty reason is refused with a message; nothing changes.
    resp = c.post(reverse("jobs:posting_review", args=[bad.pk]), {"decision": "cleared", "reason": ""}, follow=True)
    assert Employer.objects.get(pk=employer.pk).suspect
    assert "msg error" in resp.content.decode()


def test_suspect_page_is_for_reviewers_and_exports_by_post_with_a_reason(admin_user_staff, ministry_user, counselor):
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    services.posting_review(posting_id=bad.pk, by=ministry_user, decision="harmful", reason="확인")
    assert client_for(counselor).get(reverse("jobs:suspect_list")).status_code == 403
    c = client_for(ministry_user)
    assert "수상한상사" in c.get(reverse("jobs:suspect_list")).content.decode()
    assert c.post(reverse("jobs:suspect_export"), {"reason": ""}).status_code == 302
    assert JobExportLog.objects.count() == 0
    resp = c.post(reverse("jobs:suspect_export"), {"reason": "여가부 합동점검"})
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    assert JobExportLog.objects.get().reason == "여가부 합동점검"
    # The export is a provision to another body: one row of the provision ledger, with the reason as purpose.
    from privacy.requests_models import Provision

    provision = Provision.objects.get()
    assert "성평등가족부" in provision.recipient and "여가부 합동점검" in provision.purpose
    assert (provision.client_id, provision.provided_by_id) == (None, ministry_user.pk)
    assert "사업자등록번호" in provision.items


def test_the_check_page_marks_an_obfuscated_ad_and_stores_nothing(counselor):
    c = client_for(counselor)
    assert c.get(reverse("jobs:check")).status_code == 200
    resp = c.post(reverse("jobs:check"), {"title": "꿀 알 바", "content": "고.수.익 보장 <script>x</script>"})
    html = resp.content.decode()
    assert 'data-testid="check-result"' in html and "<mark" in html and "고.수.익" in html
    assert "<script>x</script>" not in html
    from jobs.models import JobPosting

    assert JobPosting.objects.count() == 0
