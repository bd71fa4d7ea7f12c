"""Random fault injection for soak tests: ``faults={"p429": 0.1, …}`` with a seed.

Each unscripted request rolls the dice once; at most one fault applies.
"""

from __future__ import annotations

import random
import threading

from .replies import Reply

SLOW_CHUNK_MS = 250

FAULTS = {
    "p429": lambda reply: Reply.error(429),
    "p503": lambda reply: Reply.error(503),
    "mid_stream_error": lambda reply: reply.error_after(1),
    "reset": lambda reply: reply.drop_after(1),
    "slow_chunks": lambda reply: reply.paced(SLOW_CHUNK_MS),
}


class FaultDice:
    def __init__(self, probabilities: dict[str, float], seed: int | None = None) -> None:
        unknown = set(probabilities) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(FAULTS)}")
        if sum(probabilities.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")
        self.probabilities = dict(probabilities)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self) -> str | None:
        """The fault to inject into this request, or None."""
        if not self.probabilities:
            return None
        with self._lock:
            point = self._random.random()
        for name, probability in self.probabilities.items():
            if point < probability:
                return name
            point -= probability
        return None

    @staticmethod
    def apply(fault: str, reply: Reply) -> Reply:
        return FAULTS[fault](reply)
