"""The aiohttp application and a helper to serve it on a socket."""

from __future__ import annotations

import socket

from aiohttp import web

from . import control
from .generate import handle_generate
from .state import EMULATOR, Emulator
from .tokens import handle_token

SERVER_HEADER = "scaffolding on HTTPServer2"
MAX_BODY = 100 * 1024 * 1024


async def _token(request: web.Request) -> web.Response:
    return await handle_token(request, request.app[EMULATOR].tokens)


async def _google_server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_HEADER


def create_app(emulator: Emulator) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[EMULATOR] = emulator
    app.on_response_prepare.append(_google_server_header)
    app.router.add_post("/token", _token)
    for method, path, handler in control.ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_route("*", "/{tail:.*}", handle_generate)
    return app


async def serve(emulator: Emulator, sock: socket.socket) -> web.AppRunner:
    """Start serving on a bound socket; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(create_app(emulator), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


def bind_socket(host: str, port: int) -> socket.socket:
    return socket.create_server((host, port), reuse_port=False)
