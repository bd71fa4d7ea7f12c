"""The headline figures of a run, each against the issue's target: shared by the report and the console."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .runner import BRIDGE, DIRECT, LITELLM, MITMDUMP
from .stats import added, fmt, fmt_ratio, ratio

NAMES = {DIRECT: "direct", BRIDGE: "vertex-bridge", MITMDUMP: "mitmdump -s", LITELLM: "LiteLLM"}
NAN = math.nan


@dataclass
class Row:
    figure: str
    target: str
    values: dict[str, str]  # per compared target
    vs_litellm: str
    met: str  # "yes", "no (…)", or "—"


def _get(d: dict, *keys, default=NAN):
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _verdict(ok: bool | None, by: str = "") -> str:
    if ok is None:
        return "—"
    return "yes" if ok else f"**no**{f' ({by})' if by else ''}"


def added_latency(results: dict, size: str, stat: str = "p50") -> dict[str, float]:
    sizes = results.get("latency", {})
    base = _get(sizes, size, DIRECT, stat)
    return {name: added(_get(sizes, size, name, stat), base) for name in _targets(results) if name != DIRECT}


def _targets(results: dict) -> list[str]:
    return [n for n in (DIRECT, BRIDGE, MITMDUMP, LITELLM) if n in results.get("latency", {}).get("small", {})]


def rows(results: dict) -> list[Row]:
    out: list[Row] = []
    names = [n for n in _targets(results) if n != DIRECT]
    has_litellm = LITELLM in names

    def row(figure: str, target: str, values: dict[str, float], unit: str, ok: bool | None, by: str = "",
            vs: float = NAN) -> None:
        out.append(Row(figure, target, {n: fmt(values.get(n, NAN), unit) for n in names},
                       fmt_ratio(vs), _verdict(ok, by)))

    for size, limit in (("small", 2.0), ("medium", None), ("cursor", 6.0)):
        if size not in results.get("latency", {}):
            continue
        for stat in ("p50", "p99"):
            values = added_latency(results, size, stat)
            bridge, lite = values.get(BRIDGE, NAN), values.get(LITELLM, NAN)
            vs = ratio(bridge, lite)
            ok, by, target = None, "", ""
            if stat == "p50" and limit is not None:
                target = f"≤ {limit:g} ms" + (" and ≤ 0.1× LiteLLM" if size == "small" else "")
                ok = bridge <= limit and (size != "small" or not has_litellm or vs <= 0.1)
                by = f"{fmt(bridge - limit, ' ms')} over" if bridge > limit else f"{fmt_ratio(vs)} of LiteLLM"
            kb = results["latency"][size]["bytes"] / 1000
            row(f"added {stat} latency, {size} ({kb:,.1f} kB), concurrency 1", target, values, " ms", ok, by, vs)

    for key, label in (("c16_d0", "16, 0 ms"), ("c64_d0", "64, 0 ms"), ("c16_d20", "16, 20 ms"),
                       ("c64_d20", "64, 20 ms")):
        entry = results.get("throughput", {}).get(key)
        if not entry:
            continue
        values = {n: _get(entry, n, "rps") for n in names}
        vs = ratio(values.get(BRIDGE, NAN), values.get(LITELLM, NAN))
        ok = (vs >= 10) if has_litellm else None
        row(f"requests/s at concurrency {label} upstream delay", "≥ 10× LiteLLM" if has_litellm else "", values,
            "", ok, f"{fmt_ratio(vs)} of LiteLLM", vs)

    entry = results.get("throughput", {}).get("c16_d0")
    if entry:
        values = {n: _get(entry, n, "cpu_ms") for n in names}
        row("server CPU time per request, concurrency 16 (robust to a busy machine)", "", values, " ms", None, "",
            ratio(values.get(BRIDGE, NAN), values.get(LITELLM, NAN)))
    streaming = results.get("streaming", {})
    if streaming:
        for stat, label, limit in (("ttft_p50", "added time to first token, p50", None),
                                   ("gap_p50", "added gap between chunks, p50", None),
                                   ("gap_p99", "added gap between chunks, p99", 1.0)):
            base = _get(streaming, DIRECT, stat)
            values = {n: added(_get(streaming, n, stat), base) for n in names}
            bridge = values.get(BRIDGE, NAN)
            ok = None if limit is None else bridge <= limit
            row(f"streaming: {label}", "≤ 1 ms" if limit else "", values, " ms", ok,
                f"{fmt(bridge - limit, ' ms')} over" if limit and bridge > limit else "",
                ratio(bridge, values.get(LITELLM, NAN)))
        together = {n: float(_get(streaming, n, "together")) for n in names}
        direct = _get(streaming, DIRECT, "together")
        row(f"streaming: chunks arriving < 2 ms after the previous one (direct: {fmt(direct, '', 0)})",
            "no more than direct", together, "", together.get(BRIDGE, NAN) <= direct, "a chunk was held back", NAN)
    held = results.get("held", {})
    if held:
        values = {n: float(_get(held, n, "max_held")) for n in names}
        ceiling = _get(held, DIRECT, "max_held")
        row(f"streams held with no chunk delayed > 50 ms (direct: {fmt(ceiling, '', 0)})", "", values, "",
            None, "", ratio(values.get(BRIDGE, NAN), values.get(LITELLM, NAN)))
    memory = results.get("memory_streams", {})
    if memory:
        values = {n: _get(memory, n, "peak_mb") for n in names}
        bridge = values.get(BRIDGE, NAN)
        row(f"RSS at {memory.get('count')} concurrent streams", "≤ 150 MB", values, " MB", bridge <= 150,
            f"{fmt(bridge - 150, ' MB')} over", ratio(bridge, values.get(LITELLM, NAN)))
    soak = results.get("soak")
    if soak:
        growth = soak.get("growth_per_10k_mb", NAN)
        row(f"RSS growth per 10k requests (over {soak['samples'][-1][0]:,})", "none", {BRIDGE: growth}, " MB",
            growth <= 2.0, f"{fmt(growth, ' MB')} per 10k", NAN)
    return out
