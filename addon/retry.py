"""When to try an upstream again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRY_STATUSES = frozenset({429, 500, 503})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    budget: float = 10.0  # seconds retries may add, waits included
    base_delay: float = 0.25
    max_delay: float = 4.0

    def should_retry(self, status: int) -> bool:
        return status in RETRY_STATUSES

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter; an upstream's Retry-After wins when it says more."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        return max(backoff, retry_after or 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (the HTTP-date form is not used by Google front ends)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
