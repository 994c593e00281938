"""Referrals between desks, their append-only event log, SLA policies and notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Client, Consent
from centers.models import Center, Desk, Service


class Status(models.TextChoices):
    """HL7 FHIR SDOH (Gravity) referral Task statuses, hyphens as underscores."""

    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    FAILED = "failed", _("Failed")
    COMPLETED = "completed", _("Completed")


OPEN_STATUSES = (Status.REQUESTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD)


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class DeclineReason(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    NO_CAPACITY = "no_capacity", _("No capacity")
    WRONG_SERVICE = "wrong_service", _("Wrong service")
    OUT_OF_AREA = "out_of_area", _("Out of area")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class FailReason(models.TextChoices):
    UNABLE_TO_CONTACT = "unable_to_contact", _("Unable to contact")
    NO_SHOW = "no_show", _("No show")
    CLIENT_REFUSED = "client_refused", _("Client refused")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
    OTHER = "other", _("Other")


class CancelReason(models.TextChoices):
    CLIENT_REQUEST = "client_request", _("Client asked to cancel")
    SENT_IN_ERROR = "sent_in_error", _("Sent in error")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class RejectReason(models.TextChoices):
    NO_CANDIDATE = "no_candidate", _("No desk left to route to")


class Referral(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("case"))
    # Denormalized from the case for scoped queries and statistics.
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("client"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("service"))
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals", verbose_name=_("consent")
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED)
    # Where an on_hold referral returns to on resume.
    status_before_hold = models.CharField(max_length=20, choices=Status.choices, blank=True)
    # No single-column FK indexes where a composite index starts with the column (biggest table).
    from_center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="referrals_sent", db_index=False)
    from_desk = models.ForeignKey(Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals_sent")
    to_desk = models.ForeignKey(
        Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals_received", db_index=False
    )
    to_center = models.ForeignKey(
        Center, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals_received", db_index=False
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_referrals",
        db_index=False,
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("referral note"), blank=True, max_length=2000)

    created_at = models.DateTimeField(_("requested at"))
    routed_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    accept_due_at = models.DateTimeField(_("accept due"), null=True, blank=True)
    contact_due_at = models.DateTimeField(_("first contact due"), null=True, blank=True)
    close_due_at = models.DateTimeField(_("close due"), null=True, blank=True)
    # The due time of the step the referral waits for (what queues sort and flag on), kept by the
    # database itself so every writer (services, sweeper, bulk loads, .update()) stays consistent.
    next_due_at = models.GeneratedField(
        expression=models.Case(
            models.When(status="requested", then=models.F("accept_due_at")),
            models.When(status="accepted", then=models.F("contact_due_at")),
            models.When(status__in=["in_progress", "on_hold"], then=models.F("close_due_at")),
            default=None,
            output_field=models.DateTimeField(),
        ),
        output_field=models.DateTimeField(null=True, blank=True),
        db_persist=True,
    )
    # Set once the SLA sweeper has alerted about a step, so it alerts once.
    escalated_step = models.CharField(max_length=20, blank=True)

    # Closure: outcome for completed; a coded reason for failed, rejected and cancelled.
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    achieved = models.BooleanField(_("achieved"), null=True, blank=True)
    outcome_detail = models.JSONField(_("outcome details"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=40, blank=True)

    route_attempts = models.PositiveIntegerField(default=0)
    colocated = models.BooleanField(_("routed to a co-located desk"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            # Incoming queue: a center's desks, open first, by due time.
            models.Index(fields=["to_center", "status", "accept_due_at"], name="ref_in_center_status_due"),
            # The queues' order (next due first, then newest): LIMIT 50 stops after 50 index entries.
            # Open referrals have a due time and closed ones none, so open rows come first.
            models.Index(fields=["to_center", "next_due_at", "-created_at", "-id"], name="ref_in_center_next_due"),
            models.Index(fields=["to_desk", "status"], name="ref_to_desk_status"),
            models.Index(fields=["from_center", "next_due_at", "-created_at", "-id"], name="ref_out_center_next_due"),
            models.Index(fields=["from_center", "status", "-created_at"], name="ref_out_center_status"),
            models.Index(fields=["assigned_to", "status"], name="ref_assigned_status"),
            models.Index(fields=["created_at"], name="ref_created_at"),
            models.Index(
                fields=["created_at"], name="ref_unrouted", condition=models.Q(status="requested", to_desk__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"R{self.pk}"

    @property
    def is_routed(self) -> bool:
        return self.to_desk_id is not None


class EventKind(models.TextChoices):
    CREATE = "create", _("Requested")
    ROUTE = "route", _("Routed")
    ROUTE_FAILED = "route_failed", _("No desk available")
    ACCEPT = "accept", _("Accepted")
    DECLINE = "decline", _("Declined")
    TIMEOUT = "timeout", _("Accept deadline passed")
    ASSIGN = "assign", _("Assigned")
    START = "start", _("Started")
    HOLD = "hold", _("Put on hold")
    RESUME = "resume", _("Resumed")
    COMPLETE = "complete", _("Completed")
    FAIL = "fail", _("Failed")
    CANCEL = "cancel", _("Cancelled")
    ESCALATE = "escalate", _("Escalated")
    OFFER = "offer", _("Job postings offered")
    BOOK = "book", _("Appointment booked")
    REBOOK = "rebook", _("Appointment changed")
    UNBOOK = "unbook", _("Appointment cancelled")


class ReferralEvent(models.Model):
    """Append-only log of every transition and routing decision. Never updated, never deleted."""

    # Served by refevent_referral_at; a separate FK index would be the biggest table's biggest waste.
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events", db_index=False)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    # Routing: the chosen desk's reason and the ranked candidates with their scores.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"], name="refevent_referral_at")]

    def __str__(self) -> str:
        return f"{self.referral_id}:{self.kind}"


class ReferralPosting(models.Model):
    """A job posting offered to the client of a job placement referral (jobs' screening decides its risk).

    Written only by `services.referral_offer_postings`; a risky posting carries the reason it was offered
    anyway (the same reason is on the offer event, with the risks as they were at that moment)."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="postings", db_index=False)
    posting = models.ForeignKey(
        "jobs.JobPosting", on_delete=models.PROTECT, related_name="referral_offers", verbose_name=_("job posting")
    )
    offered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    offered_at = models.DateTimeField(_("offered at"))
    warning_reason = models.TextField(_("reason for offering a risky posting"), blank=True, max_length=2000)

    class Meta:
        ordering = ["offered_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["referral", "posting"], name="uniq_referral_posting")]
        verbose_name = _("offered job posting")
        verbose_name_plural = _("offered job postings")

    def __str__(self) -> str:
        return f"{self.referral_id}:{self.posting_id}"


class AppointmentEnd(models.TextChoices):
    """Why an appointment stopped holding its place."""

    REBOOKED = "rebooked", _("Changed to another time")
    CANCELLED = "cancelled", _("Cancelled")
    LEFT_DESK = "left_desk", _("The referral left the desk")
    CLOSED = "closed", _("The referral was closed")


class Appointment(models.Model):
    """The client's first meeting at the receiving desk: one slot of the desk's schedule (centers.slots).

    Written only by `services.appointment_book` / `appointment_cancel` (and the lifecycle, which frees it
    when the referral leaves the desk or closes). Never deleted: a rebooking or cancellation sets
    `cancelled_at`, which frees the place, and the row stays as history. At most one active appointment
    per referral (a constraint); the places a slot takes are counted under a lock of the desk's row.
    """

    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("referral"), db_index=False
    )
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("desk"))
    start = models.DateTimeField(_("starts at"))
    end = models.DateTimeField(_("ends at"))
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("booked at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(_("why it ended"), max_length=20, choices=AppointmentEnd.choices, blank=True)

    class Meta:
        ordering = ["start", "pk"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.UniqueConstraint(
                fields=["referral"], condition=models.Q(cancelled_at__isnull=True), name="uniq_active_appointment"
            ),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="appointment_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["referral", "created_at"], name="appt_referral_created"),
            # Places taken per slot, and a desk's day: active appointments by desk and start.
            models.Index(
                fields=["desk", "start"], name="appt_active_desk_start", condition=models.Q(cancelled_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"R{self.referral_id} {self.start:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


class SlaPolicy(models.Model):
    """Business days allowed for each step; a row without a service is the default for a priority."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="sla_policies")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    accept_days = models.PositiveSmallIntegerField(_("business days to accept"))
    contact_days = models.PositiveSmallIntegerField(_("business days to first contact"))
    close_days = models.PositiveSmallIntegerField(_("business days to close"))

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(fields=["service", "priority"], name="uniq_sla_service_priority"),
            models.UniqueConstraint(
                fields=["priority"], condition=models.Q(service__isnull=True), name="uniq_sla_default_priority"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id or 'default'}/{self.priority}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=30)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notif_user_unread")]

    def __str__(self) -> str:
        return self.message
