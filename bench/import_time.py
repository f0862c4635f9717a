"""Cold import cost: ``import aegis_llm`` plus plugin discovery, against ``import ollama``.

Each sample is a fresh interpreter timing its own import, so nothing is
cached in ``sys.modules``; rounds alternate the candidates so machine noise
hits both alike. Prints the medians and the ratio (target: <= 1.0).

    python bench/import_time.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CANDIDATES = {
    "aegis_llm + discovery": (
        "import aegis_llm\n"
        "host = aegis_llm.PluginHost(aegis_llm.AegisSettings.load())\n"
        "assert host.statuses()\n"
    ),
    "ollama (official client)": "import ollama\n",
    "openai (official client)": "import openai\n",
}

PROBE = "import time\nt = time.perf_counter()\n{code}print(time.perf_counter() - t)\n"


def sample(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for _ in range(rounds):
        for name, code in CANDIDATES.items():
            samples[name].append(sample(code))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    medians = measure(args.rounds)
    baseline = medians["ollama (official client)"]
    print(f"cold import, median of {args.rounds} fresh interpreters")
    for name, value in medians.items():
        print(f"  {name:<28} {value * 1000:8.1f} ms   {value / baseline:5.2f}x ollama")
    ratio = medians["aegis_llm + discovery"] / baseline
    print(f"aegis_llm import + discovery / ollama import = {ratio:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
