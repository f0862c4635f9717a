"""Benchmark aegis-llm against what users would pick instead, on this machine, in one run.

    python bench/run.py            # full run (about 10 minutes on 2 cores)
    python bench/run.py --quick    # a minute or two, for a first look

Writes bench/results/latest.md, latest.json and latest.png (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from benchkit import environment, machine, report
from benchkit.chart import NoChart, write_chart
from benchkit.clients import candidates
from benchkit.clients._catalogue import FAMILIES
from benchkit.loopback import Loopback
from benchkit.ratios import verdicts
from benchkit.results import Measurement, Run
from benchkit.scenarios import blocking, failover, http, imports, st_cpu

SCENARIOS = ("import", "chat", "stream", "throughput", "embed", "failover", "blocking", "st_cpu")
QUICK = http.Sizes(
    rounds=3, chats=40, streams=4, throughput_rounds=2, throughput_requests=256,
    embed_rounds=2, embeds=2,
)  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"


def _names(text: str, known: Sequence[str]) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown: {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return names


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    parser.add_argument("--rounds", type=int, help="rounds per scenario (overrides the mode)")
    parser.add_argument(
        "--only", type=lambda t: _names(t, SCENARIOS), help=f"comma list of {SCENARIOS}"
    )
    parser.add_argument("--skip", type=lambda t: _names(t, SCENARIOS), default=[])
    parser.add_argument(
        "--families", type=lambda t: _names(t, list(FAMILIES)), help="client columns to run"
    )
    parser.add_argument("--direct", action="store_true", help="serve the fakes without replay")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--stem", default="latest", help="results file name (no suffix)")
    return parser.parse_args(argv)


def _sizes(args: argparse.Namespace) -> http.Sizes:
    sizes = QUICK if args.quick else http.Sizes()
    if args.rounds:
        sizes = replace(
            sizes, rounds=args.rounds, throughput_rounds=args.rounds, embed_rounds=args.rounds
        )
    return sizes


def _step(name: str, work: Callable[[], list[Measurement]], run: Run) -> None:
    started = time.perf_counter()
    print(f"{name} ...", end="", file=sys.stderr, flush=True)
    run.measurements.extend(work())
    print(f" {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def measure(args: argparse.Namespace, run: Run) -> None:
    chosen = [s for s in (args.only or SCENARIOS) if s not in args.skip]
    sizes = _sizes(args)
    clients = candidates(args.families)
    wanted = set(args.families or FAMILIES)
    rounds = args.rounds or (3 if args.quick else 10)
    if "import" in chosen:
        _step("cold import", lambda: imports.measure(rounds), run)
    with asyncio.Runner() as runner:
        served = [s for s in ("chat", "stream", "throughput", "embed") if s in chosen]
        if served or "failover" in chosen or "blocking" in chosen:
            with Loopback(direct=args.direct) as loopback:
                for name in served:
                    work = partial(runner.run, http.measure(name, clients, loopback, sizes))
                    _step(name, work, run)
                if "failover" in chosen:
                    from aegis_llm.testing.fakes import refused_url

                    _step(
                        "failover",
                        lambda: runner.run(
                            failover.measure(loopback, sizes, refused_url(), wanted)
                        ),
                        run,
                    )
                if "blocking" in chosen:
                    _step("blocking client", lambda: blocking.measure(runner, loopback, sizes), run)
    if "st_cpu" in chosen:
        passes, reps = (1, 1) if args.quick else (3, 3)
        _step("st_cpu", lambda: st_cpu.measure(min(passes, rounds), reps), run)
    left_out = [s for s in SCENARIOS if s not in chosen]
    if left_out:
        run.notes.append(f"not run this time (--only/--skip): {', '.join(left_out)}")
    if args.direct:
        run.notes.append("served by the fakes directly (--direct), without the replaying front")


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    environment.apply()
    started = time.perf_counter()
    run = Run(
        machine=machine.describe(),
        settings={
            "command": " ".join(
                ["python bench/run.py", *(argv if argv is not None else sys.argv[1:])]
            ),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": args.quick,
        },
    )
    measure(args, run)
    run.settings["seconds"] = time.perf_counter() - started
    try:
        chart = [write_chart(run, args.out / f"{args.stem}.png")]
    except NoChart as why:
        chart = []
        run.notes.append(f"chart not written: {why}")
    written = [*report.write(run, args.out, args.stem), *chart]
    for verdict in verdicts(run):
        shown = "-" if verdict.value is None else f"{verdict.value:.4g}"
        print(f"{verdict.status:>8}  {shown:>9}  {verdict.target.name}")
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
