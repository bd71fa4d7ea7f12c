"""Rate limits: token buckets per client key (and optionally one for everybody), in memory.

A small bucket of our own rather than a library: the OpenAI `x-ratelimit-*` headers need each
bucket's remaining count and refill time, tokens-per-minute is charged after the reply (from the
usage Vertex reports), and the whole thing is a dozen lines. State is per instance (docs/security.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from mitmproxy import http

from translators.errors import openai_error

from . import paths
from .config import Config
from .errors import guarded, json_response
from .exchange import exchange_of
from .settings import Settings

MAX_KEYS = 10_000
RATE_KEY = "vertex_bridge.rate_key"  # the bucket key of a flow: its client key's id, or its address


class TokenBucket:
    def __init__(self, per_minute: float, capacity: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = capacity
        self.level = capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, amount: float = 1.0) -> bool:
        self._refill()
        if self.level < amount:
            return False
        self.level -= amount
        return True

    def charge(self, amount: float) -> None:
        """Spend after the fact (tokens used); the level may go negative, which blocks until repaid."""
        self._refill()
        self.level -= amount

    @property
    def remaining(self) -> int:
        self._refill()
        return max(0, math.floor(self.level))

    def seconds_until(self, amount: float = 1.0) -> float:
        self._refill()
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate


def _duration(seconds: float) -> str:
    return f"{seconds:.3g}s"


class RateLimiter:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.limits = config.settings.rate_limit
        self.requests: OrderedDict[str, TokenBucket] = OrderedDict()
        self.tokens: OrderedDict[str, TokenBucket] = OrderedDict()
        self.everyone: TokenBucket | None = None
        self.rejected = 0
        config.on_change(self._configure)

    def _configure(self, settings: Settings) -> None:
        self.limits = settings.rate_limit
        self.requests.clear()
        self.tokens.clear()
        rpm = self.limits.global_requests_per_minute
        self.everyone = TokenBucket(rpm, max(1.0, rpm / 60 * 10)) if rpm else None

    def _bucket(self, table: OrderedDict[str, TokenBucket], key: str, per_minute: float, capacity: float) -> TokenBucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = TokenBucket(per_minute, capacity)
            if len(table) > MAX_KEYS:
                table.popitem(last=False)
        table.move_to_end(key)
        return bucket

    def _key(self, flow: http.HTTPFlow) -> str:
        return flow.metadata.get("vertex_bridge.key_id") or f"ip:{flow.client_conn.peername[0]}"

    @guarded
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or paths.route(flow.request.path) != paths.CHAT:
            return
        key, limits = self._key(flow), self.limits
        checks: list[tuple[TokenBucket, str]] = []
        if limits.requests_per_minute:
            burst = limits.burst or max(1, math.ceil(limits.requests_per_minute))
            bucket = self._bucket(self.requests, key, limits.requests_per_minute, burst)
            flow.metadata[RATE_KEY] = key  # plain values only: flows must stay serializable (mitmweb Save)
            checks.append((bucket, "requests per minute for this key"))
        if limits.tokens_per_minute:
            tokens = self._bucket(self.tokens, key, limits.tokens_per_minute, limits.tokens_per_minute)
            flow.metadata[RATE_KEY] = key
            if tokens.level <= 0:
                return self._reject(flow, tokens, "tokens per minute for this key", 1.0)
        if self.everyone:
            checks.append((self.everyone, "requests per minute for this proxy"))
        for bucket, what in checks:
            if not bucket.take():
                return self._reject(flow, bucket, what, 1.0)

    def _reject(self, flow: http.HTTPFlow, bucket: TokenBucket, what: str, amount: float) -> None:
        self.rejected += 1
        wait = max(bucket.seconds_until(amount), 0.001)
        body = openai_error(f"Rate limit reached: {bucket.rate * 60:g} {what}. Retry in {wait:.1f} s.",
                            "requests", "rate_limit_exceeded")
        flow.response = json_response(429, body, {"retry-after": str(math.ceil(wait)), **self._headers(bucket)})
        flow.metadata["vertex_bridge.rate_limited"] = True

    @staticmethod
    def _headers(bucket: TokenBucket) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(round(bucket.capacity)),
            "x-ratelimit-remaining-requests": str(bucket.remaining),
            "x-ratelimit-reset-requests": _duration(bucket.capacity / bucket.rate - bucket.level / bucket.rate),
        }

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        bucket = self.requests.get(flow.metadata.get(RATE_KEY, ""))
        if bucket is not None and flow.response and not flow.metadata.get("vertex_bridge.rate_limited"):
            flow.response.headers.update(self._headers(bucket))



class TokenCharge:
    """Charges a key's tokens-per-minute bucket with the usage Vertex reported.

    A separate addon because it must run after the reply translator has read the usage, while the
    limiter itself must run before the request is translated.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def response(self, flow: http.HTTPFlow) -> None:
        tokens = self.limiter.tokens.get(flow.metadata.get(RATE_KEY, ""))
        exchange = exchange_of(flow)
        if tokens is not None and exchange is not None and exchange.usage:
            tokens.charge(exchange.usage.get("total_tokens", 0))
