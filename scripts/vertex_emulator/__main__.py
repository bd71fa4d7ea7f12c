"""CLI: ``python -m vertex_emulator --port 8089 [--fast] …``.

Prints ``vertex-emulator listening on http://HOST:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from .app import bind_socket, serve
from .config import EmulatorConfig
from .service_account import write_service_account
from .state import Emulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vertex-emulator", description="Local Vertex AI Gemini emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--fast", action="store_true", help="no validation or logging; fixed small reply")
    parser.add_argument("--declared-expires-in", type=int, default=3599, help="expires_in told to clients")
    parser.add_argument("--max-token-age", type=float, help="seconds until tokens really stop working")
    parser.add_argument("--api-key", default="emulator-key", help="key accepted on express-mode paths")
    parser.add_argument("--write-service-account", metavar="PATH", help="write a service-account JSON for us")
    parser.add_argument("--project-id", default="emulator-project", help="project_id in that file")
    parser.add_argument("--delay-ms", type=int, default=0, help="wait before response headers")
    parser.add_argument("--stream-chunks", type=int, default=3, help="chunks of the default streamed reply")
    parser.add_argument("--chunk-interval-ms", type=int, default=0, help="wait between stream chunks")
    parser.add_argument("--faults", type=json.loads, default={}, help='e.g. \'{"p429": 0.1, "reset": 0.05}\'')
    parser.add_argument("--seed", type=int, help="seed for --faults")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(api_key=args.api_key, declared_expires_in=args.declared_expires_in,
                          max_token_age=args.max_token_age, fast=args.fast, delay_ms=args.delay_ms,
                          stream_chunks=args.stream_chunks, chunk_interval_ms=args.chunk_interval_ms,
                          faults=args.faults, seed=args.seed)


async def run(args: argparse.Namespace, emulator: Emulator) -> None:
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if args.write_service_account:
        write_service_account(args.write_service_account, f"http://{host}:{port}/token", args.project_id)
    runner = await serve(emulator, sock)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    print(f"vertex-emulator listening on http://{host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(config_from_args(args))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(run(args, emulator))
    except OSError as exc:
        print(f"vertex-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
