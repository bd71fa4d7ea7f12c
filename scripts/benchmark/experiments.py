"""Changes to the addon tried side by side with `scripts/bench --variants tree=PATH`, and what they did.

They need a patched checkout each, so this script does not re-run them: the results are recorded here
(with when and how) so that docs/benchmarks.md keeps every one. To re-measure a change:

    scripts/bench --quick --rounds 3 --seconds 2 --only variants --variants tree=/path/to/patched/checkout
"""

from __future__ import annotations

MEASURED = ("2026-11-29 on this 2-core machine, each patched checkout next to the unpatched one: first with "
            "`scripts/bench --quick --rounds 3 --seconds 2 --only variants --variants tree=…` ('both at once' "
            "shares the machine between the two at the same moment), later with interleaved `wrk -c1` runs of "
            "3 s against two proxies (6 rounds each, medians; 'A/B' below). This machine's figures move by "
            "±25 % between runs, so only effects seen in every line and in repeated runs are called real.")

# change, where, figures (vs the unpatched proxy), verdict
EXPERIMENTS = (
    ("Everything kept below, together: this session's start (commit 430dbdf) against the final code", "—",
     "A/B, small requests at concurrency 1: p50 4.50 → 2.72 ms, CPU per request 3.89 → 2.12 ms, requests/s "
     "221 → 372; the headline table above is the final code", "**kept**"),
    ("Unary requests: call the upstream from the last `request` hook (`Upstreams.open`) and set "
     "`flow.response`, instead of sending them through the in-process relay (streams keep the relay)",
     "addon/direct.py", "CPU per request −12 % both at once, −18 % at concurrency 1, −37 % at 16; requests/s "
     "at 16 +58 %; small p50 4.45 → 3.61 ms. No effect on streamed requests (the cursor body streams)",
     "**kept**"),
    ("One bundled addon dispatching to the bridge's 20 (mitmproxy walks every addon, with a context manager, "
     "for every event: ~25 % of the event loop's time in the profile)", "addon/bundle.py",
     "CPU per request −19 % both at once (−17 % in an earlier run), −17 to −23 % at concurrency 1 and 16; "
     "requests/s at 16 +22 %", "**kept**"),
    ("mitmproxy's `trigger_event` without the walk over addons that have no handler for the event "
     "(same deliveries, same order, same error handling)", "addon/speedups.py",
     "a bare mitmproxy answering from its request hook, with 20 handler-less addons added: concurrency 1 "
     "p50 1.11 → 0.46 ms and CPU per request 1.14 → 0.51 ms; concurrency 16 CPU per request 1.07–1.49 → "
     "0.60–0.72 ms (as fast as with no extra addons). The proxy (A/B): CPU per request at concurrency 1 "
     "−20 % on top of the bundle", "**kept** (mitmproxy 12 only)"),
    ("mitmproxy's deprecated `add_log` events off in the lean runner, and log records without caller, "
     "thread and process lookups (the logging HOWTO's optimizations)", "addon/cli.py",
     "a log call 20 → 14 µs in isolation; within noise in the proxy", "**kept** (no cost)"),
    ("Serialize the Vertex body with `pydantic_core.to_json` instead of `json.dumps(ensure_ascii=False)` "
     "(identical bytes, no new dependency)", "addon/router.py",
     "250 kB body: CPU per request −22 %, requests/s +25 %, p50 7.96 → 6.67 ms; in isolation 1.0–3.2 ms → "
     "0.17–0.7 ms. Small bodies: no change", "**kept**"),
    ("`pydantic_core` for replies and stream events too: `from_json` for Vertex replies and SSE payloads, "
     "`to_json` for OpenAI replies and chunks", "addon/replies.py, translators/sse.py, translators/stream.py",
     "in isolation, a chunk's JSON 8.5 → 1.4 µs, a parse 5.5 → 2.0 µs; within noise at concurrency 1",
     "**kept** (no new dependency)"),
    ("orjson instead of json / pydantic_core", "(dependency)",
     "250 kB body: dumps 0.05–0.11 ms vs pydantic_core 0.17–0.34 ms; loads + validate 0.21–0.40 ms vs "
     "0.16–0.62 ms with pydantic_core.from_json (what the proxy uses)",
     "not worth a dependency: pydantic_core gets most of it"),
    ("`gc.freeze()` once started (a full collection otherwise scans ~10^5 start-up objects: a 70 ms pause every "
     "few thousand requests, seen with gc.callbacks)", "addon/speedups.py",
     "4,000 medium requests at concurrency 1: slowest 71 ms → 19 ms, no gen-2 pause after start-up; "
     "throughput unchanged (within noise)", "**kept** (the tail, and streams' worst gap)"),
    ("A larger young-generation GC threshold (`gc.set_threshold(20000, 50, 100)`)", "addon/speedups.py",
     "A/B at concurrency 1: p50 2.67 vs 2.70 ms, CPU 2.09 vs 2.17 ms", "no effect: not kept"),
    ("The access log and the metrics removed (to measure them)", "addon/access_log.py, addon/metrics.py",
     "A/B at concurrency 1: p50 −0.32 ms, CPU per request −0.33 ms (the access log about half of it)",
     "features: kept, and moved (next line)"),
    ("The access log and the metrics written after the reply, while the next request waits for its "
     "upstream (or within 10 ms), instead of in the `response` hooks", "addon/bookkeeping.py",
     "A/B at concurrency 1, both orders: p50 2.67 → 2.46 ms and 2.57 → 2.41 ms; CPU unchanged",
     "**kept**"),
    ("Rewriting the flow's request from raw header fields (and setting the address first, so the Host "
     "header keeps naming Vertex)", "addon/router.py", "A/B: p50 2.65 → 2.54 ms (within noise)",
     "**kept** (also fixes the Host header of streamed flows)"),
    ("Model names resolved once per name (a small cache) instead of per request", "addon/router.py",
     "in isolation 21 of 49 µs of a small request's translation; A/B within noise", "kept (harmless)"),
    ("Not rewriting a unary flow at all (it is only shown, never sent)", "addon/router.py",
     "A/B: p50 −0.08 ms, CPU unchanged", "not kept: mitmweb and `mitmdump` show the Vertex request"),
    ("mitmproxy forwarding the request itself vs an aiohttp call from the request hook (a bare mitmproxy "
     "in front of the emulator)", "—", "concurrency 1 p50 1.37 vs 1.45 ms, CPU 1.04 vs 1.15 ms per request",
     "the same cost: the upstream hop is not where the time goes"),
    ("Pinning the proxy to one core and the client and emulator to the other (`taskset`)", "—",
     "concurrency 1: p50 2.78 vs 2.80 ms, CPU 2.12 vs 2.13 ms", "no effect"),
    ("uvloop (the `uvloop` variant above)", "(dependency)", "works with mitmproxy's eager task factory on "
     "Python 3.12 (not on 3.13.0, where the runner keeps asyncio's loop); CPU per request both at once −19 %, "
     "−9 %, +2 % and −2 % in four runs", "kept where it works (no reliable loss)"),
)


def render() -> str:
    rows = ["| change | where | measured | verdict |", "|---|---|---|---|"]
    rows += [f"| {change} | {where} | {measured} | {verdict} |" for change, where, measured, verdict in EXPERIMENTS]
    return MEASURED + "\n\n" + "\n".join(rows)
