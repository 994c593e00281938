from typing import Any

from django.apps import AppConfig


def _mark_dirty(sender: Any, *, at: Any, clients: Any = None, **kwargs: Any) -> None:
    from stats.services import mark_dirty

    mark_dirty(at=at, clients=clients)


class StatsConfig(AppConfig):
    name = "stats"

    def ready(self) -> None:
        # The lower apps announce changes with their own signals; statistics never is imported by them.
        from cases.signals import case_opened
        from referral.signals import referral_changed

        case_opened.connect(_mark_dirty, dispatch_uid="stats-case-opened")
        referral_changed.connect(_mark_dirty, dispatch_uid="stats-referral-changed")
