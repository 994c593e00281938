from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: domain errors, API plumbing, enqueue-after-commit, throttling. Imports no app."""

    name = "core"
