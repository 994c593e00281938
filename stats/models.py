"""Monthly rollups: a small cube of pre-aggregated cells, one row per month × grouping set × key.

Every query the dashboard and API can ask is answered by reading the cells of exactly one grouping set
(see stats.cube), never the raw referrals, so a national 12-month view reads a dozen rows whatever the
number of referrals. Distinct clients are counted per cell (they do not add up across centers or
services); time-to-accept and time-to-complete are kept as exact histograms in tenths of an hour, which do
add up, so a median or 90th percentile over any set of cells is exact.
"""

from __future__ import annotations

from django.db import models

from centers.models import Center, Desk, Region, Service


class MonthlyCell(models.Model):
    month = models.DateField(help_text="First day of the Asia/Seoul calendar month.")
    # Which dimensions this row is grouped by, e.g. "center/domain/" (stats.cube.GROUPING_SETS).
    gset = models.CharField(max_length=40)
    # Dimensions: null/blank where the grouping set does not include them, or where the fact has none
    # (a walk-in has no service; a referral that never reached a desk has no desk).
    center = models.ForeignKey(Center, on_delete=models.CASCADE, null=True, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, null=True, related_name="+")
    kind = models.CharField(max_length=20, blank=True)
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, null=True, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, related_name="+")
    domain = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    age_band = models.CharField(max_length=10, blank=True)
    gender = models.CharField(max_length=1, blank=True)

    clients = models.PositiveIntegerField(default=0)
    walk_ins = models.PositiveIntegerField(default=0)
    referrals_sent = models.PositiveIntegerField(default=0)
    referrals_received = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    achieved = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    sla_breaches = models.PositiveIntegerField(default=0)
    routed = models.PositiveIntegerField(default=0)
    colocated = models.PositiveIntegerField(default=0)
    # {code: count}
    outcomes = models.JSONField(default=dict)
    achieved_outcomes = models.JSONField(default=dict)
    fail_reasons = models.JSONField(default=dict)
    # {"suspect" | "clear": count}: placements by the employer's status then (stats.cube.TALLIES)
    placements = models.JSONField(default=dict)
    # This cell's own percentiles (hours) and the number of durations behind them, so a row is read
    # without decoding its histogram; the histograms are merged only for totals over several cells.
    accept_n = models.PositiveIntegerField(default=0)
    complete_n = models.PositiveIntegerField(default=0)
    p50_accept = models.FloatField(null=True)
    p90_accept = models.FloatField(null=True)
    p50_complete = models.FloatField(null=True)
    p90_complete = models.FloatField(null=True)
    # {tenths of an hour: count}
    accept_hist = models.JSONField(default=dict)
    complete_hist = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["gset", "month"], name="stats_cell_gset_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.gset}"


class MonthState(models.Model):
    """When a month's cells were last rebuilt, and whether a change has happened since."""

    month = models.DateField(unique=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    dirty_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
