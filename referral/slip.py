"""The referral slip the client takes to the receiving desk: an A4 Korean PDF (WeasyPrint).

It carries no personal data beyond the client's name (DESIGN.md): no phone, birth date, RRN or notes.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from centers.models import staff_name
from referral.models import Referral


def slip_filename(referral: Referral) -> str:
    return f"yeongye-referral-R{referral.pk}.pdf"


def slip_pdf(referral: Referral) -> bytes:
    """The slip as PDF bytes; the referral comes from selectors.referral_get_for_slip (relations joined)."""
    from weasyprint import HTML  # imported here: loading Pango costs ~0.3 s, only slips need it

    desk = referral.to_desk
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
            },
        )
    return HTML(string=html).write_pdf()
