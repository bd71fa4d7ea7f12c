"""Plain sentences drawn from a run's results: what helped, by how much, and what did not."""

from __future__ import annotations

import math

from .headline import added_latency
from .runner import BRIDGE, DIRECT, MITMDUMP
from .stats import fmt, ratio


def _change(new: float, old: float) -> str:
    r = ratio(new, old)
    return "—" if math.isnan(r) else f"{(r - 1) * 100:+.0f}%"


def findings(results: dict) -> list[str]:
    out: list[str] = []
    tp = results.get("throughput", {}).get("c16_d0", {})
    if MITMDUMP in tp:
        lat = added_latency(results, "small")
        out.append(f"Lean master instead of `mitmdump -s`: requests/s at concurrency 16 "
                   f"{_change(tp[BRIDGE]['rps'], tp[MITMDUMP]['rps'])}, added p50 at concurrency 1 "
                   f"{fmt(lat.get(BRIDGE, math.nan))} ms vs {fmt(lat.get(MITMDUMP, math.nan))} ms.")
    labels = {"quiet": "Access log off", "uvloop": "uvloop event loop", "workers": "`--workers 2` (SO_REUSEPORT)"}
    for kind, entry in results.get("variants", {}).items():
        parts = [f"concurrency {key[1:]}: {_change(entry[key][kind]['rps'], entry[key][BRIDGE]['rps'])} requests/s, "
                 f"{_change(entry[key][kind].get('cpu_ms', math.nan), entry[key][BRIDGE].get('cpu_ms', math.nan))} "
                 "CPU per request" for key in ("c1", "c1 medium", "c1 cursor", "c16", "c64") if key in entry]
        if "together" in entry:
            both = entry["together"]
            parts.insert(0, f"loaded side by side with the default: {_change(both[kind]['rps'], both[BRIDGE]['rps'])} "
                            f"requests/s, {_change(both[kind].get('cpu_ms', math.nan), both[BRIDGE].get('cpu_ms', math.nan))}"
                            " CPU per request")
        out.append(f"{labels.get(kind, kind)}: " + "; ".join(parts) + ".")
    micro = results.get("micro", {})
    cursor = micro.get("request_path", {}).get("cursor", {})
    dumps = cursor.get("json.dumps (Vertex body)")
    if dumps:
        faster = [f"{name.split(' (')[0]} {fmt(cursor[name])} µs"
                  for name in ("pydantic_core.to_json (Vertex body)", "orjson.dumps (Vertex body)") if name in cursor]
        out.append(f"Serializing the 250 kB Vertex body: json.dumps(ensure_ascii=False) {fmt(dumps)} µs; "
                   + ", ".join(faster) + ".")
    parsers = micro.get("parsers", {}).get("cursor", {})
    if parsers and "error" not in parsers:
        best = min(parsers, key=parsers.get)
        out.append(f"Parsing the 250 kB body: fastest is {best} ({fmt(parsers[best])} µs); "
                   + ", ".join(f"{k} {fmt(v)} µs" for k, v in parsers.items() if k != best) + ".")
    reuse = results.get("reuse", {}).get("keep_alive")
    if reuse:
        out.append(f"Upstream connections: {fmt(reuse['per_request'])} new connections to the upstream per request "
                   "from keep-alive clients" + (" (reused)." if reuse["per_request"] < 0.1 else
                                                 " (not reused: each request pays a TCP connect)."))
    close = results.get("connection_close", {}).get("c16", {})
    if BRIDGE in close:
        b = close[BRIDGE]
        d = close.get(DIRECT, {})
        out.append(f"`Connection: close` clients at concurrency 16: vertex-bridge requests/s "
                   f"{_change(b['close']['rps'], b['keep_alive']['rps'])} (direct "
                   f"{_change(d.get('close', {}).get('rps', math.nan), d.get('keep_alive', {}).get('rps', math.nan))}).")
    return out
