"""Upstream calls the proxy makes itself, outside mitmproxy's own forwarding (retries).

mitmproxy forwards each request once; when that attempt must be repeated before anything reached the
client (a 401 after a token refresh), the response hook repeats it with this client and puts the
result in place of the failed reply.
"""

from __future__ import annotations

import aiohttp

from .errors import UpstreamTimeoutError, UpstreamUnreachableError

HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}


class UpstreamCall:
    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, auto_decompress=True)
        return self._session

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        headers = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with self._client().post(url, data=body, headers=headers) as resp:
                return resp.status, await resp.read()
        except TimeoutError:
            raise UpstreamTimeoutError("Vertex did not answer in time.") from None
        except aiohttp.ClientError as e:
            raise UpstreamUnreachableError(f"Could not reach Vertex: {type(e).__name__}.") from None

    async def done(self) -> None:
        if self._session is not None:
            await self._session.close()
