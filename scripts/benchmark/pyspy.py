"""A py-spy profile of the proxy under load, summarised: where the event loop's time goes.

Only samples of the event-loop thread count (thread-pool workers waiting on a queue are not work).
Shares are of those samples: 'inclusive' counts a function whenever it is on the stack, 'self' only
when it is the running frame.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

AREAS = (  # first match wins, checked against the file of a frame
    ("addon", re.compile(r"(^|/)addon/")),
    ("translators", re.compile(r"(^|/)translators/")),
    ("aiohttp", re.compile(r"(^|/)(aiohttp|multidict|yarl)/")),
    ("mitmproxy", re.compile(r"(^|/)(mitmproxy|h11|h2|wsproto)/")),
    ("logging", re.compile(r"(^|/)logging/")),
    ("json/pydantic", re.compile(r"(^|/)(json|pydantic|pydantic_core)/")),
    ("asyncio", re.compile(r"(^|/)(asyncio/|selectors|socket\.py)")),
)
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def executable() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, rate: int = 200) -> bool:
    tool = executable()
    if tool is None:
        return False
    cmd = [tool, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
           "--format", "raw", "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    return done.returncode == 0 and out.exists()


def record_during(pid: int, seconds: float, out: Path, work) -> bool:
    """Profile `pid` while `work()` runs in this thread."""
    ok: list[bool] = []
    thread = threading.Thread(target=lambda: ok.append(record(pid, seconds, out)))
    thread.start()
    work()
    thread.join()
    return bool(ok and ok[0])


def _area(file: str) -> str:
    for name, pattern in AREAS:
        if pattern.search(file):
            return name
    return "other"


# The frame the event loop runs callbacks from: asyncio's `_run_once`, or (uvloop, whose loop is C code)
# the `Runner.run` that called it.
LOOP_FRAMES = ("_run_once", "Runner.run (asyncio/runners.py")


def summarize(raw: str, top: int = 12) -> dict:
    inclusive, self_time, areas_self, areas_incl = Counter(), Counter(), Counter(), Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        names = stack.split(";")
        marks = [i for i, f in enumerate(names) if any(m in f for m in LOOP_FRAMES)]
        if not stack or not count.isdigit() or not marks or names[0].startswith("_bootstrap "):
            continue  # not the event-loop thread (thread-pool workers start in threading._bootstrap)
        n = int(count)
        total += n
        loop = marks[-1]
        frames = [FRAME.match(f) for f in names[loop + 1:]]  # what the event loop ran
        frames = [(m["func"], m["file"]) for m in frames if m]
        if not frames:
            continue
        seen, seen_areas = set(), set()
        for func, file in frames:
            key = f"{func} ({_short(file)})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += n
            area = _area(file)
            if area not in seen_areas:
                seen_areas.add(area)
                areas_incl[area] += n
        func, file = frames[-1]
        self_time[f"{func} ({_short(file)})"] += n
        areas_self[_area(file)] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter, keep=lambda k: True, limit: int = top) -> list[tuple[str, float]]:
        return [(k, 100 * v / total) for k, v in counter.most_common() if keep(k)][:limit]

    ours = lambda k: k.split("(")[-1].startswith(("addon/", "translators/"))  # noqa: E731
    return {"samples": total, "self_by_area": share(areas_self, limit=10),
            "inclusive_by_area": share(areas_incl, limit=10), "top_self": share(self_time),
            "top_ours": share(inclusive, ours)}


def _short(file: str) -> str:
    for marker in ("site-packages/", "/lib/python3."):
        if marker in file:
            file = file.split(marker, 1)[1]
            return file.split("/", 1)[1] if marker.startswith("/lib") and "/" in file else file
    for root in ("addon/", "translators/", "scripts/"):
        if root in file:
            return root + file.split(root, 1)[1]
    return file
