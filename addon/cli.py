"""`vertex-bridge`: the addons in a lean embedded mitmproxy (or mitmweb with `--web`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from .settings import Settings, SettingsError, field_option, load_settings

BANNER_EMULATOR = (
    "\n  *** EMULATOR MODE: replies come from the bundled Vertex emulator, NOT from Gemini. ***\n"
    "  Try:  curl http://{host}:{port}/v1/chat/completions -H 'content-type: application/json' \\\n"
    "          -d '{{\"model\": \"gemini-2.5-flash\", \"messages\": [{{\"role\": \"user\", \"content\": \"hi\"}}]}}'\n"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vertex-bridge",
        description="Serve OpenAI Chat Completions at http://HOST:PORT/v1 from Google Vertex AI Gemini.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML config file (default ./vertex-bridge.toml)")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default 4000)")
    parser.add_argument("--web", action="store_true", help="also serve the mitmweb UI to inspect traffic")
    parser.add_argument("--web-port", type=int, default=8081, help="mitmweb UI port (default 8081)")
    parser.add_argument("--emulator", action="store_true",
                        help="try it offline: start the bundled Vertex emulator and use it as upstream")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="run N proxy processes on the same port (SO_REUSEPORT), e.g. one per core")
    parser.add_argument("--set", dest="options", action="append", default=[], metavar="OPTION=VALUE",
                        help="set a vertex_* or mitmproxy option, e.g. --set vertex_project=my-project")
    return parser.parse_args(argv)


def _split_options(pairs: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """--set pairs -> (settings overrides, plain mitmproxy options)."""
    by_option = {field_option(n): n for n in Settings.model_fields if field_option(n)}
    settings: dict[str, Any] = {}
    mitm: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SettingsError(f"--set {pair!r}: expected OPTION=VALUE")
        if key in by_option:
            field = Settings.model_fields[by_option[key]]
            settings[by_option[key]] = value.split(",") if getattr(field.annotation, "__origin__", None) is list else value
        else:
            mitm[key] = value
    return settings, mitm


def _start_emulator() -> dict[str, Any]:
    import tempfile

    from vertex_emulator import EmulatorServer, write_service_account

    emulator = EmulatorServer()
    emulator.start()
    sa_file = write_service_account(
        tempfile.mkstemp(prefix="vertex-bridge-emulator-", suffix=".json")[1], emulator.url + "/token")
    return {"vertex_base_url": emulator.url, "credentials": str(sa_file), "project": "emulator-project",
            "google_api_key": None}


async def _run(settings: Settings, overrides: dict[str, Any], mitm: dict[str, str], args) -> None:
    from mitmproxy import options

    from . import make_addons
    from .bundle import Bridge

    opts = options.Options()
    bridge = Bridge(make_addons(overrides))
    if args.web:
        from mitmproxy.tools.web.master import WebMaster

        master = WebMaster(opts)
        opts.update(web_port=args.web_port, web_open_browser=False)
    else:
        master = lean_master(opts)
    master.addons.add(bridge)
    opts.update(
        mode=[f"reverse:{settings.base_url}@{settings.listen_host}:{settings.listen_port}"],
        connection_strategy="lazy",
        vertex_bridge_config=args.config,
        **mitm,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a clean shutdown: flush spans, close upstreams
        loop.add_signal_handler(sig, master.shutdown)
    await master.run()


def event_loop_factory():
    """uvloop where it is installed and works with mitmproxy's eager task factory (not with Python 3.13.0's
    at the time of writing): from no change to a fifth less CPU per request in repeated runs
    (docs/benchmarks.md). Else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return None

    async def probe() -> None:
        await asyncio.create_task(asyncio.sleep(0))

    loop, check = uvloop.new_event_loop(), probe()
    try:
        loop.set_task_factory(asyncio.eager_task_factory)
        loop.run_until_complete(check)
    except TypeError:
        check.close()
        return None
    finally:
        loop.close()
    return uvloop.new_event_loop


def lean_master(opts):
    """A mitmproxy master with only what a reverse proxy needs (about twice mitmdump's throughput)."""
    from mitmproxy import master
    from mitmproxy.addons import core, errorcheck, next_layer, proxyserver, termlog, tlsconfig

    m = master.Master(opts, with_termlog=False)
    m.addons.add(termlog.TermLog(), core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(),
                 tlsconfig.TlsConfig(), errorcheck.ErrorCheck())
    # mitmproxy re-sends every log record to all addons as the deprecated `add_log` event; only
    # mitmproxy's console and web UIs listen to it, and neither is loaded here.
    if legacy := getattr(m, "_legacy_log_events", None):
        legacy.uninstall()
    return m


def lean_logging() -> None:
    """Skip what log records collect and the access log never prints (the Python logging HOWTO's
    "Optimization" section): the caller's file and line, thread, process and task names."""
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]  (Python >= 3.12)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workers > 1:
        from .workers import run_workers

        return run_workers(sys.argv[1:] if argv is None else argv, args)
    try:
        overrides, mitm = _split_options(args.options)
        if args.host:
            overrides["listen_host"] = args.host
        if args.port:
            overrides["listen_port"] = args.port
        if args.emulator:
            overrides.update(_start_emulator())
        settings = load_settings(args.config, overrides)
        if problem := settings.exposure_problem():
            raise SettingsError(problem)
    except SettingsError as e:
        print(f"vertex-bridge: {e}", file=sys.stderr)
        return 2
    if args.emulator:
        print(BANNER_EMULATOR.format(host=settings.listen_host, port=settings.listen_port), file=sys.stderr)
    print(f"vertex-bridge: serving http://{settings.listen_host}:{settings.listen_port}/v1 -> "
          f"{settings.base_url}", file=sys.stderr)
    logging.getLogger().setLevel(logging.INFO)
    lean_logging()
    # Connection-level chatter (one line per connect/disconnect) is mitmweb's job, not the access log's.
    for noisy in ("tornado", "asyncio", "hpack", "mitmproxy.proxy.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(_run(settings, overrides, mitm, args), loop_factory=event_loop_factory())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
