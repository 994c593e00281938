"""The 열람 report (Act §35): everything held about the person, as a Korean A4 PDF (WeasyPrint).

Identity items (the RRN only as "held, encrypted" with its birth prefix), the purposes and the retention of
each record type, every consent with its history, cases with their needs, referrals with their desks, and every
provision to another organization. Printing it writes an access record (action `print`).
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from cases.models import Case, Client, Consent
from cases.needs import need_label
from privacy.requests_models import Provision, SubjectRequest
from privacy.retention import retention_policy

PURPOSES = [
    "고용·복지·금융 서비스 상담 및 욕구 사정",
    "다른 기관(고용·복지·금융)으로의 서비스 연계와 사후관리",
    "법령에 따른 통계 작성(개인을 알아볼 수 없는 형태)",
]


def report_filename(request: SubjectRequest) -> str:
    return f"yeongye-access-report-{request.pk}.pdf"


def access_report_pdf(request: SubjectRequest) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs ~0.3 s

    client = Client.objects.select_related("center", "region").get(pk=request.client_id)
    consents = Consent.objects.filter(client=client).order_by("given_at", "pk")
    cases = (
        Case.objects.filter(client=client)
        .prefetch_related("needs", "referrals__service", "referrals__to_desk__center")
        .order_by("opened_at", "pk")
    )
    provisions = Provision.objects.filter(client=client).order_by("at", "pk")
    with translation.override("ko"):
        case_rows = [
            {
                "case": case,
                "needs": [need_label(n.code) for n in case.needs.all()],
                "referrals": [
                    {
                        "r": r,
                        "service": r.service.name,
                        "desk": f"{r.to_desk.center.name} · {r.to_desk.name}" if r.to_desk else "",
                        "status": r.get_status_display(),
                    }
                    for r in sorted(case.referrals.all(), key=lambda r: (r.created_at, r.pk))
                ],
            }
            for case in cases
        ]
        html = render_to_string(
            "privacy/requests/access_report.html",
            {
                "req": request,
                "client": client,
                "consents": consents,
                "cases": case_rows,
                "provisions": provisions,
                "policy": retention_policy(),
                "purposes": PURPOSES,
                "printed_at": timezone.localtime(),
            },
        )
    return HTML(string=html).write_pdf()
