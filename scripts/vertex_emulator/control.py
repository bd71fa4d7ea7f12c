"""HTTP control endpoints under ``/_emulator/`` so another process can drive the emulator.

    GET  /_emulator/health   {"status": "ok", "queued": N, "fast": bool}
    POST /_emulator/queue    a reply description, a list of them, or {"replies": [...]} (see Reply.from_json)
    POST /_emulator/reset    forget queue, log and token records; restore the startup config
    POST /_emulator/revoke   invalidate every issued token
    GET  /_emulator/log      request log entries (``?since=ID`` for entries after ID)
    GET  /_emulator/tokens   {"issued": [...], "requests": [...]}
    GET/POST /_emulator/config   read / change config options (JSON object of EmulatorConfig fields)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .replies import Reply
from .state import EMULATOR, Emulator


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json(request: web.Request) -> Any:
    return await request.json() if request.can_read_body else {}


async def health(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    return web.json_response({"status": "ok", "queued": len(emulator.script), "fast": emulator.config.fast})


async def queue(request: web.Request) -> web.Response:
    data = await _json(request)
    items = data.get("replies", []) if isinstance(data, dict) and "replies" in data else data
    try:
        replies = [Reply.from_json(item) for item in (items if isinstance(items, list) else [items])]
    except (TypeError, ValueError, KeyError) as exc:
        return _bad(str(exc))
    _emulator(request).queue(replies)
    return web.json_response({"queued": len(replies), "pending": len(_emulator(request).script)})


async def reset(request: web.Request) -> web.Response:
    _emulator(request).reset()
    return web.json_response({"ok": True})


async def revoke(request: web.Request) -> web.Response:
    return web.json_response({"revoked": _emulator(request).tokens.revoke_all()})


async def log(request: web.Request) -> web.Response:
    since = int(request.query.get("since", 0))
    return web.json_response([e for e in _emulator(request).log.entries() if e["id"] > since])


async def tokens(request: web.Request) -> web.Response:
    table = _emulator(request).tokens
    return web.json_response({"issued": table.issued(), "requests": table.requests()})


async def config(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    if request.method == "POST":
        try:
            emulator.configure(**await _json(request))
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
    return web.json_response(emulator.config.as_dict())


ROUTES = [
    ("GET", "/_emulator/health", health),
    ("POST", "/_emulator/queue", queue),
    ("POST", "/_emulator/reset", reset),
    ("POST", "/_emulator/revoke", revoke),
    ("GET", "/_emulator/log", log),
    ("GET", "/_emulator/tokens", tokens),
    ("GET", "/_emulator/config", config),
    ("POST", "/_emulator/config", config),
]
