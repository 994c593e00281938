"""The referral page shows labels, never catalog codes (need, routing reason, outcome)."""

import pytest
from django.urls import reverse

from referral.lifecycle import reason_label
from referral.models import CancelReason, DeclineReason, FailReason
from referral.tests.helpers import send

pytestmark = pytest.mark.django_db


def test_every_coded_reason_has_a_korean_label():
    from django.utils import translation

    with translation.override("ko"):
        for choices in (DeclineReason, FailReason, CancelReason):
            for code in choices.values:
                assert reason_label(code) != code and reason_label(code).strip()
        for code in ("colocated", "only_candidate", "others_full", "best_score", "accept_overdue"):
            label = reason_label(code)
            assert label != code and not label.isascii(), code


def test_the_referral_page_shows_need_and_routing_labels_not_codes(
    counselor, mf_counselor, client, django_capture_on_commit_callbacks
):
    r = send(counselor, "debt_adjustment", capture=django_capture_on_commit_callbacks)
    client.force_login(mf_counselor)
    html = client.get(reverse("referral:detail", args=[r.pk]), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    event_reasons = [e.reason for e in r.events.all() if e.reason]
    assert event_reasons, "the route event carries a reason code"
    for code in event_reasons:
        assert f">{code}<" not in html and f"· {code}" not in html
    assert "debt_adjustment" not in html
