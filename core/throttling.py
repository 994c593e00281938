"""DRF throttles that read their rate from the current settings on each request.

DRF's own classes copy the rates once at import, so `override_settings` (tests) could not change them.
Kept out of api_common: DRF imports these while defining APIView, and api_common imports DRF views.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

from core.metrics import THROTTLE_FAIL_OPEN

logger = logging.getLogger(__name__)


class _LiveRatesMixin:
    """Read the rate from the current settings on each request, not once at import."""

    scope: str | None

    def get_rate(self) -> str | None:
        if not getattr(self, "scope", None):
            raise ImproperlyConfigured(f"{type(self).__name__} has no scope.")
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        try:
            return rates[str(self.scope)]
        except KeyError:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.") from None

    def allow_request(self, request: Any, view: Any) -> bool:
        """The cache backend (core.cache.FailSoftRedisCache) already degrades to process memory; this is the
        last guard for a cache that raises anyway (another backend, a serialization error): let the request
        through, log it and count it, rather than answer 500."""
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except ImproperlyConfigured:
            raise
        except Exception:
            scope = str(getattr(self, "scope", "") or "")
            THROTTLE_FAIL_OPEN.labels(scope=scope).inc()
            logger.warning("throttle %s could not read the cache; request let through", scope, exc_info=True)
            return True


class UserRateThrottle(_LiveRatesMixin, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_LiveRatesMixin, throttling.AnonRateThrottle):
    pass


class ScopedRateThrottle(_LiveRatesMixin, throttling.ScopedRateThrottle):
    pass
