"""mitmproxy answers its own failures (upstream unreachable, body too large) with an HTML page.
OpenAI clients expect JSON, so the page renderer is replaced with one that writes an OpenAI error."""

from __future__ import annotations

import json

from mitmproxy import http, version
from mitmproxy.net.http import http1
from mitmproxy.proxy.layers.http import _http1

from translators.errors import openai_error

CODES = {
    413: ("invalid_request_error", "request_too_large"),
    502: ("server_error", "upstream_unreachable"),
    504: ("server_error", "upstream_timeout"),
}


def openai_error_response(status_code: int, message: str = "") -> bytes:
    type_, code = CODES.get(status_code, ("server_error" if status_code >= 500 else "invalid_request_error", None))
    text = message or "The proxy could not complete the request."
    if status_code == 502:
        text = f"Could not reach Vertex AI: {text}"
    body = json.dumps(openai_error(text, type_, code)).encode()
    response = http.Response.make(
        status_code, body,
        http.Headers(Server=version.MITMPROXY, Connection="close", Content_Type="application/json"),
    )
    return http1.assemble_response(response)


def install() -> None:
    _http1.make_error_response = openai_error_response
