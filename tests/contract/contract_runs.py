"""Running a generated contract test module in a fresh pytest process, and reading the result.

A subprocess keeps what the runs do (broken plugins' leaked connections, guard
failures, Hypothesis profiles) out of the session that checks them; the JUnit
report says per test what happened and why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE_TESTS = HERE.parents[1] / "examples" / "aegis-llm-example-echo" / "tests"


@dataclass(frozen=True)
class Case:
    cls: str
    test: str
    outcome: str
    message: str


@dataclass(frozen=True)
class Run:
    cases: list[Case]
    output: str

    def outcomes(self, cls: str) -> dict[str, set[str]]:
        """Outcome -> names of the contract tests of ``cls`` with it (parameters dropped)."""
        found: dict[str, set[str]] = {}
        for case in self.cases:
            if case.cls == cls:
                found.setdefault(case.outcome, set()).add(case.test)
        return found

    def messages(self, cls: str, test: str) -> list[str]:
        return [c.message for c in self.cases if c.cls == cls and c.test == test]


def run_module(folder: Path, source: str, *args: str) -> Run:
    """Run ``source`` as a test module in ``folder`` on asyncio, with the example on the path."""
    (folder / "test_generated.py").write_text(source)
    report = folder / "report.xml"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_LLM_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(EXAMPLE_TESTS), str(HERE)])
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={folder}",
        f"--junitxml={report}", "--aegis-llm-backends=asyncio", *args, "test_generated.py",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=folder, env=environ, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout + done.stderr
    assert report.exists(), output
    cases = []
    for case in ET.parse(report).iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        outcome = "passed"
        if problems:
            outcome = "skipped" if problems[0].tag == "skipped" else "failed"
        cases.append(
            Case(
                cls=case.attrib["classname"].rsplit(".", 1)[-1],
                test=case.attrib["name"].split("[")[0],
                outcome=outcome,
                message=" ".join(p.attrib.get("message", "") for p in problems),
            )
        )
    return Run(cases, output)
