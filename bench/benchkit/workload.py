"""What every client is asked to do: one definition, so all of them do exactly the same work.

The server side (`serve`) and every candidate read these constants; a candidate that
sent a different prompt or model would be measured on a different answer.
"""

from __future__ import annotations

from typing import Final

CHAT_MODEL_OLLAMA: Final = "llama3.2:latest"
CHAT_MODEL_OPENAI: Final = "llama-3.2-3b-instruct"
EMBED_MODEL: Final = "bench-embed"

CHAT_PROMPT: Final = "Say hello in a few words."
STREAM_PROMPT: Final = "Stream a long answer, please."
CHAT_MESSAGES: Final = ({"role": "user", "content": CHAT_PROMPT},)
STREAM_MESSAGES: Final = ({"role": "user", "content": STREAM_PROMPT},)

CHAT_REPLY_TOKENS: Final = 16
STREAM_REPLY_TOKENS: Final = 500
EMBED_TEXTS: Final = tuple(f"passage {i}: local models answer questions" for i in range(256))
EMBED_DIMENSIONS: Final = 1024
IN_FLIGHT: Final = 64


_WORDS: Final = ("local", "models", "answer", "questions", "from", "retrieved", "context")


def reply(prompt: str) -> list[str]:
    """The tokens the fake answers `prompt` with: 500 for the stream prompt, else 16.

    Words vary from token to token: LiteLLM aborts a stream that repeats one chunk.
    """
    count = STREAM_REPLY_TOKENS if prompt == STREAM_PROMPT else CHAT_REPLY_TOKENS
    return ["Hello", *(" " + _WORDS[i % len(_WORDS)] for i in range(count - 1))]
