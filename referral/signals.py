"""Signals of the referral app, for apps above it (statistics). Sent by services inside their transaction."""

from django.dispatch import Signal

# Sent after a referral is created or changes status or desk, with kwargs `at`: the referral's
# created_at, which decides the month its figures belong to, and `clients`: the ids of the clients whose
# figures changed. The statistics app recounts those clients' facts of that month (stats.incremental).
referral_changed = Signal()

# Sent inside the routing transaction with kwarg `referrals`: those just given a desk (routed or re-routed).
# The privacy app writes the provision ledger (Decree §15) for those at a desk of another organization.
referral_routed = Signal()
