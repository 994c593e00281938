from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The life of personal data (PRIVACY.md): the person's requests, the provision ledger, retention and
    destruction, the monthly access review. Sits above cases, jobs and referral, which tell it of their
    events through their signals."""

    name = "privacy"
    verbose_name = _("Personal data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Retention and destruction: receivers of the cases signals, and the Celery tasks (a module of their own).
        from privacy import requests_receivers, retention_receivers, retention_tasks  # noqa: F401

        retention_receivers.connect()
        requests_receivers.connect()
