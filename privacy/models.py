"""The privacy app's models, one section per part of the app."""

# --- Retention, destruction and the monthly access review -------------------------------------------------
from privacy.retention_models import (  # noqa: F401
    AccessFlag,
    AccessReview,
    DestructionBatch,
    DestructionItem,
    DestructionRecord,
    RetentionHold,
)
