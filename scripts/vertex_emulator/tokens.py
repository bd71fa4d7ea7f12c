"""The OAuth token endpoint (``POST /token``) and the table of tokens it issued.

google-auth service-account credentials send a jwt-bearer grant; authorized-user
credentials send a refresh_token grant. The JWT is decoded without checking its
signature. Tokens report ``declared_expires_in`` to the client but stop working
after ``max_token_age`` seconds, so tests can make them expire early or late.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from .config import EmulatorConfig

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_TOKEN = "refresh_token"
TOKEN_HEADERS = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
EXPIRED_JWT = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
               "Check your iat and exp values in the JWT claim.")


@dataclass
class IssuedToken:
    token_id: str
    access_token: str
    grant_type: str
    subject: str | None
    scope: str | None
    issued_at: float  # wall clock
    issued_monotonic: float
    revoked: bool = False

    def public(self, lifetime: float) -> dict[str, Any]:
        data = asdict(self)
        del data["issued_monotonic"]
        data["expired"] = time.monotonic() - self.issued_monotonic > lifetime
        return data


class GrantError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class TokenTable:
    """Issued tokens and a record of every token request (thread-safe)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._tokens: dict[str, IssuedToken] = {}
        self._requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def issue(self, grant_type: str, subject: str | None, scope: str | None) -> IssuedToken:
        with self._lock:
            token = IssuedToken(f"tok-{next(self._ids)}", f"ya29.emu-{secrets.token_urlsafe(32)}", grant_type,
                                subject, scope, time.time(), time.monotonic())
            self._tokens[token.access_token] = token
            return token

    def check(self, access_token: str) -> tuple[IssuedToken | None, str | None]:
        """The token and what is wrong with it: None, "unknown", "revoked" or "expired"."""
        with self._lock:
            token = self._tokens.get(access_token)
        if token is None:
            return None, "unknown"
        if token.revoked:
            return token, "revoked"
        if time.monotonic() - token.issued_monotonic > self.config.token_lifetime:
            return token, "expired"
        return token, None

    def revoke_all(self) -> int:
        with self._lock:
            live = [t for t in self._tokens.values() if not t.revoked]
            for token in live:
                token.revoked = True
            return len(live)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def issued(self) -> list[dict[str, Any]]:
        with self._lock:
            return [t.public(self.config.token_lifetime) for t in self._tokens.values()]

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()


def _jwt_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise GrantError("invalid_grant", "Invalid JWT Signature.") from exc
    if not isinstance(claims, dict):
        raise GrantError("invalid_grant", "Invalid JWT Signature.")
    if isinstance(claims.get("exp"), (int, float)) and claims["exp"] < time.time() - 60:
        raise GrantError("invalid_grant", EXPIRED_JWT)
    return claims


def _grant(form: dict[str, str]) -> tuple[str, str | None, str | None]:
    """(grant type, subject, scope) of a valid token request."""
    grant_type = form.get("grant_type", "")
    if grant_type == JWT_BEARER:
        claims = _jwt_claims(form.get("assertion", ""))
        return grant_type, claims.get("sub") or claims.get("iss"), claims.get("scope")
    if grant_type == REFRESH_TOKEN:
        if not form.get("refresh_token"):
            raise GrantError("invalid_request", "Missing required parameter: refresh_token")
        return grant_type, form.get("client_id"), form.get("scope") or "https://www.googleapis.com/auth/cloud-platform"
    raise GrantError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")


async def handle_token(request: web.Request, table: TokenTable) -> web.Response:
    form = dict(await request.post())
    record: dict[str, Any] = {"time": time.time(), "grant_type": form.get("grant_type")}
    try:
        grant_type, subject, scope = _grant(form)
    except GrantError as exc:
        table.record({**record, "status": 400, "error": exc.error})
        return web.json_response({"error": exc.error, "error_description": exc.description}, status=400,
                                 headers=TOKEN_HEADERS)
    token = table.issue(grant_type, subject, scope)
    expires_in = table.config.declared_expires_in
    table.record({**record, "status": 200, "token_id": token.token_id, "subject": subject, "scope": scope,
                  "expires_in": expires_in})
    body: dict[str, Any] = {"access_token": token.access_token, "expires_in": expires_in, "token_type": "Bearer"}
    if grant_type == REFRESH_TOKEN:
        body["scope"] = scope
    return web.json_response(body, headers=TOKEN_HEADERS)
