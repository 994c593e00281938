from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Job postings (Work24 import, upload, manual), screening, review and suspect workplaces."""

    name = "jobs"
    verbose_name = "Safe job market"
