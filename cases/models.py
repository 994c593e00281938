"""Clients (personal data), consent, cases opened at intake, needs, notes and the PII access log."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Replace, Right
from django.utils.translation import gettext_lazy as _

from centers.models import Center, Domain, Region


class Gender(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Other / not stated")


class IncomeBand(models.TextChoices):
    NONE = "none", _("No income")
    # xgettext:no-python-format
    BELOW_50 = "below_50", _("Up to 50% of median income")
    # xgettext:no-python-format
    BELOW_60 = "below_60", _("50–60% of median income")
    # xgettext:no-python-format
    BELOW_100 = "below_100", _("60–100% of median income")
    ABOVE_100 = "above_100", _("Above median income")
    UNKNOWN = "unknown", _("Unknown")


class EmploymentStatus(models.TextChoices):
    UNEMPLOYED = "unemployed", _("Unemployed")
    IRREGULAR = "irregular", _("Irregular / unstable work")
    EMPLOYED = "employed", _("Employed")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    NOT_IN_LABOR_FORCE = "not_in_labor_force", _("Not in the labor force")
    UNKNOWN = "unknown", _("Unknown")


class DebtStatus(models.TextChoices):
    NONE = "none", _("No debt problem")
    REPAYING = "repaying", _("Repaying, at risk")
    ARREARS = "arrears", _("In arrears")
    UNKNOWN = "unknown", _("Unknown")


# What a destroyed client's name is overwritten with (privacy.destruction); such a client is never served again.
DESTROYED_NAME = "파기됨"


class ProcessingStop(models.TextChoices):
    """Why nothing new may be done for a client (cases.services.client_processing_check reads it off the row).
    Kept on the client so the check costs no query: set when the latest collection consent is withdrawn
    (a new one lifts it), when the person asks to stop the processing (PIPA §37) and when the records are
    destroyed (never lifted)."""

    NONE = "", _("Not stopped")
    WITHDRAWN = "withdrawn", _("Collection consent withdrawn")
    SUSPENDED = "suspended", _("Processing suspended at the person's request")
    DESTROYED = "destroyed", _("Records destroyed")


class Client(models.Model):
    """A person served by a center. Minimal by design; the RRN is only stored encrypted."""

    # center_id leads every index below, so no separate FK index.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="clients", verbose_name=_("center"), db_index=False
    )
    name = models.CharField(_("name"), max_length=50)
    birth_date = models.DateField(_("birth date"))
    phone = models.CharField(_("phone"), max_length=20)
    # What counselors ask for ("the number ending 5678"), kept by the database for an index.
    phone_last4 = models.GeneratedField(
        expression=Right(Replace("phone", Value("-"), Value("")), 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
    )
    # Authenticated encryption (AES-GCM) of the RRN, with the id of the key that sealed it.
    rrn_ciphertext = models.BinaryField(_("RRN (encrypted)"), null=True, blank=True, editable=False)
    # Keyed hash (HMAC-SHA256) for lookups: the blind index.
    rrn_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # The non-secret part shown on screen, e.g. "900101-1".
    rrn_prefix = models.CharField(max_length=8, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("region"))
    household_size = models.PositiveSmallIntegerField(_("household size"), null=True, blank=True)
    income_band = models.CharField(_("income"), max_length=20, choices=IncomeBand.choices, default=IncomeBand.UNKNOWN)
    employment_status = models.CharField(
        _("employment status"), max_length=20, choices=EmploymentStatus.choices, default=EmploymentStatus.UNKNOWN
    )
    debt_status = models.CharField(
        _("debt status"), max_length=20, choices=DebtStatus.choices, default=DebtStatus.UNKNOWN
    )
    arrears_days = models.PositiveIntegerField(_("days in arrears"), null=True, blank=True)
    processing_stopped = models.CharField(
        _("processing stopped"), max_length=10, choices=ProcessingStop.choices, blank=True, default="", editable=False
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        indexes = [
            models.Index(fields=["center", "name"], name="client_center_name"),
            models.Index(fields=["center", "phone"], name="client_center_phone"),
            models.Index(fields=["center", "phone_last4"], name="client_center_phone_last4"),
            models.Index(fields=["center", "birth_date"], name="client_center_birth"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["center", "rrn_hash"], name="uniq_client_rrn_per_center"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.pk})"

    @property
    def rrn_masked(self) -> str:
        return f"{self.rrn_prefix}******" if self.rrn_prefix else ""


class ConsentPurpose(models.TextChoices):
    COLLECTION = "collection", _("Collection and use")
    REFERRAL = "referral", _("Provision to third parties for referral")


class ConsentMethod(models.TextChoices):
    PAPER = "paper", _("Paper")
    ELECTRONIC = "electronic", _("Electronic")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def valid_at(self, now: dt.datetime) -> ConsentQuerySet:
        """The database statement of `Consent.is_valid_at` (a test holds the two equal)."""
        return self.filter(withdrawn_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class Consent(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents", verbose_name=_("client"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    # Organization kinds (CenterKind values) the client agreed to have data provided to.
    organization_kinds = models.JSONField(_("recipient organization kinds"), default=list, blank=True)
    method = models.CharField(_("method"), max_length=20, choices=ConsentMethod.choices)
    notice_version = models.CharField(_("notice version"), max_length=20, default="2026-1")
    given_at = models.DateTimeField(_("given at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.client_id})"

    def is_valid_at(self, now: dt.datetime) -> bool:
        """The one consent-validity rule: not withdrawn and not expired at `now`."""
        return self.withdrawn_at is None and (self.expires_at is None or self.expires_at > now)

    def covers(self, organization_kind: str, now: dt.datetime | None = None) -> bool:
        """Does this consent allow providing the client's data to an organization of this kind, now?"""
        return (
            self.purpose == ConsentPurpose.REFERRAL
            and organization_kind in (self.organization_kinds or [])
            and (now is None or self.is_valid_at(now))
        )

    @property
    def organization_kinds_display(self) -> str:
        from centers.models import CenterKind

        labels = dict(CenterKind.choices)
        return ", ".join(str(labels.get(k, k)) for k in self.organization_kinds)


class Channel(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    PHONE = "phone", _("Phone")
    ONLINE = "online", _("Online")
    OUTREACH = "outreach", _("Outreach")
    PARTNER = "partner", _("Partner referral")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseResult(models.TextChoices):
    RESOLVED = "resolved", _("Needs met")
    PARTIALLY = "partially", _("Partly met")
    REFERRED_ONLY = "referred_only", _("Referred, follow-up elsewhere")
    WITHDREW = "withdrew", _("Client withdrew")
    UNREACHABLE = "unreachable", _("Could not reach client")


class Case(models.Model):
    """One episode of a client at a center, opened at intake."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases", verbose_name=_("client"))
    # center_id and counselor_id lead the composite indexes below: no separate FK indexes.
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, related_name="cases", verbose_name=_("center"), db_index=False
    )
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("counselor"),
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    note = models.TextField(_("note"), blank=True, max_length=4000)
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("result"), max_length=20, choices=CaseResult.choices, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["center", "status", "-opened_at"], name="case_center_status_opened"),
            models.Index(fields=["counselor", "status", "-opened_at"], name="case_counselor_status_opened"),
            models.Index(fields=["opened_at"], name="case_opened_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class Need(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="needs")
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    code = models.CharField(_("need"), max_length=40)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "code"], name="uniq_need_per_case")]

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        from cases.needs import need_label

        return need_label(self.code)


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("text"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class AccessAction(models.TextChoices):
    """What was done with the personal data (safeguard notice §8①: 조회·입력·변경·삭제·출력·다운로드)."""

    READ = "read", _("Read")
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    PRINT = "print", _("Print")
    DOWNLOAD = "download", _("Download")


class PiiAccessLog(models.Model):
    """Who did what with whose personal data, when, where from.

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE except the retention purge (migration
    0003). Tamper-evident: rows are numbered by `seq` and each carries `row_hash`, a keyed hash of its own
    content and of the previous row's hash (cases.access_log). `client_id` keeps no foreign key, so a
    destroyed client's log stays (it holds only the id).
    """

    at = models.DateTimeField(_("at"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("client"),
    )
    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices, default=AccessAction.READ)
    view = models.CharField(_("screen or endpoint"), max_length=100)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    seq = models.BigIntegerField(_("sequence"), unique=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        indexes = [
            models.Index(fields=["client", "-at"], name="pii_log_client_at"),
            models.Index(fields=["user", "-at"], name="pii_log_user_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M} · {self.get_action_display()} · {self.client_id}"


# --- Partner referrals in bulk ---------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("Validating")
    READY = "ready", _("Ready for approval")
    INVALID = "invalid", _("Has errors")
    APPROVED = "approved", _("Approved")
    APPLYING = "applying", _("Applying")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class ImportBatch(models.Model):
    """A partner's list of people to refer: checked, previewed, approved by a second person, applied whole.

    The uploaded file itself is never stored (it holds RRNs in plaintext): only its hash, to answer
    the same file again with this batch, and the rows parsed from it (RRNs sealed as on Client).
    """

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("center"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    file_format = models.CharField(max_length=8)
    content_hash = models.CharField(max_length=64)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    matched_rows = models.PositiveIntegerField(_("matched clients"), default=0)
    # Rows checked (while validating) or written (while applying), for the progress bar.
    processed_rows = models.PositiveIntegerField(default=0)
    # [{"row", "field", "message"}] in Korean; the values themselves are never echoed.
    errors = models.JSONField(default=list, blank=True)
    failure = models.CharField(_("failure"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # Set when a worker claims the batch; a batch `applying` long past this is resumed by the sweeper.
    apply_started_at = models.DateTimeField(null=True, blank=True)
    apply_attempts = models.PositiveSmallIntegerField(default=0)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        constraints = [
            models.UniqueConstraint(fields=["center", "content_hash"], name="uniq_import_batch_file_per_center"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="import_batch_status_updated")]

    def __str__(self) -> str:
        return f"import #{self.pk}"

    @property
    def error_count(self) -> int:
        return len(self.errors or [])

    @property
    def new_rows(self) -> int:
        return self.valid_rows - self.matched_rows if self.status != ImportStatus.INVALID else 0


class ImportRow(models.Model):
    """One person of a batch: the cells as read, then (once valid) the checked values and, applied, the outcome."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # the row as the partner sees it (spreadsheet row, or 1-based JSON index)
    # The cells as read, except the RRN (sealed below); replaced by the checked values once validated.
    data = models.JSONField(default=dict)
    rrn_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    matched_client = models.ForeignKey(Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # referral.Referral's id: the referral app is above this one, so no foreign key from here.
    referral_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="uniq_import_row_number")]

    def __str__(self) -> str:
        return f"row {self.number} of {self.batch_id}"
