"""The person's requests (Act §35-§37) and the provision ledger (Decree §15). Imported by privacy.models.

Provision rows are never edited: on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0003).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Client
from centers.models import Center


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access to the data held (Act §35)")
    CORRECTION = "correction", _("Correction (Act §36)")
    ERASURE = "erasure", _("Erasure (Act §36)")
    SUSPENSION = "suspension", _("Suspension of processing (Act §37)")
    WITHDRAWAL = "withdrawal", _("Withdrawal of consent (Act §37)")


class IdentityCheck(models.TextChoices):
    """How the person's identity was checked when the request was received (Decree §41②)."""

    ID_CARD = "id_card", _("Identity card seen in person")
    MOBILE_ID = "mobile_id", _("Mobile identity card")
    CERTIFICATE = "certificate", _("Digital certificate or identity verification service")
    AGENT = "agent", _("Agent with a power of attorney and the person's ID (Decree §45)")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Awaiting answer")
    ANSWERED = "answered", _("Answered")


class Decision(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PARTLY_GRANTED = "partly_granted", _("Partly granted")
    REFUSED = "refused", _("Refused")


class RefusalReason(models.TextChoices):
    """The reasons the Act allows for refusing or limiting a request (Act §35④, §36①, §37②)."""

    LAW_REQUIRES = "law_requires", _("A law requires or permits keeping or processing it (Act §35④1, §36①, §37②1)")
    THIRD_PARTY = "third_party", _("It could harm another person's life, body, property or interests (Act §35④2)")
    BENEFIT_PENDING = (
        "benefit_pending",
        _("A benefit or support decision is still pending and would be seriously hindered (Act §35④3)"),
    )
    PUBLIC_DUTY = "public_duty", _("The center could not carry out a duty set by law without it (Act §37②3)")
    SERVICE_NEEDS_IT = (
        "service_needs_it",
        _("The service the person receives cannot be given without it and they did not end it (Act §37②4)"),
    )
    NOT_HELD = "not_held", _("The center holds no such data")


class SubjectRequest(models.Model):
    """A request of the person about their data: due 10 days after receipt, answered with a coded decision."""

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="subject_requests", verbose_name=_("client")
    )
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="+", verbose_name=_("center"))
    kind = models.CharField(_("request"), max_length=20, choices=RequestKind.choices)
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due"), db_index=True)
    identity_check = models.CharField(_("identity checked by"), max_length=20, choices=IdentityCheck.choices)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by")
    )
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=30, choices=RefusalReason.choices, blank=True)
    answer = models.TextField(_("answer"), blank=True, max_length=2000)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    # Set once the due-soon alert went out (privacy.requests.requests_alert_due), so it goes out once.
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["center", "status", "due_at"], name="privacy_req_center_status")]
        verbose_name = _("data subject request")
        verbose_name_plural = _("data subject requests")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.client_id})"


class Provision(models.Model):
    """One provision of a person's data to another organization, with the eight items of Decree §15."""

    at = models.DateTimeField(_("provided at"), db_index=True)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="provisions", verbose_name=_("client")
    )
    # The referral that carried it (a routing or a re-routing), or none (an export of a list).
    referral_id = models.BigIntegerField(_("referral"), null=True, blank=True, db_index=True)
    system = models.CharField(_("file (system)"), max_length=100)
    recipient = models.CharField(_("recipient"), max_length=200)
    recipient_kind = models.CharField(_("recipient kind"), max_length=40, blank=True)
    recipient_center = models.ForeignKey(
        Center, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("recipient center")
    )
    purpose = models.CharField(_("purpose"), max_length=300)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    items = models.JSONField(_("items provided"), default=list)
    method = models.CharField(_("method"), max_length=100)
    limits = models.CharField(_("limits asked of the recipient"), max_length=300, blank=True)
    provided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["client", "at"], name="privacy_prov_client_at")]
        verbose_name = _("provision record")
        verbose_name_plural = _("provision ledger")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} → {self.recipient}"
