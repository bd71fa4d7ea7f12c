"""The real addons in a lean mitmproxy master on a thread of the test process.

For tests that must look inside the proxy (an OpenTelemetry in-memory exporter, `sys.modules`);
everything else uses the subprocess in proxy_process.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from proxy_process import free_port, wait_healthy


class InProcessProxy:
    def __init__(self, overrides: dict[str, Any], prepare: Callable[[list[Any]], None] | None = None) -> None:
        self.overrides = overrides
        self.prepare = prepare  # called with the addon list before it is loaded
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.master: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="in-process-proxy", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 (reported by start())
            self.error = e

    async def _main(self) -> None:
        from mitmproxy import options

        from addon import make_addons
        from addon.bundle import Bridge
        from addon.cli import lean_master

        opts = options.Options()
        master = lean_master(opts)
        addons = make_addons(self.overrides)
        if self.prepare:
            self.prepare(addons)
        master.addons.add(Bridge(addons))
        opts.update(mode=[f"reverse:{self.overrides['vertex_base_url']}@127.0.0.1:{self.port}"],
                    connection_strategy="lazy", vertex_bridge_config=None)
        self.master = master
        await master.run()

    def start(self, timeout: float = 30.0) -> InProcessProxy:
        self._thread.start()

        def check_alive() -> None:
            if self.error is not None or not self._thread.is_alive():
                raise RuntimeError(f"in-process proxy failed: {self.error!r}")

        if not wait_healthy(self.url, check_alive, timeout):
            raise RuntimeError("in-process proxy not ready")
        return self

    def stop(self) -> None:
        if self.master is not None:
            self.master.shutdown()
        self._thread.join(10)

    def __enter__(self) -> InProcessProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
