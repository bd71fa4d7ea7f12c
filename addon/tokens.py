"""Google OAuth tokens for Vertex: refreshed off the event loop, single-flight, ahead of expiry.

google-auth does the real work (service accounts, gcloud user credentials, the metadata server).
This class only decides *when* to refresh and makes sure concurrent requests share one refresh:
- `token()` returns a valid token, refreshing at most once however many callers wait;
- a background task refreshes shortly before google-auth would call the token stale, so requests
  normally never wait;
- `invalidate(token)` after a Vertex 401 forces one refresh, shared by every request that saw it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

import google.auth
import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.auth import _helpers
from google.auth.credentials import Credentials

from . import tracing

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
FIX_HINT = (
    "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a "
    "service-account JSON file (role roles/aiplatform.user)."
)
log = logging.getLogger("vertex_bridge.tokens")


class TokenError(Exception):
    """Credentials are missing or a refresh failed; the message says how to fix it."""


def load_credentials(credentials_file: str | None) -> tuple[Credentials, str | None]:
    """Find credentials (an explicit file, else the ADC search order) and their project."""
    try:
        if credentials_file:
            creds, project = google.auth.load_credentials_from_file(credentials_file, scopes=SCOPES)
        else:
            creds, project = google.auth.default(scopes=SCOPES)
    except google.auth.exceptions.GoogleAuthError as e:
        raise TokenError(f"No Google credentials: {e}. {FIX_HINT}") from None
    return creds, project


class TokenManager:
    def __init__(self, credentials: Credentials, early_refresh: float = 30.0) -> None:
        self.credentials = credentials
        self.early_refresh = early_refresh  # seconds before google-auth's own stale threshold
        self.refreshes = 0
        self.failures = 0
        self.last_error: str | None = None
        self._session = requests.Session()
        self._request = google.auth.transport.requests.Request(self._session)
        self._inflight: asyncio.Future[str] | None = None
        self._background: asyncio.Task | None = None

    @property
    def has_token(self) -> bool:
        return bool(self.credentials.token) and self.credentials.valid

    @property
    def quota_project(self) -> str | None:
        return getattr(self.credentials, "quota_project_id", None)

    async def token(self) -> str:
        if self.credentials.valid and self.credentials.token:
            return self.credentials.token
        return await self._refresh()

    async def invalidate(self, stale_token: str) -> str:
        """Vertex rejected `stale_token`: refresh once, unless someone already did."""
        if self.credentials.token != stale_token and self.credentials.valid:
            return self.credentials.token
        return await self._refresh()

    def _refresh(self) -> asyncio.Future[str]:
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._do_refresh())
        return self._inflight

    async def _do_refresh(self) -> str:
        with tracing.span("token refresh"):
            try:
                await asyncio.to_thread(self.credentials.refresh, self._request)
            except google.auth.exceptions.GoogleAuthError as e:
                self.failures += 1
                self.last_error = str(e)
                log.warning("Google token refresh failed: %s", type(e).__name__)
                raise TokenError(f"Google token refresh failed: {e}. {FIX_HINT}") from None
        self.refreshes += 1
        self.last_error = None
        self._schedule_background()
        return self.credentials.token

    def _schedule_background(self) -> None:
        """Refresh shortly before google-auth would call the token stale (3 min 45 s before expiry)."""
        if self.credentials.expiry is None:
            return
        stale_at = self.credentials.expiry - _helpers.REFRESH_THRESHOLD
        until_stale = (stale_at - _helpers.utcnow()).total_seconds()
        if until_stale <= 1:
            return  # lifetime too short to refresh ahead: requests refresh on demand
        if self._background:
            self._background.cancel()
        delay = until_stale - min(self.early_refresh, until_stale / 4)
        # A fresh context: the later refresh belongs to no request (and to no request's trace).
        self._background = asyncio.get_running_loop().create_task(self._refresh_later(delay),
                                                                  context=contextvars.Context())

    async def _refresh_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._background = None
        try:
            await self._refresh()
        except TokenError:
            pass  # the next request retries and reports the error

    def close(self) -> None:
        if self._background:
            self._background.cancel()
        self._session.close()

