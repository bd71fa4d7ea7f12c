"""Smoke tests for what we ship, run by scripts/ship-check. Standard library only.

    smoke.py wheel-contents DIST_DIR          the sdist and the wheel exist; the wheel holds the packages
    smoke.py image --venv DIR                 the Dockerfile's runtime stage, repeated without Docker
    smoke.py binary --exe PATH                the single-file executable: --help, one chat via --emulator
    smoke.py commands --bin DIR               console scripts installed by pipx answer --help

`image` reads the runtime stage of the Dockerfile (its ENV lines, ENTRYPOINT and HEALTHCHECK) and
applies them to a virtualenv that holds the installed wheel, with /opt/vertex-bridge mapped to that
virtualenv and the home directory to a fresh temporary one. Then, like the container:
  - without VERTEX_BRIDGE_API_KEYS the proxy must refuse to start (exit 2, and say why);
  - with keys it must serve /health, pass the HEALTHCHECK command, list models, complete a chat
    (unary and streamed) against the emulator installed from the same wheel, and stop on STOPSIGNAL.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_VENV = "/opt/vertex-bridge"
IMAGE_HOME = "/home/vertex-bridge"
KEY = "ship-check-key-" + os.urandom(6).hex()
PROMPT = "hello from ship-check"


class Failed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def say(message: str) -> None:
    print(f"  ok  {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that could point the proxy elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VERTEX_BRIDGE_", "GOOGLE_", "PYTHON", "VIRTUAL_ENV", "MITMPROXY"))}
    env.update(NO_GCE_CHECK="true", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def http(method: str, url: str, body: dict | None = None, key: str | None = None,
         timeout: float = 30) -> tuple[int, str, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if key:
        request.add_header("authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), {k.lower(): v for k, v in e.headers.items()}


class Process:
    """A child process whose output goes to a log file (shown when something fails)."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, name: str) -> None:
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"ship-{name}-", suffix=".log")[1])
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"{self.name} exited with {self.proc.returncode} before {what}:\n{self.output()}")
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Failed(f"{self.name}: no {what} after {timeout:.0f}s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self._out.close()
                return None
        self._out.close()
        return self.proc.returncode


def healthy(url: str) -> bool:
    status, body, _ = http("GET", url + "/health", timeout=2)
    return status == 200 and json.loads(body).get("status") == "ok"


def check_chats(url: str, key: str | None, model: str = "vertex/gemini-2.5-flash") -> None:
    messages = [{"role": "user", "content": PROMPT}]
    if key:
        status, body, _ = http("POST", url + "/v1/chat/completions", {"model": model, "messages": messages})
        check(status == 401, f"a chat without the key must get 401, got {status}: {body[:300]}")
        say("a chat without the key is refused (401)")
    status, body, _ = http("GET", url + "/v1/models", key=key)
    check(status == 200 and model in [m["id"] for m in json.loads(body)["data"]],
          f"/v1/models: {status} {body[:300]}")
    say(f"/v1/models lists {model}")
    status, body, _ = http("POST", url + "/v1/chat/completions", {"model": model, "messages": messages}, key)
    check(status == 200, f"chat: HTTP {status}: {body[:500]}")
    reply = json.loads(body)
    content = reply["choices"][0]["message"]["content"]
    check(PROMPT in content and reply["model"] == model, f"unexpected chat reply: {body[:500]}")
    say(f"chat completion: {content!r}")
    status, body, headers = http("POST", url + "/v1/chat/completions",
                                 {"model": model, "messages": messages, "stream": True}, key)
    check(status == 200 and headers.get("content-type", "").startswith("text/event-stream"),
          f"streamed chat: HTTP {status} {headers.get('content-type')}: {body[:300]}")
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    check(events and events[-1] == "[DONE]", f"stream does not end with [DONE]: {body[-300:]}")
    text = "".join((json.loads(e)["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                   for e in events[:-1])
    check(PROMPT in text, f"streamed text lacks the prompt: {text!r}")
    say(f"streamed chat completion: {len(events)} events ending in [DONE]")


# --- the Dockerfile's runtime stage --------------------------------------------------------------

def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    result = []
    for line in joined:
        word, _, rest = line.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def runtime_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def image_config(venv: Path, home: Path) -> dict:
    """ENV, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL and EXPOSE of the runtime stage, mapped onto `venv` and `home`."""
    stage = runtime_stage(dockerfile_instructions())
    env: dict[str, str] = {}
    config: dict = {"env": env}
    for word, args in stage:
        if word == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                value = value.replace(IMAGE_VENV, str(venv)).replace(IMAGE_HOME, str(home))
                value = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m[1], os.environ.get(m[1], "")), value)
                env[name] = value
        elif word == "ENTRYPOINT":
            config["entrypoint"] = json.loads(args)
        elif word == "HEALTHCHECK":
            config["healthcheck"] = json.loads(args[args.index("CMD") + 3:].strip())
        elif word == "STOPSIGNAL":
            config["stopsignal"] = getattr(signal, args.strip())
        elif word == "EXPOSE":
            config["expose"] = int(args.split("/")[0])
    for needed in ("entrypoint", "healthcheck", "stopsignal", "expose"):
        check(needed in config, f"Dockerfile: the runtime stage has no {needed.upper()}")
    return config


def run_image(venv: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="ship-home-"))
    workdir = Path(tempfile.mkdtemp(prefix="ship-workdir-"))
    config = image_config(venv, home)
    env = config["env"]
    check(env.get("VERTEX_BRIDGE_LISTEN_HOST") == "0.0.0.0", "the image must listen on 0.0.0.0")
    check(env.get("VERTEX_BRIDGE_LISTEN_PORT") == str(config["expose"]), "EXPOSE and the listen port differ")
    say(f"Dockerfile runtime stage: ENTRYPOINT {config['entrypoint']}, EXPOSE {config['expose']}, "
        f"listens on {env['VERTEX_BRIDGE_LISTEN_HOST']}")
    entrypoint = [str(venv / "bin" / config["entrypoint"][0]), *config["entrypoint"][1:]]

    emulator = Process([str(venv / "bin" / "vertex-emulator"), "--port", "0", "--write-service-account",
                        str(home / "sa.json")], clean_env(), workdir, "emulator")
    try:
        emulator.wait_for(lambda: "listening on" in emulator.output(), "'listening on' line")
        emulator_url = re.search(r"listening on (http://\S+)", emulator.output())[1]
        say(f"vertex-emulator (installed from the wheel) at {emulator_url}")

        refused = subprocess.run(entrypoint, env=clean_env(**env), cwd=workdir, capture_output=True, text=True,
                                 timeout=60, stdin=subprocess.DEVNULL)
        check(refused.returncode == 2 and "refusing to listen on 0.0.0.0 without api_keys" in refused.stderr,
              f"without keys the image must refuse to start (exit 2); got {refused.returncode}:\n{refused.stderr}")
        say("without VERTEX_BRIDGE_API_KEYS: exit 2, " + refused.stderr.strip().splitlines()[-1][:100])

        port = free_port()
        run_env = clean_env(**{**env, "VERTEX_BRIDGE_LISTEN_PORT": str(port)}, VERTEX_BRIDGE_API_KEYS=KEY,
                            GOOGLE_APPLICATION_CREDENTIALS=str(home / "sa.json"),
                            GOOGLE_CLOUD_PROJECT="ship-check-project", VERTEX_BRIDGE_VERTEX_BASE_URL=emulator_url)
        proxy = Process(entrypoint, run_env, workdir, "vertex-bridge")
        url = f"http://127.0.0.1:{port}"
        try:
            proxy.wait_for(lambda: healthy(url), "healthy /health")
            say(f"/health: {http('GET', url + '/health')[1]}")
            health_cmd = config["healthcheck"]
            health_env = {**run_env, "PATH": env["PATH"]}
            result = subprocess.run(health_cmd, env=health_env, cwd=workdir, capture_output=True, text=True,
                                    timeout=30)
            check(result.returncode == 0, f"HEALTHCHECK command failed ({result.returncode}): {result.stderr}")
            say("the Dockerfile's HEALTHCHECK command passes")
            check_chats(url, KEY)
            check((home / ".mitmproxy").is_dir(), "mitmproxy did not write its state under HOME")
            code = proxy.stop(config["stopsignal"])
            check(code == 0, f"STOPSIGNAL {config['stopsignal'].name} must stop the proxy cleanly; "
                             f"exit {code}:\n{proxy.output()}")
            say(f"STOPSIGNAL {config['stopsignal'].name}: exit 0")
            result = subprocess.run(health_cmd, env=health_env, cwd=workdir, capture_output=True, timeout=30)
            check(result.returncode != 0, "HEALTHCHECK passes with the proxy stopped")
            say("the HEALTHCHECK command fails once the proxy is gone")
        finally:
            proxy.stop(signal.SIGKILL)
    finally:
        emulator.stop()


# --- the single-file executable ------------------------------------------------------------------

def run_binary(exe: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ship-bin-"))
    env = clean_env(HOME=str(workdir))
    started = time.monotonic()
    result = subprocess.run([str(exe), "--help"], env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    check(result.returncode == 0 and "usage: vertex-bridge" in result.stdout and "--emulator" in result.stdout,
          f"{exe.name} --help: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    say(f"{exe.name} --help ({time.monotonic() - started:.1f}s)")
    port = free_port()
    proxy = Process([str(exe), "--emulator", "--port", str(port)], env, workdir, exe.name)
    url = f"http://127.0.0.1:{port}"
    try:
        proxy.wait_for(lambda: healthy(url), "healthy /health", timeout=90)
        check("EMULATOR MODE" in proxy.output(), "the emulator banner is missing")
        say(f"{exe.name} --emulator: /health ok")
        check_chats(url, None)
        code = proxy.stop(signal.SIGINT)
        check(code == 0, f"SIGINT must stop the executable cleanly; exit {code}:\n{proxy.output()}")
        say("SIGINT: exit 0")
    finally:
        proxy.stop(signal.SIGKILL)


# --- distributions and console scripts -----------------------------------------------------------

def wheel_contents(dist: Path) -> None:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    check(len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist in {dist}")
    with zipfile.ZipFile(wheels[0]) as z:
        names = set(z.namelist())
        entry_points = next((z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")), "")
    for module in ("addon/cli.py", "addon/vertex_bridge.py", "translators/__init__.py",
                   "vertex_emulator/__init__.py", "vertex_emulator/__main__.py"):
        check(module in names, f"{wheels[0].name} lacks {module}")
    for script in ("vertex-bridge = addon.cli:main", "vertex-emulator = vertex_emulator.__main__:main"):
        check(script in entry_points, f"{wheels[0].name} lacks the console script {script!r}")
    check(not any(n.startswith("tests/") for n in names), f"{wheels[0].name} ships tests/")
    say(f"{wheels[0].name} ({wheels[0].stat().st_size // 1024} KB): addon, translators, vertex_emulator, "
        "console scripts vertex-bridge and vertex-emulator")
    say(f"{sdists[0].name} ({sdists[0].stat().st_size // 1024} KB)")


def commands(bin_dir: Path) -> None:
    for name in ("vertex-bridge", "vertex-emulator"):
        result = subprocess.run([str(bin_dir / name), "--help"], capture_output=True, text=True, timeout=60,
                                env=clean_env(), stdin=subprocess.DEVNULL)
        check(result.returncode == 0 and f"usage: {name}" in result.stdout,
              f"{name} --help failed ({result.returncode}): {result.stderr}")
        say(f"{bin_dir / name} --help")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("wheel-contents").add_argument("dist", type=Path)
    sub.add_parser("image").add_argument("--venv", type=Path, required=True)
    sub.add_parser("binary").add_argument("--exe", type=Path, required=True)
    sub.add_parser("commands").add_argument("--bin", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.what == "wheel-contents":
            wheel_contents(args.dist)
        elif args.what == "image":
            run_image(args.venv.resolve())
        elif args.what == "binary":
            run_binary(args.exe.resolve())
        else:
            commands(args.bin)
    except Failed as e:
        print(f"  FAIL {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
