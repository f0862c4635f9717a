"""A real llama.cpp server (llama-cpp-python's) in a subprocess, for the real-server tests.

LM Studio runs llama.cpp inside; llama-cpp-python's server is the same engine behind an
OpenAI-compatible FastAPI app, installable from the package registry, so it is the
closest real peer a machine without LM Studio can run.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import pytest

__all__ = ["INSTALL", "LlamaServer", "require_real_server_tools"]

INSTALL = "pip install 'llama-cpp-python[server]==0.3.36' gguf"
_NEEDED = ("llama_cpp", "uvicorn", "sse_starlette", "gguf", "tokenizers", "numpy")


def require_real_server_tools() -> None:
    """Skip when llama-cpp-python (or the model writer's packages) is missing; in CI, fail.

    A developer without the 10-minute llama.cpp build can still run everything else, but
    CI must never pass by silently skipping the only test against a real server.
    """
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"the real llama.cpp server tests need {', '.join(missing)}: {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port, ready once ``/v1/models`` answers.

    Used as a context manager, the process is always terminated (killed if it lingers),
    whatever the tests did.
    """

    def __init__(self, model: Path, *, api_key: str, alias: str, log: Path) -> None:
        self.model = model
        self.api_key = api_key
        self.alias = alias
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--api_key", self.api_key, "--embedding", "true",
            "--n_ctx", "256", "--n_threads", "1", "--verbose", "false",
        ]  # fmt: skip
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(timeout=60.0)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _wait_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.api_key}"}
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited early:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/models", headers=headers, timeout=1.0).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"llama_cpp.server not ready after {timeout}s:\n{self._log_tail()}")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-2000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
