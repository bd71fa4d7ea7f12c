"""Who may call generate: bearer tokens from our ``/token``, or the API key on express paths."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from . import errors
from .state import Emulator


@dataclass
class AuthResult:
    token_id: str | None = None
    status: int = 200
    error: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def authenticate(request: web.Request, emulator: Emulator, *, express: bool, method: str) -> AuthResult:
    """Vertex's answer to the request's credentials (``method`` is the RPC name for ErrorInfo)."""
    api_key = request.headers.get("x-goog-api-key") or request.query.get("key")
    access_token = _bearer(request.headers.get("Authorization"))
    if express and api_key is not None:
        if api_key == emulator.config.api_key:
            return AuthResult(token_id="api-key")
        return AuthResult(status=400, error=errors.api_key_invalid(method))
    if access_token is None:
        if api_key is not None:
            return AuthResult(status=401, error=errors.api_keys_unsupported(method))
        return AuthResult(status=401, error=errors.missing_credentials(method),
                          headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
    token, problem = emulator.tokens.check(access_token)
    if problem:
        return AuthResult(token_id=token.token_id if token else None, status=401,
                          error=errors.invalid_credentials(method),
                          headers={"WWW-Authenticate": errors.WWW_AUTHENTICATE})
    return AuthResult(token_id=token.token_id)
