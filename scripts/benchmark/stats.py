"""Pure helpers: percentiles, summaries of latency samples, ratios and number formatting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between closest ranks; nan when empty."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * min(max(p, 0.0), 100.0) / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Summary:
    """Latency figures in milliseconds, plus how many requests and at what rate."""

    count: int = 0
    errors: int = 0
    p50: float = math.nan
    p99: float = math.nan
    mean: float = math.nan
    max: float = math.nan
    rps: float = math.nan
    overhead_p50: float = math.nan  # the proxy's own x-vertex-bridge-overhead-ms, when it sent one
    cpu_ms: float = math.nan  # the server's CPU time per request (robust to a busy machine)

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(latencies_ms: Sequence[float], *, errors: int = 0, seconds: float = math.nan,
              overhead_ms: Sequence[float] = ()) -> Summary:
    count = len(latencies_ms)
    return Summary(
        count=count,
        errors=errors,
        p50=percentile(latencies_ms, 50),
        p99=percentile(latencies_ms, 99),
        mean=sum(latencies_ms) / count if count else math.nan,
        max=max(latencies_ms) if count else math.nan,
        rps=count / seconds if seconds and seconds > 0 else math.nan,
        overhead_p50=percentile(overhead_ms, 50),
    )


def added(value: float, baseline: float) -> float:
    """What a hop adds over the baseline (never below zero: noise can make it look negative)."""
    if math.isnan(value) or math.isnan(baseline):
        return math.nan
    return max(value - baseline, 0.0)


def ratio(numerator: float, denominator: float) -> float:
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def gaps(times: Sequence[float]) -> list[float]:
    """Differences between consecutive timestamps."""
    return [b - a for a, b in zip(times, times[1:])]


def growth_per(rss_before: float, rss_after: float, requests: int, per: int = 10_000) -> float:
    """RSS growth scaled to `per` requests."""
    if requests <= 0:
        return math.nan
    return (rss_after - rss_before) * per / requests


def fmt(value: float | None, unit: str = "", digits: int | None = None) -> str:
    """A number for a table: '—' for missing, fewer decimals as values grow."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits is None:
        digits = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
    return f"{value:,.{digits}f}{unit}"


def fmt_ratio(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value == 0:
        return "0×"
    if value < 0.1:
        return f"{value:.3f}×"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"
