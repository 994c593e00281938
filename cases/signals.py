"""Signals other apps hook onto. Sent by services inside their transaction."""

from django.dispatch import Signal

# Sent by cases.services.consent_withdraw after the withdrawal is saved, inside the same
# transaction, with sender=Consent and kwargs `consent` (the Consent) and `by` (the user).
# The referral app cancels the open referrals that relied on the consent; a receiver that raises
# rolls the withdrawal back, so nothing is half-done.
consent_withdrawn = Signal()

# Sent by cases.services when a case is opened, inside the transaction, with kwargs `at` (the case's
# opened_at) and `clients` (the cases' clients). The statistics app recounts those clients' facts of that
# month; it learns of it only through this.
case_opened = Signal()

# Sent by cases.imports.import_batch_approve inside its transaction, with kwarg `batch_id`. The referral
# app applies the batch (clients, consents, cases, referrals) in a worker once the approval commits.
import_batch_approved = Signal()

# Sent by cases.services.pii_access_log_purge inside its transaction, with kwargs `rows` (how many were
# deleted) and `before` (the cutoff). The privacy app writes the destruction ledger's row for it.
access_log_purged = Signal()
