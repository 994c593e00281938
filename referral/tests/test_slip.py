"""The referral slip: an A4 Korean PDF with where to go and what to bring, and nothing personal but the name."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from cases.models import PiiAccessLog
from centers.models import Center
from referral.tests.helpers import walk_to

pytestmark = pytest.mark.django_db

ADDRESS = "서울특별시 관악구 남부순환로 1820, 4층"
PHONE = "02-1397-0001"


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def referral(counselor, mf_counselor, django_capture_on_commit_callbacks):
    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    Center.objects.filter(pk=r.to_center_id).update(address=ADDRESS, phone=PHONE)
    return r


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    return "\n".join(page.extract_text() for page in reader.pages)


def test_slip_page_prints_where_to_go_and_what_to_bring_without_phone_or_birth_date(referral, counselor, web):
    resp = web(counselor).get(reverse("referral:slip", args=[referral.pk]))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    text = _text(resp.content)
    client = referral.client
    assert f"R{referral.pk}" in text and client.name in text
    assert ADDRESS in text and PHONE in text and referral.to_desk.name in text
    assert "부채증명서" in text  # debt adjustment's list of what to bring
    assert "월" in text and f"{referral.to_desk.opens_at:%H:%M}" in text
    assert client.phone not in text and client.phone.replace("-", "") not in text
    assert client.birth_date.strftime("%Y-%m-%d") not in text and "1985" not in text


def test_printing_writes_an_access_record_with_action_print(referral, mf_counselor, api_for):
    resp = api_for(mf_counselor).get(f"/api/v1/referrals/{referral.pk}/slip/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert ADDRESS in _text(resp.content)
    log = PiiAccessLog.objects.get(action="print")
    assert log.client_id == referral.client_id and log.user_id == mf_counselor.pk
    assert log.view == "api:referral-slip"


def test_another_center_gets_404_and_nothing_is_recorded(referral, make_staff, web, api_for):
    stranger = make_staff(center="EW-BUSAN-SAHA", username="busan")
    assert web(stranger).get(reverse("referral:slip", args=[referral.pk])).status_code == 404
    assert api_for(stranger).get(f"/api/v1/referrals/{referral.pk}/slip/").status_code == 404
    assert not PiiAccessLog.objects.filter(action="print").exists()


def test_referral_and_case_pages_offer_the_slip(referral, counselor, web):
    url = reverse("referral:slip", args=[referral.pk])
    c = web(counselor)
    assert f'href="{url}"' in c.get(reverse("referral:detail", args=[referral.pk])).content.decode()
    case_page = c.get(reverse("cases:case_detail", args=[referral.case_id])).content.decode()
    assert f'href="{url}"' in case_page and "안내문 출력" in case_page
