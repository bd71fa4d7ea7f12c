"""The Vertex side: where a model's requests go and the credentials they carry."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from translators.context import ModelTarget

from .config import Config
from .errors import GoogleCredentialsError
from .settings import Settings
from .tokens import TokenError, TokenManager, load_credentials

log = logging.getLogger("vertex_bridge")

METHODS = {False: ":generateContent", True: ":streamGenerateContent?alt=sse"}


class VertexUpstream:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.tokens: TokenManager | None = None
        self.credentials_error: str | None = None
        self.project: str | None = None
        self.loaded = False  # the credentials search has finished (found or not)
        self.scheme, self.host, self.port = "https", "aiplatform.googleapis.com", 443
        config.on_change(self._configure)

    def _configure(self, settings: Settings) -> None:
        url = urlsplit(settings.base_url)
        self.scheme = url.scheme or "https"
        self.host = url.hostname or "aiplatform.googleapis.com"
        self.port = url.port or (443 if self.scheme == "https" else 80)
        self.project = settings.project or self.project

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def express(self) -> bool:
        return bool(self.settings.google_api_key)

    @property
    def authority(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    async def running(self) -> None:
        try:
            await self._load_credentials()
        finally:
            self.loaded = True

    async def _load_credentials(self) -> None:
        if self.express or self.tokens:
            return
        try:
            creds, project = await asyncio.to_thread(load_credentials, self.settings.credentials)
        except TokenError as e:
            self.credentials_error = str(e)
            log.warning("%s", e)
            return
        self.tokens = TokenManager(creds)
        self.project = self.settings.project or project
        try:
            await self.tokens.token()
        except TokenError as e:
            log.warning("%s", e)

    def done(self) -> None:
        if self.tokens:
            self.tokens.close()

    def path(self, target: ModelTarget, stream: bool) -> str:
        model = f"publishers/google/models/{target.vertex_model}{METHODS[stream]}"
        if self.express:
            return f"/{target.api_version}/{model}"
        if not self.project:
            raise GoogleCredentialsError(
                "No Google Cloud project: set GOOGLE_CLOUD_PROJECT (or VERTEX_BRIDGE_PROJECT).")
        return f"/{target.api_version}/projects/{self.project}/locations/{self.settings.location}/{model}"

    def check_ready(self) -> None:
        """Fail fast (503 with a fix) when there are no credentials at all."""
        if not self.express and self.tokens is None:
            raise GoogleCredentialsError(self.credentials_error or "Google credentials are still loading.")

    async def auth_headers(self) -> dict[str, str]:
        if self.express:
            return {"x-goog-api-key": self.settings.google_api_key or ""}
        if self.tokens is None:
            raise GoogleCredentialsError(self.credentials_error or "Google credentials are still loading.")
        try:
            token = await self.tokens.token()
        except TokenError as e:
            raise GoogleCredentialsError(str(e)) from None
        return self._bearer(token)

    async def refreshed_headers(self, stale_token: str) -> dict[str, str]:
        """After a Vertex 401: one shared refresh, then the new headers."""
        assert self.tokens is not None
        try:
            return self._bearer(await self.tokens.invalidate(stale_token))
        except TokenError as e:
            raise GoogleCredentialsError(str(e)) from None

    def _bearer(self, token: str) -> dict[str, str]:
        headers = {"authorization": f"Bearer {token}"}
        if self.tokens and (quota := self.tokens.quota_project):
            headers["x-goog-user-project"] = quota
        return headers

    def health(self) -> dict:
        if self.express:
            return {"auth": "express_api_key", "token": True}
        return {
            "auth": "oauth",
            "token": bool(self.tokens and self.tokens.has_token),
            "refreshes": self.tokens.refreshes if self.tokens else 0,
            "credentials_error": None if self.tokens else self.credentials_error,
        }
