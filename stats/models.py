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
    """When a month's cells were last brought up to date, and whether a change has happened since."""

    month = models.DateField(unique=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    dirty_since = models.DateTimeField(null=True, blank=True)
    # A change arrived without the clients it touched: the next refresh rebuilds the month whole.
    needs_rebuild = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class MonthFact(models.Model):
    """One fact of a month as its cells were last counted (stats.rollup's `fact`): a walk-in, a referral
    sent, a referral at its desk, a decline or timeout, with its dimensions and measures. The cells are
    rolled up from these rows, and an incremental refresh (stats.incremental) recounts only the changed
    clients' facts: the cells move by the difference. Plain ids, no foreign keys: derived data, rewritten
    by every refresh, never read for a person."""

    month = models.DateField()
    client_id = models.BigIntegerField()
    center_id = models.BigIntegerField()
    region_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=20, blank=True)
    desk_id = models.BigIntegerField(null=True)
    service_id = models.BigIntegerField(null=True)
    domain = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    age_band = models.CharField(max_length=10, blank=True)
    gender = models.CharField(max_length=1, blank=True)
    walk_ins = models.SmallIntegerField(default=0)
    referrals_sent = models.SmallIntegerField(default=0)
    referrals_received = models.SmallIntegerField(default=0)
    accepted = models.SmallIntegerField(default=0)
    declined = models.SmallIntegerField(default=0)
    timeouts = models.SmallIntegerField(default=0)
    rejected = models.SmallIntegerField(default=0)
    completed = models.SmallIntegerField(default=0)
    achieved = models.SmallIntegerField(default=0)
    failed = models.SmallIntegerField(default=0)
    cancelled = models.SmallIntegerField(default=0)
    open = models.SmallIntegerField(default=0)
    sla_breaches = models.SmallIntegerField(default=0)
    routed = models.SmallIntegerField(default=0)
    colocated = models.SmallIntegerField(default=0)
    outcome = models.CharField(max_length=40, null=True)
    achieved_outcome = models.CharField(max_length=40, null=True)
    fail_reason = models.CharField(max_length=40, null=True)
    placement = models.CharField(max_length=10, null=True)
    accept = models.IntegerField(null=True)  # tenths of an hour, created → accepted
    complete = models.IntegerField(null=True)  # tenths of an hour, created → completed

    class Meta:
        indexes = [models.Index(fields=["month", "client_id"], name="stats_fact_month_client")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} client {self.client_id}"


class PendingChange(models.Model):
    """A client whose facts of a month changed since the last refresh, written after the change commits.
    No uniqueness: an insert never waits on a refresh that is consuming the rows (it takes them with
    DELETE … RETURNING); the refresh counts each client once however often it is listed."""

    month = models.DateField(db_index=True)
    client_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} client {self.client_id}"
