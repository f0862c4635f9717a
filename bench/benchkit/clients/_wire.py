"""The two wire APIs as a hand-written client would speak them: paths, bodies, parsing.

Raw httpx and raw aiohttp share this, so the two baselines differ only in the HTTP
library. It is deliberately what a careful person writes by hand (no validation beyond
what the code needs), since that is the price floor the other clients are compared to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchkit import workload
from benchkit.clients._base import Api

__all__ = ["WIRES", "Wire"]


@dataclass(frozen=True, slots=True)
class Wire:
    """What differs between the APIs for the three operations."""

    api: Api
    chat_path: str
    embed_path: str
    chat_model: str

    def chat_body(self, *, stream: bool) -> dict[str, Any]:
        messages = workload.STREAM_MESSAGES if stream else workload.CHAT_MESSAGES
        return {"model": self.chat_model, "messages": list(messages), "stream": stream}

    def embed_body(self) -> dict[str, Any]:
        return {"model": workload.EMBED_MODEL, "input": list(workload.EMBED_TEXTS)}

    def reply(self, answer: Any) -> str:
        if self.api == "ollama":
            return str(answer["message"]["content"])
        return str(answer["choices"][0]["message"]["content"])

    def token(self, line: str | bytes) -> str | None:
        """The text in one stream line ("" for lines without any); None at the end."""
        if self.api == "ollama":
            record = json.loads(line)
            return None if record["done"] else str(record["message"]["content"])
        text = line.decode() if isinstance(line, bytes) else line
        if not text.startswith("data: "):
            return ""
        data = text[len("data: ") :].strip()
        if data == "[DONE]":
            return None
        choices = json.loads(data)["choices"]
        return str(choices[0]["delta"].get("content") or "") if choices else ""

    def vector_count(self, answer: Any) -> int:
        if self.api == "ollama":
            return len(answer["embeddings"])
        return len(answer["data"])


WIRES: dict[Api, Wire] = {
    "ollama": Wire("ollama", "/api/chat", "/api/embed", workload.CHAT_MODEL_OLLAMA),
    "openai": Wire("openai", "/v1/chat/completions", "/v1/embeddings", workload.CHAT_MODEL_OPENAI),
}
