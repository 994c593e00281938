"""Receivers of the lower apps' signals for retention: thin, each calls one service."""

from __future__ import annotations

from typing import Any

from cases.models import ConsentPurpose
from cases.signals import access_log_purged, consent_withdrawn
from core.queueing import enqueue_on_commit


def propose_on_collection_withdrawn(sender: Any, *, consent: Any, by: Any = None, **kwargs: Any) -> None:
    """Act §37③: the client's records become due at once; the next batch lists them (proposed now if none is open)."""
    if consent.purpose != ConsentPurpose.COLLECTION:
        return
    from privacy.retention_tasks import propose_destruction

    enqueue_on_commit(propose_destruction)


def ledger_on_access_log_purged(sender: Any, *, rows: int, **kwargs: Any) -> None:
    from privacy.destruction import ledger_record_access_log_purge

    ledger_record_access_log_purge(rows=rows)


def connect() -> None:
    consent_withdrawn.connect(propose_on_collection_withdrawn, dispatch_uid="privacy_propose_on_withdrawn")
    access_log_purged.connect(ledger_on_access_log_purged, dispatch_uid="privacy_ledger_on_purge")
