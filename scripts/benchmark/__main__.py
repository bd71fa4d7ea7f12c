"""`scripts/bench`: start everything, measure, print the headline, write docs/benchmarks.md and .png."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from . import bodies, chart, document, micro, pyspy, scenarios, stream_scenarios
from .findings import findings
from .headline import NAMES, rows
from .procs import ROOT
from .runner import BRIDGE, PLANS, Run

STEPS = ("reuse", "latency", "throughput", "streaming", "held", "memory", "close", "variants", "profile", "soak",
         "micro")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="plan", const="quick", help="a short run (~2-3 min)")
    size.add_argument("--smoke", action="store_const", dest="plan", const="smoke",
                      help="seconds: check the harness, no LiteLLM/mitmdump/wrk")
    p.set_defaults(plan="full")
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="where benchmarks.md/.png go (default docs/)")
    p.add_argument("--only", help=f"comma-separated steps to run, from: {','.join(STEPS)}")
    p.add_argument("--no-litellm", action="store_true", help="do not compare LiteLLM even if installed")
    p.add_argument("--no-mitmdump", action="store_true", help="do not measure mitmdump -s")
    p.add_argument("--asyncio-client", action="store_true", help="use the asyncio client even if wrk is there")
    p.add_argument("--variants", help="comma-separated proxy variants instead of the plan's: quiet, uvloop, "
                   "workers, tree=PATH (the lean runner from another checkout, to compare a change)")
    p.add_argument("--rounds", type=int, help="interleaved rounds per figure (default: the plan's)")
    p.add_argument("--seconds", type=float, help="seconds per measurement (default: the plan's)")
    p.add_argument("--report-only", type=Path, metavar="RESULTS_JSON", help="rewrite the report from a saved run")
    return p.parse_args(argv)


def measure(run: Run, steps: set[str]) -> None:
    scenarios.warm_up(run)
    plan = [("reuse", scenarios.upstream_reuse), ("latency", scenarios.latency), ("throughput", scenarios.throughput),
            ("streaming", stream_scenarios.first_token_and_gaps), ("held", stream_scenarios.held_streams),
            ("memory", stream_scenarios.memory_at_streams), ("close", scenarios.connection_close),
            ("variants", scenarios.variants), ("profile", profile), ("soak", scenarios.soak)]
    for name, step in plan:
        if name in steps:
            step(run)
    run.results["selfreport"] = scenarios.overhead_from_log(run.services[BRIDGE])


def profile(run: Run, seconds: float = 8, concurrency: int = 16) -> None:
    if not run.plan.profile:
        return
    raw = run.workdir / "vertex-bridge.pyspy.txt"
    target = run.target(BRIDGE, bodies.build("small"))
    run.upstream()
    run.log(f"profiling vertex-bridge with py-spy for {seconds:g} s at concurrency {concurrency}")
    ok = pyspy.record_during(run.services[BRIDGE].pid, seconds, raw,
                             lambda: run.load.measure(target, concurrency, seconds + 1))
    if not ok:
        run.results["profile"] = {"note": "py-spy was not available or could not attach; no profile."}
        return
    run.results["profile"] = {**pyspy.summarize(raw.read_text()), "concurrency": concurrency, "raw": str(raw)}


def write(results: dict, out: Path, args: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results["findings"] = findings(results)
    (out / "benchmarks.md").write_text(document.render(results, args))
    if not chart.write(results, out / "benchmarks.png"):
        print("[bench] matplotlib missing: no chart (pip install -e '.[bench]')", file=sys.stderr)


def console(results: dict) -> None:
    got = rows(results)
    names = [n for n in NAMES if n in results.get("latency", {}).get("small", {}) and n != "direct"]
    print(f"\n{'figure':<74} " + " ".join(f"{NAMES[n]:>14}" for n in names) + "   ÷LiteLLM  met")
    for r in got:
        print(f"{r.figure[:74]:<74} " + " ".join(f"{r.values.get(n, '—'):>14}" for n in names)
              + f"   {r.vs_litellm:>8}  {r.met.replace('**', '')}")
    for note in results.get("notes", []):
        print(f"note: {note}")


def _shown(argv: list[str]) -> str:
    """The command line for the report, without where it was written."""
    kept, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--out="):
            skip = False
            continue
        skip = arg == "--out"
        if not skip:
            kept.append(arg)
    return " ".join(kept)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shown = _shown(argv if argv is not None else sys.argv[1:])
    if args.report_only:
        results = json.loads(args.report_only.read_text())
        write(results, args.out, results.get("args", ""))
        console(results)
        return 0
    plan = PLANS[args.plan]
    plan = replace(plan, litellm=plan.litellm and not args.no_litellm, mitmdump=plan.mitmdump and not args.no_mitmdump,
                   wrk=plan.wrk and not args.asyncio_client)
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    if args.seconds:
        plan = replace(plan, seconds=args.seconds)
    if args.variants is not None:
        plan = replace(plan, variants=tuple(v for v in args.variants.split(",") if v))
    steps = set(args.only.split(",")) if args.only else set(STEPS) - set(plan.skip)
    run = Run(plan, Path(tempfile.mkdtemp(prefix="vertex-bridge-bench-")))
    run.results.update(args=shown, rounds=plan.rounds, seconds=plan.seconds)
    run.log(f"{plan.name} run; logs and results in {run.workdir}")
    try:
        run.start()
        measure(run, steps)
    finally:
        run.stop()
    if "micro" in steps and plan.micro:
        run.log("translation steps in isolation")
        run.results["micro"] = micro.run_all(plan.sizes)
    run.results["notes"] = run.notes
    (run.workdir / "results.json").write_text(json.dumps(run.results, indent=1, default=str))
    write(run.results, args.out, shown)
    console(run.results)
    print(f"\nwrote {args.out / 'benchmarks.md'}; raw results in {run.workdir / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
