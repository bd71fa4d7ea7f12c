"""`vertex-bridge --workers N`: N proxy processes sharing one listening port, one per core.

mitmproxy's core is a single-threaded asyncio loop, so one process uses at most one core. With
`--workers N` this process becomes a supervisor: it starts N copies of `vertex-bridge` that all listen on
the same address with SO_REUSEPORT, and the kernel spreads new client connections across them (Linux
balances them; other systems may not). It forwards SIGINT/SIGTERM and, if one worker dies, stops the
others and exits with that worker's status.

Each worker keeps its own state: its Google token (each refreshes it), its thought-signature store (a
follow-up turn that lands on another worker gets Vertex's documented bypass signature instead), and its
rate limits and circuit breakers (so limits apply per worker). `--web` is not available with workers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

WORKER_ENV = "VERTEX_BRIDGE_WORKER"  # set in each worker: its number, 1..N


def enable_reuse_port() -> None:
    """Make mitmproxy's reverse-proxy listener bind with SO_REUSEPORT (only in worker processes)."""
    import asyncio

    from mitmproxy.proxy import mode_servers

    inherited = mode_servers.AsyncioServerInstance.listen

    async def listen(self: Any, host: str, port: int) -> list:
        if self.mode.transport_protocol == "tcp" and port:
            return [await asyncio.start_server(self.handle_stream, host, port, reuse_port=True)]
        return await inherited(self, host, port)

    mode_servers.ReverseInstance.listen = listen


def _worker_argv(argv: list[str], emulator: dict[str, Any] | None) -> list[str]:
    """The supervisor's arguments minus --workers/--emulator (the workers share its emulator)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers=") or arg == "--emulator":
            continue
        out.append(arg)
    if emulator:
        out += ["--set", f"vertex_base_url={emulator['vertex_base_url']}",
                "--set", f"vertex_credentials={emulator['credentials']}",
                "--set", f"vertex_project={emulator['project']}"]
    return out


def _port_is_free(host: str, port: int) -> bool:
    """True unless something (e.g. workers left from an earlier run) already listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def run_workers(argv: list[str], args: Any) -> int:
    from .cli import BANNER_EMULATOR, _split_options, _start_emulator
    from .settings import SettingsError, load_settings

    def fail(message: str) -> int:
        print(f"vertex-bridge: {message}", file=sys.stderr)
        return 2

    if args.web:
        return fail("--workers cannot be combined with --web (each worker would need its own UI).")
    if not hasattr(socket, "SO_REUSEPORT"):
        return fail("--workers needs SO_REUSEPORT, which this system does not have.")
    try:
        overrides, _ = _split_options(args.options)
        overrides.update({k: v for k, v in (("listen_host", args.host), ("listen_port", args.port)) if v})
        emulator = _start_emulator() if args.emulator else None
        settings = load_settings(args.config, {**overrides, **(emulator or {})})
        if problem := settings.exposure_problem():
            raise SettingsError(problem)
    except SettingsError as e:
        return fail(str(e))
    host, port = settings.listen_host, settings.listen_port
    if not port:
        return fail("--workers needs a fixed --port (not 0).")
    if not _port_is_free(host, port):
        return fail(f"{host}:{port} is already in use.")
    if emulator:
        print(BANNER_EMULATOR.format(host=host, port=port), file=sys.stderr)
    print(f"vertex-bridge: {args.workers} workers sharing http://{host}:{port}/v1", file=sys.stderr)
    env = dict(os.environ)
    if emulator:
        env.pop("VERTEX_BRIDGE_GOOGLE_API_KEY", None)
    cmd = [sys.executable, "-m", "addon.workers", *_worker_argv(argv, emulator)]
    # Own sessions: a Ctrl-C reaches the supervisor only, which forwards it once.
    workers = [subprocess.Popen(cmd, env={**env, WORKER_ENV: str(i + 1)}, start_new_session=True)
               for i in range(args.workers)]
    return _supervise(workers)


def _supervise(workers: list[subprocess.Popen]) -> int:
    def forward(signum: int, _frame: Any) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    status = 0
    pids = {w.pid: w for w in workers}
    while pids:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pids.pop(pid, None) is None:
            continue
        code = os.waitstatus_to_exitcode(code)
        if pids and not status:
            status = code or 0
            forward(signal.SIGTERM, None)  # one worker ended: the others follow
    return status


def main() -> int:
    """A worker: the normal `vertex-bridge` command, listening with SO_REUSEPORT."""
    enable_reuse_port()
    from .cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
