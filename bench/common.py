"""Shared pieces of the benchmark harness: timing, result rows, the context a benchmark gets.

A benchmark module is `bench/bench_<name>.py` with `run(ctx: Context) -> list[Row]`. It times its
subject and, in the same run, its baseline, with `measure()`, and builds rows with `compare()`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Production-like settings (DEBUG off) with throwaway keys, for every process the benchmarks start;
# a variable the caller already set wins. The PII keys sealed the RRNs of the stored data sets.
BENCH_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
    "PII_ENCRYPTION_KEYS": "YmVuY2gtb25seS1waWkta2V5LTMyLWJ5dGVzLWxvbmc=",
    "PII_HASH_KEY": "bench-only-blind-index-key",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_STATIC_MANIFEST": "0",
}


def apply_bench_settings(env: MutableMapping[str, str]) -> None:
    for name, value in BENCH_SETTINGS.items():
        env.setdefault(name, value)


@dataclass
class Stats:
    n: int
    median_ms: float
    p95_ms: float
    samples_ms: list[float] = field(default_factory=list, repr=False)


@dataclass
class Row:
    name: str
    n: int
    median_ms: float
    p95_ms: float
    baseline: str = ""
    baseline_median_ms: float | None = None
    baseline_p95_ms: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: informational, or pending
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def measure(fn: Callable[[], Any], *, n: int = 50, warmup: int = 5) -> Stats:
    """Call fn warmup times untimed, then n times; wall-clock milliseconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return Stats(n=n, median_ms=statistics.median(samples), p95_ms=percentile(samples, 95), samples_ms=samples)


def compare(
    name: str,
    stats: Stats,
    *,
    baseline: str = "",
    base: Stats | None = None,
    target: str = "",
    p95_under_ms: float | None = None,
    max_ratio: float | None = None,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> Row:
    """A result row: ratio = p95 / baseline p95; met when every given bound holds."""
    ratio = stats.p95_ms / base.p95_ms if base and base.p95_ms > 0 else None
    met: bool | None = None
    if p95_under_ms is not None or max_ratio is not None:
        met = True
        if p95_under_ms is not None:
            met = met and stats.p95_ms < p95_under_ms
        if max_ratio is not None and ratio is not None:
            met = met and ratio <= max_ratio
    return Row(
        name=name,
        n=stats.n,
        median_ms=stats.median_ms,
        p95_ms=stats.p95_ms,
        baseline=baseline,
        baseline_median_ms=base.median_ms if base else None,
        baseline_p95_ms=base.p95_ms if base else None,
        ratio=ratio,
        target=target,
        met=met,
        note=note,
        extra=extra or {},
    )


@dataclass
class Sample:
    """Typical inputs picked from the dataset: the busiest receiving center and what lives there."""

    center_id: int
    center_code: str
    manager_username: str
    counselor_username: str
    referral_ids: list[int]
    client_names: list[str]
    name_prefixes: list[str]
    phones: list[str]


@dataclass
class Context:
    size: str
    database_url: str
    redis_url: str
    dataset: dict[str, Any]
    sample: Sample
    repeat: int
    generated_now: dict[str, Any] | None = None
