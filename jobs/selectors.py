"""Reads of the safe job market, scoped to the caller's role (DESIGN.md "Roles and data access")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from centers.selectors import actor_for
from core.errors import PermissionDenied
from jobs.models import (
    ClassifierModel,
    Employer,
    JobExportLog,
    JobPosting,
    Report,
    Review,
    RiskLevel,
    SuspectStatusChange,
)
from jobs.services import can_read, can_review

User = AbstractBaseUser | AnonymousUser


def _require_read(user: User) -> None:
    if not can_read(actor_for(user)):
        raise PermissionDenied(_("Job postings are for center staff, ministry reviewers and administrators."))


def postings_for(user: User) -> QuerySet[JobPosting]:
    """Every posting the caller may read. Postings are employers' ads, not personal data: every staff role
    with access sees all of them; the reports (client complaints) are read only through `reports_for`."""
    _require_read(user)
    return JobPosting.objects.select_related("employer", "last_review", "last_review__by")


@dataclass(frozen=True)
class PostingFilters:
    risk: str = ""
    review: str = ""  # "pending" | "decided"
    employer: str = ""  # employer id or business number
    q: str = ""


def posting_list(user: User, filters: PostingFilters) -> QuerySet[JobPosting]:
    qs = postings_for(user)
    if filters.risk in RiskLevel.values:
        qs = qs.filter(risk_level=filters.risk)
    if filters.review == "pending":
        qs = qs.filter(last_review__isnull=True)
    elif filters.review == "decided":
        qs = qs.filter(last_review__isnull=False)
    if filters.employer:
        digits = filters.employer.replace("-", "")
        if digits.isascii() and digits.isdigit() and len(digits) == 10:
            qs = qs.filter(employer__business_number=digits)
        elif filters.employer.isascii() and filters.employer.isdigit():
            qs = qs.filter(employer_id=int(filters.employer))
        else:
            qs = qs.filter(employer__name__icontains=filters.employer)
    if filters.q:
        qs = qs.filter(Q(title__icontains=filters.q) | Q(employer__name__icontains=filters.q))
    return qs.annotate(report_count=Count("reports")).order_by("-created_at", "-pk")


def employer_get_for_user(user: User, pk: int) -> Employer:
    _require_read(user)
    return Employer.objects.get(pk=pk)


def employer_history(employer: Employer) -> QuerySet[SuspectStatusChange]:
    return employer.status_changes.select_related("by").order_by("-at", "-pk")


def suspects_for(user: User) -> QuerySet[Employer]:
    if not can_review(actor_for(user)):
        raise PermissionDenied(_("The suspect workplace list is for ministry reviewers."))
    return (
        Employer.objects.filter(suspect=True)
        .annotate(
            posting_count=Count("postings", distinct=True),
            flagged_count=Count(
                "postings", filter=Q(postings__last_review__decision__in=["false_ad", "harmful"]), distinct=True
            ),
        )
        .order_by("-suspect_since", "pk")
    )


def reports_for(user: User, posting: JobPosting) -> QuerySet[Report]:
    """Reviewers read every report of a posting; center staff only their own center's."""
    actor = actor_for(user)
    qs = posting.reports.select_related("center").order_by("-at")
    if can_review(actor):
        return qs
    if actor.center_id is not None:
        return qs.filter(center_id=actor.center_id)
    return qs.none()


def exports_for(user: User) -> QuerySet[JobExportLog]:
    if not can_review(actor_for(user)):
        raise PermissionDenied(_("The suspect workplace list is for ministry reviewers."))
    return JobExportLog.objects.select_related("by")


def employer_risk_for_postings(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """For the referral placement tie-in: per posting id, its risk and its employer's suspect status.

    Postings that do not exist are left out. One query.
    """
    rows = JobPosting.objects.filter(pk__in=list(ids)).values(
        "pk",
        "risk_level",
        "risk_score",
        "employer_id",
        "employer__name",
        "employer__business_number",
        "employer__suspect",
        "last_review__decision",
    )
    return {
        r["pk"]: {
            "risk_level": r["risk_level"],
            "risk_score": r["risk_score"],
            "decision": r["last_review__decision"],
            "employer_id": r["employer_id"],
            "employer_name": r["employer__name"] or "",
            "business_number": r["employer__business_number"] or "",
            "suspect": bool(r["employer__suspect"]),
            "flagged": r["risk_level"] == RiskLevel.HIGH
            or bool(r["employer__suspect"])
            or r["last_review__decision"] in ("false_ad", "harmful"),
        }
        for r in rows
    }


def postings_latest_low_risk(user: User, *, limit: int = 10) -> list[JobPosting]:
    """The newest postings rated low whose employer is not on the suspect list (offered on a referral's page)."""
    return list(
        postings_for(user)
        .filter(risk_level=RiskLevel.LOW)
        .filter(Q(employer__isnull=True) | Q(employer__suspect=False))
        .order_by("-created_at", "-pk")[:limit]
    )


def require_screening(user: User) -> None:
    """Checking an ad by hand: any staff role that reads postings."""
    _require_read(user)


def _require_review(user: User) -> None:
    if not can_review(actor_for(user)):
        raise PermissionDenied(_("The review queue is for job-ad reviewers (ministry staff)."))


def review_queue(user: User) -> QuerySet[JobPosting]:
    """Postings waiting for a reviewer: not yet decided, and flagged (medium or high, by a rule or by the
    model) or reported by a center. Highest score first."""
    _require_review(user)
    return (
        JobPosting.objects.select_related("employer")
        .filter(last_review__isnull=True)
        .annotate(report_count=Count("reports"))
        .filter(Q(risk_level__in=[RiskLevel.MEDIUM, RiskLevel.HIGH]) | Q(report_count__gt=0))
        .order_by("-risk_score", "-created_at", "-pk")
    )


@dataclass(frozen=True)
class ClassifierStatus:
    """What reviewers are told about the learned second stage."""

    active: ClassifierModel | None
    history: list[ClassifierModel] = field(default_factory=list)
    decisions: int = 0  # decided postings now (what the next training would learn from)
    new_decisions: int = 0  # decisions since the active model was trained
    minimum: int = 0
    folds: int = 0

    @property
    def missing(self) -> int:
        return max(0, self.minimum - self.decisions)


def classifier_status_for(user: User) -> ClassifierStatus:
    _require_review(user)
    history = list(ClassifierModel.objects.defer("blob").select_related("trained_by").order_by("-pk")[:5])
    active = next((m for m in history if m.active), None)
    if active is None:
        active = ClassifierModel.objects.defer("blob").filter(active=True).first()
    decisions = JobPosting.objects.filter(last_review__isnull=False).count()
    new = Review.objects.filter(pk__gt=active.last_review_id).count() if active else 0
    return ClassifierStatus(
        active=active,
        history=history,
        decisions=decisions,
        new_decisions=new,
        minimum=settings.JOBS_CLASSIFIER_MIN_DECISIONS,
        folds=settings.JOBS_CLASSIFIER_FOLDS,
    )
