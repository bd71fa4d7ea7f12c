"""``EmulatorServer``: the emulator on 127.0.0.1 in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .app import bind_socket, serve
from .config import EmulatorConfig
from .replies import Reply
from .service_account import write_service_account
from .state import Emulator


class EmulatorServer:
    """A running emulator for tests and tools::

        with EmulatorServer(max_token_age=2) as emu:
            emu.queue(Reply.text("hi"))
            requests.post(emu.url + "/v1/projects/p/locations/l/publishers/google/models/m:generateContent", …)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.host = host
        self.emulator = Emulator(EmulatorConfig(**config))
        self._sock = bind_socket(host, port)
        self.port: int = self._sock.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="vertex-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("vertex emulator did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._runner = self._loop.run_until_complete(serve(self.emulator, self._sock))
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting and inspection ---------------------------------------------------
    def queue(self, *replies: Reply) -> None:
        self.emulator.queue(replies)

    def reset(self) -> None:
        self.emulator.reset()

    def revoke_all(self) -> int:
        return self.emulator.tokens.revoke_all()

    def configure(self, **changes: Any) -> None:
        self.emulator.configure(**changes)

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    @property
    def log(self) -> list[dict[str, Any]]:
        return self.emulator.log.entries()

    @property
    def tokens_issued(self) -> list[dict[str, Any]]:
        return self.emulator.tokens.issued()

    @property
    def token_requests(self) -> list[dict[str, Any]]:
        return self.emulator.tokens.requests()

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
        """Poll ``predicate`` until it returns something truthy; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met within %.1f s" % timeout)
            time.sleep(interval)

    def write_service_account(self, path: str | Path, project_id: str = "emulator-project") -> Path:
        return write_service_account(path, self.token_uri, project_id)
