"""The privacy app's models, one module per part of the app."""

# The person's requests and the provision ledger.
from privacy.requests_models import Provision, SubjectRequest  # noqa: F401

# Retention, destruction and the monthly access review.
from privacy.retention_models import (  # noqa: F401
    AccessFlag,
    AccessReview,
    DestructionBatch,
    DestructionItem,
    DestructionRecord,
    RetentionHold,
)
