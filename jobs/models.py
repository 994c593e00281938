"""Job postings, the employers behind them, screening results, reviewers' decisions and reports."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from centers.models import Center
from jobs import bizno


class Source(models.TextChoices):
    WORK24 = "work24", _("Work24")
    UPLOAD = "upload", _("Upload")
    MANUAL = "manual", _("Entered by hand")


class WageType(models.TextChoices):
    HOURLY = "hourly", _("Hourly")
    DAILY = "daily", _("Daily")
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Decision(models.TextChoices):
    FALSE_AD = "false_ad", _("False ad")
    HARMFUL = "harmful", _("Harmful ad")
    CLEARED = "cleared", _("Cleared")


# Decisions that put the employer on the suspect list.
SUSPECT_DECISIONS = frozenset({Decision.FALSE_AD, Decision.HARMFUL})


def validate_business_number(value: str) -> None:
    if value and not bizno.is_valid(value):
        raise ValidationError(
            _("%(value)s is not a valid business registration number (check digit)."), params={"value": value}
        )


class Employer(models.Model):
    # Ten digits without dashes; empty when the ad names no business number (itself a finding).
    business_number = models.CharField(
        _("business registration number"), max_length=10, blank=True, validators=[validate_business_number]
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    suspect = models.BooleanField(_("suspect workplace"), default=False)
    suspect_since = models.DateTimeField(_("suspect since"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_number"], condition=~models.Q(business_number=""), name="uniq_employer_bizno"
            )
        ]
        indexes = [models.Index(fields=["suspect"], name="employer_suspect")]
        verbose_name = _("employer")
        verbose_name_plural = _("employers")

    def __str__(self) -> str:
        return self.name or bizno.formatted(self.business_number) or f"#{self.pk}"

    @property
    def business_number_display(self) -> str:
        return bizno.formatted(self.business_number)


class SuspectStatusChange(models.Model):
    """Append-only history of an employer's suspect status, each change with its evidence."""

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="status_changes")
    suspect = models.BooleanField()
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    posting = models.ForeignKey("JobPosting", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    review = models.ForeignKey("Review", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(max_length=2000)
    # What the decision rested on: the posting's title, its findings with their quotes, the decision.
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("suspect status change")
        verbose_name_plural = _("suspect status changes")

    def __str__(self) -> str:
        return f"{self.employer_id}:{'suspect' if self.suspect else 'cleared'}"


class JobPosting(models.Model):
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    # Work24's wantedAuthNo (or the uploader's own key); empty for postings entered by hand.
    external_id = models.CharField(_("external id"), max_length=40, blank=True)
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, null=True, blank=True, related_name="postings", verbose_name=_("employer")
    )
    title = models.CharField(_("title"), max_length=300)
    content = models.TextField(_("content"), blank=True)
    wage_type = models.CharField(_("wage type"), max_length=10, choices=WageType.choices, blank=True)
    wage = models.PositiveBigIntegerField(_("wage (won)"), null=True, blank=True)
    hours_per_week = models.DecimalField(_("hours per week"), max_digits=4, decimal_places=1, null=True, blank=True)
    hourly_equivalent = models.DecimalField(
        _("hourly equivalent (won)"), max_digits=12, decimal_places=0, null=True, blank=True
    )
    region = models.CharField(_("region"), max_length=200, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    posted_on = models.DateField(_("posted on"), null=True, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    closes_when_filled = models.BooleanField(_("open until filled"), default=False)
    detail_url = models.URLField(_("detail link"), max_length=500, blank=True)
    # The answer as received, for a short while only (Work24 terms: a short-lived copy, not a mirror).
    raw_payload = models.TextField(blank=True)
    raw_payload_until = models.DateTimeField(null=True, blank=True)
    risk_level = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0)
    findings = models.JSONField(default=list, blank=True)
    # The learned second stage's probability that the ad is false or harmful, and the model that gave it
    # (null: no model was active when the posting was screened).
    model_probability = models.FloatField(_("model probability"), null=True, blank=True)
    model_version = models.ForeignKey(
        "ClassifierModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    screened_at = models.DateTimeField(null=True, blank=True)
    # The latest decision, kept on the row so lists filter and join it without a subquery.
    last_review = models.ForeignKey("Review", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~models.Q(external_id=""), name="uniq_posting_source_ext"
            )
        ]
        indexes = [
            models.Index(fields=["risk_level", "-created_at"], name="posting_risk_created"),
            models.Index(fields=["raw_payload_until"], name="posting_raw_until"),
        ]
        verbose_name = _("job posting")
        verbose_name_plural = _("job postings")

    def __str__(self) -> str:
        return self.title

    @property
    def is_work24(self) -> bool:
        return self.source == Source.WORK24


class Review(models.Model):
    """A reviewer's decision on a posting. Append-only: a new decision is a new row."""

    posting = models.ForeignKey(JobPosting, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    reason = models.TextField(_("reason"), max_length=2000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.posting_id}:{self.decision}"


class Report(models.Model):
    """A center's report of a posting, with the client's complaint in the client's words."""

    posting = models.ForeignKey(JobPosting, on_delete=models.PROTECT, related_name="reports")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500)
    complaint = models.TextField(_("client's complaint"), max_length=4000, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return f"{self.posting_id}:{self.reason[:30]}"


class JobExportLog(models.Model):
    """Each export of the suspect list (a provision to another body; the privacy ledger will take it over)."""

    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=500)
    rows = models.PositiveIntegerField()
    file_format = models.CharField(max_length=10, default="xlsx")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("suspect list export")
        verbose_name_plural = _("suspect list exports")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.rows}"


class ClassifierModel(models.Model):
    """A trained second-stage text classifier: learned only from reviewers' decisions, with its
    cross-validated figures. The pk is the model's version. One row at most is active."""

    trained_at = models.DateTimeField(_("trained at"))
    # None: the nightly task or the management command.
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    n_decisions = models.PositiveIntegerField(_("decisions learned from"))
    n_positive = models.PositiveIntegerField(_("false or harmful"))
    n_negative = models.PositiveIntegerField(_("cleared"))
    # The newest review it learned from: a later review is a new decision, so retraining is due.
    last_review_id = models.PositiveBigIntegerField()
    cv_folds = models.PositiveSmallIntegerField()
    cv_precision = models.FloatField(_("cross-validated precision"))
    cv_recall = models.FloatField(_("cross-validated recall"))
    # True/false positives/negatives of the cross-validated predictions at the threshold.
    cv_counts = models.JSONField(default=dict)
    threshold = models.FloatField(_("threshold"))
    features = models.CharField(max_length=200)
    sklearn_version = models.CharField(max_length=20)
    # The fitted scikit-learn pipeline (joblib), in the database so every node loads the same model.
    blob = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="uniq_active_classifier"),
            models.CheckConstraint(
                condition=models.Q(cv_precision__gte=0, cv_precision__lte=1, cv_recall__gte=0, cv_recall__lte=1),
                name="classifier_cv_in_unit_range",
            ),
        ]
        verbose_name = _("screening model")
        verbose_name_plural = _("screening models")

    def __str__(self) -> str:
        return f"v{self.pk}"

    @property
    def version(self) -> str:
        return f"v{self.pk}"
