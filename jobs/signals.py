"""Signals of the jobs app, for apps above it (the privacy app's provision ledger)."""

from django.dispatch import Signal

# Sent inside the export's transaction with kwargs `export` (the JobExportLog row) and `by`: the suspect
# workplace list left the system for another body (the inspections shared with the Ministry of Gender Equality).
suspects_exported = Signal()
