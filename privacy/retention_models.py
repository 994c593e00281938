"""Retention and destruction (Act §21, Decree §16), records kept under another law (Act §21③) and the
monthly access review (safeguard notice §8②). Imported by privacy.models.

The destruction ledger and a signed-off review are never edited: on PostgreSQL a trigger refuses UPDATE
and DELETE of a ledger row (migration 0002_retention), and of a review once it is signed off.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Client


class RecordType(models.TextChoices):
    """The record types of the retention policy (docs/privacy.md)."""

    IDENTITY = "identity", _("Identity and contact")
    RRN = "rrn", _("Resident registration number")
    CASE_NOTES = "case_notes", _("Case notes")
    NEEDS = "needs", _("Needs")
    CONSENTS = "consents", _("Consents")
    ACCESS_LOG = "access_log", _("Access log")


class DestructionGround(models.TextChoices):
    """Why a record became due (the legal basis of its destruction)."""

    RETENTION_ENDED = "retention_ended", _("Retention period ended (Act §21①)")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Collection consent withdrawn (Act §37①③)")
    ERASURE_REQUESTED = "erasure_requested", _("Erasure requested by the person (Act §36)")
    ACCESS_LOG_RETENTION = "access_log_retention", _("Access log kept 2 years (safeguard notice §8①)")


class DestructionMethod(models.TextChoices):
    DELETED = "deleted", _("Rows deleted")
    OVERWRITTEN = "overwritten", _("Identifying columns overwritten")


class KeepBasis(models.TextChoices):
    """Laws that oblige a center to keep a client's records past their retention (Act §21③)."""

    NATIONAL_BASIC_LIVING = "national_basic_living", _("National Basic Living Security Act (benefit records)")
    EMPLOYMENT_INSURANCE = "employment_insurance", _("Employment Insurance Act (benefit records)")
    MICROFINANCE_SUPPORT = "microfinance_support", _("Microfinance Support Act (loan records)")
    PUBLIC_RECORDS = "public_records", _("Public Records Management Act")
    LITIGATION = "litigation", _("Pending litigation or audit")


class RetentionHold(models.Model):
    """A client whose records another law requires the center to keep: skipped by destruction, with the basis."""

    client = models.OneToOneField(
        Client, on_delete=models.CASCADE, related_name="retention_hold", verbose_name=_("client")
    )
    basis = models.CharField(_("legal basis"), max_length=40, choices=KeepBasis.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    until = models.DateField(_("kept until"), null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("record kept under another law")
        verbose_name_plural = _("records kept under another law")

    def __str__(self) -> str:
        return f"{self.client_id}: {self.basis}"


class BatchStatus(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting approval")
    APPROVED = "approved", _("Approved, being destroyed")
    DESTROYED = "destroyed", _("Destroyed")


class DestructionBatch(models.Model):
    """What was due on a day, proposed by the nightly job; destroyed only once a privacy officer approves.

    At most one batch is open (proposed or approved) at a time: a database constraint holds it.
    """

    status = models.CharField(_("status"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.PROPOSED)
    # Null: proposed by the scheduled job (the system), which can never approve.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # Who ran it: the worker (host and process) that destroyed it; attempts counts resumptions.
    ran_by = models.CharField(_("run by"), max_length=100, blank=True)
    run_attempts = models.PositiveSmallIntegerField(default=0)
    destroyed_at = models.DateTimeField(_("destroyed at"), null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = _("destruction batch")
        verbose_name_plural = _("destruction batches")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status__in=["proposed", "approved"]),
                name="one_open_destruction_batch",
            )
        ]

    def __str__(self) -> str:
        return f"destruction #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (BatchStatus.PROPOSED, BatchStatus.APPROVED)


class ItemStatus(models.TextChoices):
    DUE = "due", _("To be destroyed")
    DESTROYED = "destroyed", _("Destroyed")
    SKIPPED = "skipped", _("Kept under another law")


class DestructionItem(models.Model):
    """One record type of one client in a batch: how many rows, why due, and what became of it."""

    batch = models.ForeignKey(DestructionBatch, on_delete=models.PROTECT, related_name="items")
    # The client row itself stays (anonymised) for the statistics; no constraint so nothing blocks it.
    client = models.ForeignKey(
        Client, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("client")
    )
    record_type = models.CharField(_("record type"), max_length=20, choices=RecordType.choices)
    ground = models.CharField(_("ground"), max_length=30, choices=DestructionGround.choices)
    due_on = models.DateField(_("due on"))
    rows = models.PositiveIntegerField(_("rows"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.DUE)
    keep_basis = models.CharField(_("kept under"), max_length=40, choices=KeepBasis.choices, blank=True)

    class Meta:
        ordering = ["client_id", "record_type"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "client", "record_type"], name="uniq_destruction_item"),
        ]
        indexes = [models.Index(fields=["client", "record_type", "status"], name="destruction_item_client")]

    def __str__(self) -> str:
        return f"{self.client_id}/{self.record_type}"


class DestructionRecord(models.Model):
    """The destruction ledger (Decree §16): one row per batch and record type (or per access-log purge).
    Never edited: a PostgreSQL trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(_("destroyed at"))
    batch = models.ForeignKey(DestructionBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    record_type = models.CharField(_("record type"), max_length=20, choices=RecordType.choices)
    clients = models.PositiveIntegerField(_("clients"), default=0)
    rows = models.PositiveIntegerField(_("how many"))
    ground = models.CharField(_("legal basis"), max_length=30, choices=DestructionGround.choices)
    method = models.CharField(_("method"), max_length=20, choices=DestructionMethod.choices)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    ran_by = models.CharField(_("run by"), max_length=100)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("destruction record")
        verbose_name_plural = _("destruction ledger")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.record_type} {self.rows}"


# --- The monthly access review ---------------------------------------------------------------------------


class FlagKind(models.TextChoices):
    MANY_READS = "many_reads", _("Reads far above the user's usual")
    OFF_HOURS = "off_hours", _("Reads outside office hours")
    MANY_CLIENTS = "many_clients", _("Many different clients in a short time")
    DOWNLOAD = "download", _("Download of personal data")


class AccessReview(models.Model):
    """One month's review of the access log; never changed once signed off (a trigger holds it)."""

    month = models.DateField(_("month"), unique=True, help_text="First day of the Asia/Seoul calendar month.")
    computed_at = models.DateTimeField(_("flags computed at"), null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed off by"),
    )
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    conclusion = models.TextField(_("conclusion"), blank=True, max_length=2000)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("access review")
        verbose_name_plural = _("access reviews")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class AccessFlag(models.Model):
    """One automatic finding of a month's review, with the log rows behind it (their seq numbers)."""

    review = models.ForeignKey(AccessReview, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(_("flag"), max_length=20, choices=FlagKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # What makes it a flag, e.g. "412 reads; usual 38 a month" (numbers only, never personal data).
    detail = models.CharField(_("detail"), max_length=300)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    rows = models.PositiveIntegerField(_("rows"), default=0)
    row_seqs = models.JSONField(default=list)
    note = models.TextField(_("reviewer's note"), blank=True, max_length=2000)
    noted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["kind", "user_id", "first_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "kind", "user", "first_at"], name="uniq_access_flag"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id}"
