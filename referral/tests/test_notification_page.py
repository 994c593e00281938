"""The notification page: viewing it changes nothing; marking read is a POST."""

import pytest

from referral.models import Notification


@pytest.fixture
def two_unread(counselor, manager):
    mine = [Notification.objects.create(user=counselor, kind="test", message=f"알림 {i}") for i in range(2)]
    theirs = Notification.objects.create(user=manager, kind="test", message="남의 알림")
    return mine, theirs


def test_viewing_notifications_leaves_them_unread(client, counselor, two_unread):
    client.force_login(counselor)
    for _ in range(2):
        response = client.get("/referrals/notifications/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count('class="card unread"') == 2 and "남의 알림" not in html
        assert 'data-action="mark-all-read"' in html
    assert Notification.objects.filter(read_at__isnull=True).count() == 3


def test_mark_all_read_button_marks_only_the_users_notifications(client, counselor, two_unread):
    mine, theirs = two_unread
    client.force_login(counselor)
    response = client.post("/referrals/notifications/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=counselor, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    html = client.get("/referrals/notifications/").content.decode()
    assert 'class="card unread"' not in html and 'data-action="mark-all-read"' not in html


def test_marking_one_notification_read_leaves_the_others(client, counselor, two_unread):
    mine, _theirs = two_unread
    client.force_login(counselor)
    client.post("/referrals/notifications/", {"id": str(mine[0].pk)})
    assert list(Notification.objects.filter(user=counselor, read_at__isnull=True)) == [mine[1]]
