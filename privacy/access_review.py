"""The monthly access review (safeguard notice §8②): automatic flags over the access log, computed on a
schedule; the privacy officer notes them and signs the month off; an alert when last month is unreviewed.

Flags of a month (thresholds in settings, ACCESS_REVIEW_*):
- many_reads: a user's rows this month above FACTOR × their monthly average over the three months before
  (and at least READS_MIN);
- off_hours: rows outside office hours (Asia/Seoul, weekdays START–END, Korean public holidays closed);
- many_clients: BURST_CLIENTS different clients within BURST_MINUTES;
- download: every download of personal data.
Each flag keeps the seq numbers of the log rows behind it (up to 1,000).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict, deque
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.models import AccessAction, PiiAccessLog
from centers.models import Role
from core.errors import InvalidInput, InvalidTransition, NotFound
from core.queueing import enqueue_on_commit
from privacy.officer import require_officer
from privacy.retention_models import AccessFlag, AccessReview, FlagKind

SEOUL = ZoneInfo("Asia/Seoul")
MAX_SEQS = 1000


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(month.year, month.month, 1, tzinfo=SEOUL)
    end_day = next_month(month)
    return start, dt.datetime(end_day.year, end_day.month, 1, tzinfo=SEOUL)


def is_office_hours(at: dt.datetime) -> bool:
    local = at.astimezone(SEOUL)
    start, end = settings.ACCESS_REVIEW_OFFICE_HOURS
    if local.weekday() >= 5 or local.date() in holidays.country_holidays("KR", years=local.year):
        return False
    return start <= local.hour < end


def _flag(
    review: AccessReview, kind: str, user_id: int, rows: list[tuple[dt.datetime, int]], detail: str
) -> AccessFlag:
    rows = sorted(rows)
    return AccessFlag(
        review=review,
        kind=kind,
        user_id=user_id,
        detail=detail[:300],
        first_at=rows[0][0],
        last_at=rows[-1][0],
        rows=len(rows),
        row_seqs=[seq for _at, seq in rows[:MAX_SEQS]],
    )


def _flags_for(review: AccessReview) -> list[AccessFlag]:
    start, end = _bounds(review.month)
    logs = PiiAccessLog.objects.filter(at__gte=start, at__lt=end)
    flags: list[AccessFlag] = []

    # Usual: the user's monthly average over the three months before.
    before_start = _bounds(previous_month(previous_month(previous_month(review.month))))[0]
    usual = Counter(
        dict(
            PiiAccessLog.objects.filter(at__gte=before_start, at__lt=start)
            .values_list("user_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
    )
    counts = dict(logs.values_list("user_id").annotate(n=Count("pk")).order_by())
    factor, minimum = settings.ACCESS_REVIEW_READS_FACTOR, settings.ACCESS_REVIEW_READS_MIN
    heavy = {u for u, n in counts.items() if n >= minimum and n > factor * (usual.get(u, 0) / 3)}

    burst_n, burst_window = (
        settings.ACCESS_REVIEW_BURST_CLIENTS,
        dt.timedelta(minutes=settings.ACCESS_REVIEW_BURST_MINUTES),
    )
    per_user: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    off_hours: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    window: deque[tuple[dt.datetime, int, int]] = deque()
    in_window: Counter[int] = Counter()
    current_user: int | None = None
    burst_until: dt.datetime | None = None

    rows = logs.order_by("user_id", "at", "seq").values_list("user_id", "at", "seq", "client_id", "action")
    for user_id, at, seq, client_id, action in rows.iterator(chunk_size=5000):
        if user_id != current_user:
            current_user, burst_until = user_id, None
            window.clear()
            in_window.clear()
        if user_id in heavy:
            per_user[user_id].append((at, seq))
        if not is_office_hours(at):
            off_hours[user_id].append((at, seq))
        if action == AccessAction.DOWNLOAD:
            flags.append(_flag(review, FlagKind.DOWNLOAD, user_id, [(at, seq)], _("A download of personal data")))
        # Many different clients in a short time: a sliding window of BURST_MINUTES.
        window.append((at, seq, client_id))
        in_window[client_id] += 1
        while window and window[0][0] < at - burst_window:
            _a, _s, old = window.popleft()
            in_window[old] -= 1
            if not in_window[old]:
                del in_window[old]
        if len(in_window) >= burst_n and (burst_until is None or at > burst_until):
            burst_rows = [(a, s) for a, s, _c in window]
            flags.append(
                _flag(
                    review,
                    FlagKind.MANY_CLIENTS,
                    user_id,
                    burst_rows,
                    _("%(n)s different clients within %(m)s minutes")
                    % {"n": len(in_window), "m": burst_window.seconds // 60},
                )
            )
            # One flag per burst: the next one starts after this window.
            burst_until = at + burst_window
            window.clear()
            in_window.clear()
    for user_id, found in per_user.items():
        flags.append(
            _flag(
                review,
                FlagKind.MANY_READS,
                user_id,
                found,
                _("%(n)s accesses this month; usual %(u)s a month")
                % {"n": counts[user_id], "u": round(usual.get(user_id, 0) / 3)},
            )
        )
    for user_id, found in off_hours.items():
        flags.append(
            _flag(
                review, FlagKind.OFF_HOURS, user_id, found, _("%(n)s accesses outside office hours") % {"n": len(found)}
            )
        )
    return flags


def review_compute(*, month: dt.date, now: dt.datetime | None = None) -> AccessReview:
    """(Re)compute a month's flags; a signed-off month is left as it was. Idempotent."""
    month = month_start(month)
    with transaction.atomic():
        review, _created = AccessReview.objects.get_or_create(month=month)
        review = AccessReview.objects.select_for_update().get(pk=review.pk)
        if review.signed_off_at is not None:
            return review
        notes = {(f.kind, f.user_id, f.first_at): (f.note, f.noted_by_id) for f in review.flags.exclude(note="")}
        review.flags.all().delete()
        flags = _flags_for(review)
        for f in flags:
            f.note, f.noted_by_id = notes.get((f.kind, f.user_id, f.first_at), ("", None))
        # Downloads of one user at the same instant are one flag.
        unique = {(f.kind, f.user_id, f.first_at): f for f in flags}
        AccessFlag.objects.bulk_create(list(unique.values()), batch_size=2000)
        review.computed_at = now or timezone.now()
        review.save(update_fields=["computed_at"])
    return review


def review_note(*, user: Any, flag_id: int, note: str) -> AccessFlag:
    require_officer(user)
    with transaction.atomic():
        flag = AccessFlag.objects.select_related("review").select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise NotFound(_("Not found."))
        if flag.review.signed_off_at is not None:
            raise InvalidTransition(_("This month is signed off; its review can no longer change."))
        flag.note, flag.noted_by = (note or "").strip()[:2000], user
        flag.save(update_fields=["note", "noted_by"])
    return flag


def review_signoff(*, user: Any, month: dt.date, conclusion: str) -> AccessReview:
    require_officer(user)
    month = month_start(month)
    today = timezone.localdate()
    if month >= month_start(today):
        raise InvalidInput(_("A month can be signed off once it is over."), field="month")
    review = review_compute(month=month)
    with transaction.atomic():
        review = AccessReview.objects.select_for_update().get(pk=review.pk)
        if review.signed_off_at is not None:
            raise InvalidTransition(_("This month is already signed off."))
        review.signed_off_by, review.signed_off_at = user, timezone.now()
        review.conclusion = (conclusion or "").strip()[:2000]
        review.save(update_fields=["signed_off_by", "signed_off_at", "conclusion"])
    return review


def review_alert_unreviewed(*, today: dt.date | None = None) -> int:
    """From ACCESS_REVIEW_DUE_DAY on, tell every privacy officer (once) that last month is not signed off."""
    from referral.models import Notification
    from referral.notifications import notifications_add, send_notification_email

    today = today or timezone.localdate()
    if today.day < settings.ACCESS_REVIEW_DUE_DAY:
        return 0
    month = previous_month(month_start(today))
    with transaction.atomic():
        review, _created = AccessReview.objects.get_or_create(month=month)
        review = AccessReview.objects.select_for_update().get(pk=review.pk)
        if review.signed_off_at is not None or review.alerted_at is not None:
            return 0
        officers = get_user_model().objects.filter(is_active=True, staff__role=Role.PRIVACY_OFFICER)
        with translation.override(settings.LANGUAGE_CODE):
            message = _("The access review of %(month)s is not signed off (due by the %(day)sth).") % {
                "month": f"{month:%Y-%m}",
                "day": settings.ACCESS_REVIEW_DUE_DAY,
            }
        rows = notifications_add(
            [Notification(user=u, kind="access_review_due", message=message[:300]) for u in officers]
        )
        for row in rows:
            enqueue_on_commit(send_notification_email, row.pk)
        review.alerted_at = timezone.now()
        review.save(update_fields=["alerted_at"])
    return len(rows)
