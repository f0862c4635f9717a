"""Cold import cost: ``import aegis_llm`` plus plugin discovery, against ``import ollama``.

Each sample is a fresh interpreter timing its own import, so nothing is
cached in ``sys.modules``; rounds alternate the candidates so machine noise
hits both alike. Prints the medians and the ratio (target: <= 1.0).
``bench/run.py`` measures the same (with more clients) as part of the full run.

    python bench/import_time.py [--rounds 15]
"""

from __future__ import annotations

import argparse

from benchkit import environment
from benchkit.scenarios.imports import AEGIS, CANDIDATES, medians

OLLAMA = "ollama (official client)"
SHOWN = (AEGIS, OLLAMA, "openai (official client)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    environment.apply()
    found = medians({name: CANDIDATES[name][1] for name in SHOWN}, args.rounds)
    baseline = found[OLLAMA]
    print(f"cold import, median of {args.rounds} fresh interpreters")
    for name, value in found.items():
        print(f"  {name:<28} {value * 1000:8.1f} ms   {value / baseline:5.2f}x ollama")
    ratio = found[AEGIS] / baseline
    print(f"aegis_llm import + discovery / ollama import = {ratio:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
