"""Signal receivers: thin, each calls one service."""

from __future__ import annotations

from typing import Any

from core.queueing import enqueue_on_commit
from referral.services import referrals_cancel_for_withdrawn_consent


def cancel_referrals_on_consent_withdrawn(sender: Any, *, consent: Any, by: Any = None, **kwargs: Any) -> None:
    referrals_cancel_for_withdrawn_consent(consent_id=consent.pk, by=by)


def apply_import_batch_on_approval(sender: Any, *, batch_id: int, **kwargs: Any) -> None:
    from referral.tasks import apply_import_batch

    enqueue_on_commit(apply_import_batch, batch_id)
