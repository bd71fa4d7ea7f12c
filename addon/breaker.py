"""A circuit breaker per upstream: stop sending to an upstream that keeps failing, try again later."""

from __future__ import annotations

import time

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at = 0.0
        self._trial = False  # a half-open trial request is in flight

    @property
    def state(self) -> str:
        if self.failures < self.threshold:
            return CLOSED
        return HALF_OPEN if time.monotonic() - self.opened_at >= self.cooldown else OPEN

    def allow(self) -> bool:
        """May a request go to this upstream now? Half-open lets exactly one trial through."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self._trial = False

    def failure(self) -> None:
        self._trial = False
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()

    def snapshot(self) -> dict:
        return {"state": self.state, "consecutive_failures": self.failures}
