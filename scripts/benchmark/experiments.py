"""Changes to the addon tried side by side with `scripts/bench --variants tree=PATH`, and what they did.

They need a patched checkout each, so this script does not re-run them: the results are recorded here
(with when and how) so that docs/benchmarks.md keeps every one. To re-measure a change:

    scripts/bench --quick --rounds 3 --seconds 2 --only variants --variants tree=/path/to/patched/checkout
"""

from __future__ import annotations

MEASURED = ("2026-11-29 on this 2-core machine (load average about 1), each patched checkout next to the "
            "unpatched one in the same run: `scripts/bench --quick --rounds 3 --seconds 2 --only variants "
            "--variants tree=…`. 'Both at once' shares the machine between the two at the same moment; even so "
            "this machine's CPU-time figures move by ±25 % between runs, so only effects seen in every line and "
            "in repeated runs are called real.")

# change, where, figures (vs the unpatched proxy), verdict
EXPERIMENTS = (
    ("All of the three kept below together (unary calls from the request hook, `pydantic_core.to_json`, one "
     "bundled addon) plus `gc.freeze()`", "addon/router.py, addon/cli.py",
     "CPU per request −20 to −40 % on every line (−35 % both at once; −29 to −51 % in an earlier run); "
     "requests/s at 16 +29 %, +50 % both at once; small requests at concurrency 1: p50 4.29 → 2.94 ms",
     "**helps most**: suggested"),
    ("Unary requests: call the upstream from the `request` hook (`Upstreams.open`) and set `flow.response`, "
     "instead of sending them through the in-process relay (streams keep the relay)", "addon/router.py",
     "CPU per request −12 % both at once, −18 % at concurrency 1, −37 % at 16; requests/s at 16 +58 %; "
     "small p50 4.45 → 3.61 ms. No effect on streamed requests (the cursor body streams)",
     "**helps**: suggested"),
    ("No relay at all: mitmproxy forwards to Vertex itself (the design before the relay)", "addon/router.py",
     "CPU per request −20 to −32 %, requests/s +35 to +48 % (noisier earlier runs); loses the relay's retries, "
     "fail-over, pings and idle timeouts", "the relay hop's cost, measured; not suggested as such"),
    ("Serialize the Vertex body with `pydantic_core.to_json` instead of `json.dumps(ensure_ascii=False)` "
     "(identical bytes, no new dependency)", "addon/router.py",
     "250 kB body: CPU per request −22 %, requests/s +25 %, p50 7.96 → 6.67 ms; in isolation 1.0–3.2 ms → "
     "0.17–0.7 ms. Small bodies: no change", "**helps large requests**: suggested"),
    ("orjson instead of json / pydantic_core", "(dependency)",
     "250 kB body: dumps 0.05–0.11 ms vs pydantic_core 0.17–0.34 ms; loads + validate 0.21–0.40 ms vs "
     "0.16–0.62 ms with pydantic_core.from_json (what the proxy uses)",
     "not worth a dependency: pydantic_core gets most of it"),
    ("One bundled addon dispatching to the bridge's 17 (mitmproxy walks every addon, with a context manager, "
     "for every event: ~25 % of the event loop's time in the profile)", "addon/cli.py (+ a small addon/bundle.py)",
     "CPU per request −19 % both at once (−17 % in an earlier run), −17 to −23 % at concurrency 1 and 16; "
     "requests/s at 16 +22 %", "**helps**: suggested"),
    ("`gc.freeze()` once started (a full collection otherwise scans ~10^5 start-up objects: a 70 ms pause every "
     "few thousand requests, seen with gc.callbacks)", "addon/cli.py",
     "4,000 medium requests at concurrency 1: slowest 71 ms → 19 ms, no gen-2 pause after start-up; "
     "throughput unchanged (within noise)", "**helps the tail** (and streams' worst gap): suggested"),
    ("uvloop (the `uvloop` variant above)", "(dependency)", "needs mitmproxy's eager task factory switched off "
     "(uvloop rejects it); CPU per request both at once −19 %, −9 %, +2 % and −2 % in four runs: no reliable "
     "gain", "not kept"),
    ("Access log off (the `quiet` variant above)", "addon/access_log.py",
     "CPU per request both at once −21 %, +4 %, +2 % and +0 % in four runs",
     "no reliable effect: the log line is not where the time goes"),
)


def render() -> str:
    rows = ["| change | where | measured | verdict |", "|---|---|---|---|"]
    rows += [f"| {change} | {where} | {measured} | {verdict} |" for change, where, measured, verdict in EXPERIMENTS]
    return MEASURED + "\n\n" + "\n".join(rows)
