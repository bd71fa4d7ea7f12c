"""The processes a run starts: the emulator, the proxy (lean runner, `mitmdump -s`, variants), LiteLLM.

Everything listens on 127.0.0.1 on free ports and is stopped at the end of the run; each process's
output goes to a log file in the run's work directory.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-bench-" + secrets.token_hex(16)  # the proxy and LiteLLM both require it
PROJECT = "bench-project"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, body: dict | None = None, timeout: float = 5.0) -> dict | list:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _env(extra: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    env = {**os.environ, "NO_GCE_CHECK": "true", "PYTHONUNBUFFERED": "1", **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "scripts"), env.get("PYTHONPATH", "")])
    return env


class Process:
    """A started server process; `ready_path` is polled until it answers 200."""

    name = "process"
    ready_path = "/health"

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, workdir: Path, name: str,
                 root: Path = ROOT) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"{name.replace('/', '_')}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=_env(env, root), stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=root, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 90.0) -> "Process":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}")

    def wait_log(self, text: str, count: int, timeout: float = 60.0) -> "Process":
        """Wait until `text` appears `count` times in the output (e.g. every worker listening)."""
        deadline = time.monotonic() + timeout
        while self.log_text().count(text) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: {text!r} seen fewer than {count} times; see {self.log_path}")
            time.sleep(0.1)
        return self

    def rss_mb(self) -> float:
        """Resident memory of the process and its children, in MB."""
        return sum(_rss_kb(pid) for pid in [self.pid, *_children(self.pid)]) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far."""
        return sum(_cpu_ticks(pid) for pid in [self.pid, *_children(self.pid)]) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
                self.proc.wait(10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        self._log.close()


class Emulator(Process):
    ready_path = "/_emulator/health"

    def __init__(self, workdir: Path, **options: int) -> None:
        self.sa_file = workdir / "service-account.json"
        port = free_port()
        cmd = [sys.executable, "-m", "vertex_emulator", "--fast", "--port", str(port),
               "--write-service-account", str(self.sa_file), "--project-id", PROJECT]
        for key, value in options.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        super().__init__(cmd, {}, port, workdir, "emulator")

    def configure(self, **changes) -> dict:
        return http_json(self.url + "/_emulator/config", changes)

    def token(self) -> str:
        """An access token from the emulator's OAuth endpoint, as google-auth gets one."""
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_file(
            str(self.sa_file), scopes=["https://www.googleapis.com/auth/cloud-platform"])
        creds.refresh(Request())
        return creds.token

    def vertex_url(self, stream: bool) -> str:
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return (f"{self.url}/v1/projects/{PROJECT}/locations/global/publishers/google/models/"
                f"gemini-2.5-flash:{method}")


def proxy(kind: str, emulator: Emulator, workdir: Path, workers: int = 2) -> Process:
    """The proxy in one of its forms: lean, mitmdump, workers, uvloop, quiet (access log off), or
    `tree=PATH`: the lean runner from another checkout (to compare a change side by side)."""
    port = free_port()
    root = ROOT
    if kind.startswith("tree="):
        root = Path(kind.removeprefix("tree=")).resolve()
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(emulator.sa_file), "VERTEX_BRIDGE_VERTEX_BASE_URL": emulator.url,
           "GOOGLE_CLOUD_PROJECT": PROJECT, "VERTEX_BRIDGE_API_KEYS": API_KEY}
    lean = [sys.executable, "-m", "addon.cli", "--port", str(port)]
    if kind == "mitmdump":
        env["VERTEX_BRIDGE_LISTEN_PORT"] = str(port)
        cmd = [str(Path(sys.executable).with_name("mitmdump")), "-s", str(root / "addon" / "vertex_bridge.py")]
    elif kind == "workers":
        cmd = [*lean, "--workers", str(workers)]
    elif kind == "uvloop":
        # mitmproxy 12 installs asyncio's eager task factory, which uvloop's create_task cannot call
        # (TypeError: unexpected keyword argument 'eager_start'): the variant runs without it.
        cmd = [sys.executable, "-c", "import contextlib, sys, uvloop; from mitmproxy.utils import asyncio_utils; "
               "asyncio_utils.set_eager_task_factory = contextlib.nullcontext; uvloop.install(); "
               "from addon.cli import main; sys.exit(main(sys.argv[1:]))", "--port", str(port)]
    elif kind == "quiet":
        cmd = [*lean, "--set", "termlog_verbosity=warn"]
    else:
        cmd = lean
    return Process(cmd, env, port, workdir, kind, root)


class LiteLLM(Process):
    ready_path = "/health/liveliness"

    def __init__(self, executable: Path, emulator: Emulator, workdir: Path) -> None:
        config = workdir / "litellm.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: gemini-2.5-flash\n"
            "    litellm_params:\n"
            "      model: vertex_ai/gemini-2.5-flash\n"
            f"      api_base: {emulator.url}\n"
            f"      vertex_project: {PROJECT}\n"
            "      vertex_location: global\n"
            f"      vertex_credentials: {emulator.sa_file}\n"
            "litellm_settings:\n  drop_params: true\n"
            f"general_settings:\n  master_key: {API_KEY}\n")
        port = free_port()
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "PYTHONPATH": ""}
        cmd = [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
               "--telemetry", "False"]
        super().__init__(cmd, env, port, workdir, "litellm")

    @staticmethod
    def version(executable: Path) -> str:
        python = executable.with_name("python")
        out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"


def find_litellm() -> Path | None:
    venv = os.environ.get("BENCH_LITELLM_VENV") or str(Path.home() / ".cache/vertex-bridge/bench-litellm")
    candidate = Path(venv) / "bin" / "litellm"
    return candidate if candidate.exists() else None


def _children(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(k) for k in kids]
        frontier += [int(k) for k in kids]
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def _rss_kb(pid: int) -> int:
    try:
        match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0
    return int(match.group(1)) if match else 0


def tcp_states(port: int) -> dict[str, int]:
    """Loopback TCP sockets with `port` on either end, by state (ESTABLISHED, TIME_WAIT, …)."""
    names = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}
    counts: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if int(local.rsplit(":", 1)[1], 16) == port or int(remote.rsplit(":", 1)[1], 16) == port:
                name = names.get(state, state)
                counts[name] = counts.get(name, 0) + 1
    return counts


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import platform

    cpu = "?"
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    versions = {}
    for package in ("mitmproxy", "aiohttp", "pydantic"):
        try:
            import importlib.metadata as metadata
            versions[package] = metadata.version(package)
        except Exception:  # noqa: BLE001 - informational only
            versions[package] = "?"
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "kernel": platform.release(), **versions}
