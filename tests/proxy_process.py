"""Start the real proxy (`vertex-bridge` or `mitmdump -s`) as a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, check_alive, timeout: float = 30.0) -> bool:
    """Poll `url/health` until it answers 200 (True) or `timeout` passes (False); `check_alive` raises
    when the proxy has died, so a crash is reported at once rather than as a time-out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive()
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return False


class ProxyProcess:
    """A running proxy on 127.0.0.1:<free port>; its combined output goes to `self.log_path`."""

    def __init__(self, env: dict[str, str], args: list[str] | None = None, runner: str = "lean") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="proxy-", suffix=".log")[1])
        full_env = {**os.environ, "NO_GCE_CHECK": "true", "PYTHONUNBUFFERED": "1", **env}
        full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "scripts"), full_env.get("PYTHONPATH", "")])
        if runner == "lean":
            cmd = [sys.executable, "-m", "addon.cli", "--port", str(self.port), *(args or [])]
        else:
            tool = Path(sys.executable).with_name(runner)
            full_env["VERTEX_BRIDGE_LISTEN_PORT"] = str(self.port)
            cmd = [str(tool), "-s", str(ROOT / "addon" / "vertex_bridge.py"), "--set", "termlog_verbosity=info",
                   *(args or [])]
            if runner == "mitmweb":
                cmd += ["--set", f"web_port={free_port()}", "--set", "web_open_browser=false"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self, timeout: float = 30.0) -> "ProxyProcess":
        def check_alive() -> None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.proc.returncode}:\n{self.output()}")

        if not wait_healthy(self.url, check_alive, timeout):
            raise RuntimeError(f"proxy not ready after {timeout}s:\n{self.output()}")
        return self

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, since: int = 0, timeout: float = 5.0) -> str:
        """The output from character `since` on, once it holds `text` (access-log lines are written just
        after the reply went out)."""
        deadline = time.monotonic() + timeout
        while text not in (out := self.output()[since:]) and time.monotonic() < deadline:
            time.sleep(0.02)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
