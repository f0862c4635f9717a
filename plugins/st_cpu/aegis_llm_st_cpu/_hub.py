"""Models by Hugging Face id: the local cache first, a download only when allowed.

Runs in a worker thread. Only what sentence-transformers needs is fetched:
pickled and other-runtime weights (``*.bin``, ONNX, OpenVINO) are skipped, so
a download is smaller and can never bring a pickle in.
"""

from __future__ import annotations

from pathlib import Path

from aegis_llm.errors import ModelNotFound
from aegis_llm_st_cpu._paths import PICKLE_SUFFIXES

__all__ = ["fetch"]

_OTHER_RUNTIMES = (".h5", ".msgpack", ".ot", ".onnx", ".gguf")
_SKIPPED = [f"*{suffix}" for suffix in (*PICKLE_SUFFIXES, *_OTHER_RUNTIMES)]
_SKIPPED += ["onnx/*", "openvino/*"]


def fetch(repo_id: str, *, offline: bool, provider: str) -> Path:
    """The snapshot folder of ``repo_id``, or ``ModelNotFound`` saying what to do."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True, ignore_patterns=_SKIPPED))
    except (OSError, ValueError):  # not in the cache (LocalEntryNotFoundError is an OSError)
        if offline:
            raise ModelNotFound(
                f"{repo_id!r} is not a local folder, not in the Hugging Face cache, and "
                "downloads are off (offline mode)",
                model=repo_id,
                provider=provider,
                hint="download it once with network access, put its folder in a model root "
                "(AEGIS_LLM_ST_CPU_MODEL_ROOTS), or unset HF_HUB_OFFLINE",
            ) from None
    try:
        return Path(snapshot_download(repo_id, ignore_patterns=_SKIPPED))
    except Exception as exc:  # noqa: BLE001 - the hub raises many kinds; all mean "not available"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFound(
            f"{repo_id!r} is not available locally and could not be downloaded: {reason}",
            model=repo_id,
            provider=provider,
            hint="check the name on huggingface.co and your network, or use a local folder "
            "inside AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        ) from None
