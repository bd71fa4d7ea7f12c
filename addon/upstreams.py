"""The upstreams a chat request may go to — Vertex first, then the configured fallbacks — and the
attempt loop that picks one: retries with backoff, a token refresh after a 401, circuit breakers.

Everything here happens before the first byte reaches the client, so a failure that is retried or
failed over is invisible to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

import aiohttp

from translators.errors import TranslatorError
from translators.response import is_malformed_call

from .breaker import CircuitBreaker
from .config import Config
from .errors import UpstreamTimeoutError, UpstreamUnreachableError
from .exchange import Exchange
from .retry import RetryPolicy, parse_retry_after
from .settings import FallbackProvider, Settings
from .vertex import VertexUpstream

log = logging.getLogger("vertex_bridge")
VERTEX, OPENAI = "vertex", "openai"  # the wire format an upstream answers in
FORMAT_HEADER = "x-vertex-bridge-format"  # on a reply passed to mitmproxy: VERTEX or OPENAI
UPSTREAM_HEADER = "x-vertex-bridge-upstream"
PASSED_HEADERS = ("content-type", "retry-after")
BREAKER_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Target:
    name: str
    format: str
    breaker: CircuitBreaker
    provider: FallbackProvider | None = None


@dataclass
class Opened:
    """An upstream reply whose headers arrived: stream it, or read it whole."""

    target: Target
    response: aiohttp.ClientResponse
    retries: int
    body: bytes | None = None  # already read (unary replies are checked before they are passed on)

    @property
    def status(self) -> int:
        return self.response.status

    def reply_headers(self) -> dict[str, str]:
        """What is passed on with the reply: its type, `Retry-After`, and which upstream and format it is."""
        headers = {k: self.response.headers[k] for k in PASSED_HEADERS if k in self.response.headers}
        headers[FORMAT_HEADER] = self.target.format
        headers[UPSTREAM_HEADER] = self.target.name
        return headers


@dataclass
class Failed:
    """No upstream produced a usable reply; an OpenAI error to send instead."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    target: str = VERTEX

    def reply_body(self) -> bytes:
        return json.dumps(self.body).encode()

    def reply_headers(self) -> dict[str, str]:
        return {**self.headers, FORMAT_HEADER: OPENAI, "content-type": "application/json"}


class Upstreams:
    def __init__(self, config: Config, vertex: VertexUpstream) -> None:
        self.config = config
        self.vertex = vertex
        self.policy = RetryPolicy()
        self.vertex_target = Target(VERTEX, VERTEX, CircuitBreaker())
        self.fallbacks: list[Target] = []
        self._session: aiohttp.ClientSession | None = None
        config.on_change(self._configure)

    def _configure(self, s: Settings) -> None:
        self.policy = RetryPolicy(retries=s.retries, budget=s.retry_budget)
        for target in (self.vertex_target, *self.fallbacks):
            target.breaker.threshold, target.breaker.cooldown = s.breaker_threshold, s.breaker_cooldown
        self.fallbacks = [Target(p.name, OPENAI, CircuitBreaker(s.breaker_threshold, s.breaker_cooldown), p)
                          for p in s.fallback]

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            s = self.config.settings
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(sock_connect=s.connect_timeout),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                cookie_jar=aiohttp.DummyCookieJar(),  # one upstream session serves every client: keep no cookies
                auto_decompress=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def health(self) -> dict:
        return {t.name: t.breaker.snapshot() for t in (self.vertex_target, *self.fallbacks)}

    async def read_whole(self, opened: Opened) -> bytes:
        """A reply's whole body (already read for unary 200s), then the connection goes back to the pool.

        A body that breaks off or stalls becomes a Vertex-style 502 error body.
        """
        if opened.body is not None:
            body = opened.body
        else:
            try:
                body = await asyncio.wait_for(opened.response.read(), timeout=self.config.settings.idle_timeout)
            except (TimeoutError, aiohttp.ClientError) as e:
                message = f"{opened.target.name} reply broke off: {type(e).__name__}"
                body = json.dumps({"error": {"code": 502, "status": "UNAVAILABLE", "message": message}}).encode()
        opened.response.release()
        return body

    def _candidates(self) -> list[Target]:
        order = [self.vertex_target, *self.fallbacks]
        allowed = [t for t in order if t.breaker.allow()]
        return allowed or [self.vertex_target]  # every circuit open: Vertex still gets the request

    async def open(self, exchange: Exchange, vertex_path: str, body: bytes) -> Opened | Failed:
        """The first usable reply from the upstreams, in order, each with its retries.

        A usable reply is a 200, or an error that another upstream would repeat (a 400 means the
        request itself is wrong). When every upstream fails, the last failure is returned.
        """
        deadline = time.monotonic() + self.policy.budget
        retries = 0
        last: Opened | Failed | None = None
        for target in self._candidates():
            if isinstance(last, Opened):
                last.response.release()
            last, used = await self._try_target(target, exchange, vertex_path, body, deadline)
            retries += used
            last.retries = retries
            if not result_is_retryable(last):
                break
        assert last is not None
        if isinstance(last, Opened) and last.target.format == OPENAI:
            log.info("vertex-bridge: request served by fallback %s", last.target.name)
        return last

    async def _try_target(self, target: Target, exchange: Exchange, vertex_path: str, body: bytes,
                          deadline: float) -> tuple[Opened | Failed, int]:
        attempt, refreshed, malformed_retried = 0, False, False
        while True:
            try:
                response = await self._send(target, exchange, vertex_path, body)
            except TranslatorError as e:  # credentials, timeouts, connection failures
                failed = Failed(e.status, e.to_openai(), target=target.name)
                if e.status < 502:
                    return failed, attempt
                target.breaker.failure()
                response = None
            if response is not None:
                status = response.status
                if status == 401 and target.format == VERTEX and not refreshed and self.vertex.tokens:
                    refreshed = True
                    response.release()
                    try:
                        await self.vertex.refreshed_headers(exchange.token or "")
                    except TranslatorError as e:
                        return Failed(e.status, e.to_openai(), target=target.name), attempt
                    exchange.notes.append("401: token refreshed, retried")
                    continue
                if status == 200:
                    opened = Opened(target, response, attempt)
                    if not exchange.call.stream:
                        try:
                            opened.body = await self._read_body(target, response)
                        except TranslatorError as e:
                            target.breaker.failure()
                            return Failed(e.status, e.to_openai(), target=target.name), attempt
                        if (target.format == VERTEX and not malformed_retried
                                and b"MALFORMED_FUNCTION_CALL" in opened.body  # parse only when it may be
                                and is_malformed_call(_json(opened.body))):
                            malformed_retried = True
                            exchange.notes.append("MALFORMED_FUNCTION_CALL: retried once")
                            continue
                    target.breaker.success()
                    return opened, attempt
                if status not in BREAKER_STATUSES:
                    target.breaker.success()  # the upstream works; the request was refused
                    return Opened(target, response, attempt), attempt
                target.breaker.failure()
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                failed_reply: Opened | Failed = Opened(target, response, attempt)
            else:
                retry_after, failed_reply = None, failed
            wait = self.policy.delay(attempt, retry_after)
            if attempt >= self.policy.retries or time.monotonic() + wait > deadline:
                return failed_reply, attempt
            if isinstance(failed_reply, Opened):
                failed_reply.response.release()
            attempt += 1
            exchange.notes.append(f"retry {attempt} on {target.name}")
            await asyncio.sleep(wait)

    async def _read_body(self, target: Target, response: aiohttp.ClientResponse) -> bytes:
        idle = self.config.settings.idle_timeout
        try:
            return await asyncio.wait_for(response.read(), timeout=idle)
        except TimeoutError:
            response.close()
            raise UpstreamTimeoutError(f"{target.name}'s reply stalled for {idle:g} s (setting idle_timeout).") from None
        except aiohttp.ClientError as e:
            raise UpstreamUnreachableError(f"{target.name}'s reply broke off: {type(e).__name__}.") from None

    async def _send(self, target: Target, exchange: Exchange, vertex_path: str, body: bytes) -> aiohttp.ClientResponse:
        s = self.config.settings
        if target.format == VERTEX:
            headers = await self.vertex.auth_headers()
            exchange.token = headers.get("authorization", "").removeprefix("Bearer ") or None
            url = f"{self.vertex.scheme}://{self.vertex.authority}{vertex_path}"
        else:
            assert target.provider is not None
            provider = target.provider
            headers = {"authorization": f"Bearer {provider.key() or ''}"}
            url = provider.base_url.rstrip("/") + "/chat/completions"
            body = fallback_body(exchange, provider)
        headers = {**headers, "content-type": "application/json", "accept-encoding": "identity",
                   "user-agent": "vertex-bridge/0.1"}
        try:
            return await asyncio.wait_for(self.session.post(url, data=body, headers=headers),
                                          timeout=s.first_byte_timeout)
        except TimeoutError:
            raise UpstreamTimeoutError(
                f"{target.name} sent no reply within {s.first_byte_timeout:g} s (setting first_byte_timeout).") from None
        except aiohttp.ClientError as e:
            raise UpstreamUnreachableError(f"Could not reach {target.name}: {type(e).__name__}: {e}.") from None


def result_is_retryable(result: Opened | Failed) -> bool:
    """Would another upstream (or a later attempt) possibly do better?"""
    return result.status in BREAKER_STATUSES or result.status in (401, 403)


def fallback_body(exchange: Exchange, provider: FallbackProvider) -> bytes:
    body = exchange.request.model_dump(mode="json", exclude_none=True,
                                       exclude={"google", "functions", "function_call"})
    body["model"] = provider.model_for(exchange.target.requested_model, exchange.target.vertex_model)
    return json.dumps(body).encode()


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

