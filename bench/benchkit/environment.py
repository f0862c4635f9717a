"""Process environment for every benchmark process, set before any client is imported.

This machine is offline, and a benchmark must never call out: LiteLLM otherwise
downloads a model price list when imported and a Hugging Face tokenizer to count
streamed tokens (retrying for about 20 s per miss), and sentence-transformers would
ask the Hub about the model. Users of those libraries behind a firewall set the same.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["SETTINGS", "apply"]

SETTINGS: Final = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOG": "ERROR",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply() -> None:
    """Set the switches in this process (child processes inherit them)."""
    for name, value in SETTINGS.items():
        os.environ.setdefault(name, value)
