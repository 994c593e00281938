"""The referral slip the client takes to the receiving desk: an A4 Korean PDF (WeasyPrint).

It carries no personal data beyond the client's name (DESIGN.md): no phone, birth date, RRN or notes.
"""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone, translation

from centers.models import staff_name
from core.workdays import SEOUL
from referral import services
from referral.models import Referral

_WEEKDAYS_KO = "월화수목금토일"
NO_APPOINTMENT = "예약 없음 – 창구에 전화 후 방문"


def korean_datetime(at: dt.datetime) -> str:
    """`2026년 12월 3일 (목) 오전 10:00` in Seoul time, whatever the UI language (the slip is Korean)."""
    local = at.astimezone(SEOUL)
    half = "오전" if local.hour < 12 else "오후"
    hour = local.hour % 12 or 12
    return f"{local.year}년 {local.month}월 {local.day}일 ({_WEEKDAYS_KO[local.weekday()]}) {half} {hour}:{local.minute:02d}"


def slip_filename(referral: Referral) -> str:
    return f"yeongye-referral-R{referral.pk}.pdf"


def slip_pdf(referral: Referral) -> bytes:
    """The slip as PDF bytes; the referral comes from selectors.referral_get_for_slip (relations joined)."""
    from weasyprint import HTML  # imported here: loading Pango costs ~0.3 s, only slips need it

    desk = referral.to_desk
    appointment = services.active_appointment(referral)
    # The slip is for the client and the receiving desk, both Korean, whatever the counselor's UI language.
    with translation.override("ko"):
        html = render_to_string(
            "referral/slip.html",
            {
                "r": referral,
                "desk": desk,
                "center": desk.center if desk is not None else None,
                "schedule": desk.schedule_display() if desk is not None else "",
                "bring": referral.service.bring_items,
                "sender": staff_name(referral.created_by),
                "printed_at": timezone.localtime(),
                "appointment": korean_datetime(appointment.start) if appointment is not None else NO_APPOINTMENT,
                "appointment_booked": appointment is not None,
            },
        )
    return HTML(string=html).write_pdf()
