"""docs/benchmarks.png: four panels, one bar per path, from a run's results (matplotlib, no display)."""

from __future__ import annotations

import math
from pathlib import Path

from .headline import NAMES, added_latency
from .runner import BRIDGE, DIRECT, LITELLM, MITMDUMP
from .stats import added

COLORS = {DIRECT: "#9e9e9e", BRIDGE: "#1a73e8", MITMDUMP: "#7baaf7", LITELLM: "#e8710a"}


def _bars(ax, groups: list[str], series: dict[str, list[float]], unit: str, log: bool = False) -> None:
    names = [n for n in series if any(not math.isnan(v) for v in series[n])]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        xs = [g + (i - (len(names) - 1) / 2) * width for g in range(len(groups))]
        values = [0 if math.isnan(v) else v for v in series[name]]
        bars = ax.bar(xs, values, width, label=NAMES[name], color=COLORS[name])
        for bar, value in zip(bars, series[name]):
            if not math.isnan(value):
                text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
                ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                            va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylabel(unit, fontsize=8)
    if log:
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)


def write(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = [n for n in NAMES if n in results.get("latency", {}).get("small", {})]
    proxies = [n for n in names if n != DIRECT]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    fig.suptitle(f"vertex-bridge vs direct vs LiteLLM — {results.get('started', '')}, "
                 f"{results.get('machine', {}).get('cpus', '?')} cores, {results.get('tool', '')}", fontsize=10)

    sizes = list(results.get("latency", {}))
    per_size = {size: added_latency(results, size) for size in sizes}
    _bars(axes[0][0], sizes, {n: [per_size[s].get(n, math.nan) for s in sizes] for n in proxies},
          "ms (log scale)", log=True)
    axes[0][0].set_title("added p50 latency at concurrency 1, by request size", fontsize=9)

    keys = list(results.get("throughput", {}))
    labels = [k.replace("_d", ", delay ").replace("c", "c=", 1) + " ms" for k in keys]
    _bars(axes[0][1], labels, {n: [results["throughput"][k].get(n, {}).get("rps", math.nan) for k in keys]
                               for n in names}, "requests/s (log scale)", log=True)
    axes[0][1].set_title("throughput, small requests", fontsize=9)

    streaming = results.get("streaming", {})
    base = streaming.get(DIRECT, {})
    stats = [("ttft_p50", "first token p50"), ("gap_p50", "gap p50"), ("gap_p99", "gap p99")]
    _bars(axes[1][0], [label for _, label in stats],
          {n: [added(streaming.get(n, {}).get(k, math.nan), base.get(k, math.nan)) for k, _ in stats]
           for n in proxies}, "ms added")
    axes[1][0].set_title("streaming, 64 chunks paced at 20 ms: added over direct", fontsize=9)

    memory = results.get("memory_streams", {})
    _bars(axes[1][1], ["idle", f"{memory.get('count', '?')} streams"],
          {n: [memory.get(n, {}).get("idle_mb", math.nan), memory.get(n, {}).get("peak_mb", math.nan)]
           for n in proxies}, "RSS MB")
    axes[1][1].axhline(150, color="#d93025", linewidth=0.8, linestyle="--")
    axes[1][1].set_title("resident memory (target: ≤ 150 MB at 200 streams)", fontsize=9)

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
