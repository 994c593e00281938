from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    """Job postings (Work24 import, upload, manual), screening, review and suspect workplaces."""

    name = "jobs"
    verbose_name = _("Safe job market")
