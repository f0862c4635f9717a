"""Request bodies in the OpenAI wire format, as every server in scope reads it."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from aegis_llm import ChatRequest, EmbedRequest, Message, ToolCall
from aegis_llm.errors import InvalidRequest

__all__ = ["chat_body", "check_chat", "check_embed", "embed_body"]

# What a request sets on its own; `extra` may add fields, never contradict these.
_CHAT_FIELDS = frozenset({"model", "messages", "stream"})
_EMBED_FIELDS = frozenset({"model", "input"})
_TYPED_OPTIONS = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "stop",
    "response_format",
    "tools",
    "tool_choice",
)
_TOOL_MODES = frozenset({"auto", "none", "required"})

# Any JSON object: LM Studio has no `json_object` mode (it answers 400 "'response_format.type'
# must be 'json_schema'"), so plain JSON mode is a schema that accepts every object there.
_ANY_OBJECT: dict[str, Any] = {"type": "object"}

# Servers decode the image itself; the declared type only has to be plausible.
_IMAGE_TYPES = (("/9j/", "image/jpeg"), ("R0lGOD", "image/gif"), ("UklGR", "image/webp"))


def check_chat(request: ChatRequest, provider: str) -> None:
    """Reject, before any I/O, ``extra`` keys the request already sets.

    Silently preferring one of two values for ``temperature`` (or letting
    ``extra`` turn streaming on) would answer a different question than asked.
    Offered tools take ``tool_choice`` too, even unset: the core checked the
    typed choice against the typed tools, and an ``extra`` one escapes that.
    """
    options = request.options
    typed = {name for name in _TYPED_OPTIONS if getattr(options, name) not in (None, ())}
    if options.tools:
        typed.add("tool_choice")
    _check_extra(options.extra, _CHAT_FIELDS | typed, provider)


def check_embed(request: EmbedRequest, provider: str) -> None:
    """Like :func:`check_chat`, for embeddings."""
    dimensions = {"dimensions"} if request.dimensions is not None else set()
    _check_extra(request.extra, _EMBED_FIELDS | dimensions, provider)


def chat_body(request: ChatRequest, *, stream: bool, native: bool) -> dict[str, Any]:
    """The chat completion body (checked by :func:`check_chat`); ``native``: LM Studio.

    ``options.extra`` passes provider features through (``top_k``, ``ttl``...);
    it may also replace the ``stream_options`` a stream asks for by default.
    """
    options = request.options
    body: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream else {}
    body.update(options.extra)
    body.update(options.sampling())
    if options.response_format is not None:
        body["response_format"] = _response_format(options.response_format, native=native)
    if options.tools:
        body["tools"] = [tool.function_spec() for tool in options.tools]
        if options.tool_choice is not None:
            body["tool_choice"] = _tool_choice(options.tool_choice)
    body["model"] = request.model
    body["messages"] = [_message(message) for message in request.messages]
    body["stream"] = stream
    return body


def embed_body(request: EmbedRequest) -> dict[str, Any]:
    """The embeddings body. ``truncate`` has no OpenAI equivalent: servers decide."""
    body: dict[str, Any] = dict(request.extra)
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    body["model"] = request.model
    body["input"] = list(request.inputs)
    return body


def _check_extra(extra: dict[str, Any], taken: Set[str], provider: str) -> None:
    clash = sorted(taken & extra.keys())
    if clash:
        raise InvalidRequest(
            f"extra sets {', '.join(clash)}, which the request itself already sets",
            provider=provider,
            hint="drop them from extra: use the call's own arguments and typed options",
        )


def _response_format(wanted: str | dict[str, Any], *, native: bool) -> dict[str, Any]:
    if isinstance(wanted, dict):
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": wanted}}
    if native:
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": _ANY_OBJECT}}
    return {"type": "json_object"}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    """A mode as itself; a tool's name as the object that forces that one tool."""
    if choice in _TOOL_MODES:
        return choice
    return {"type": "function", "function": {"name": choice}}


def _message(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        wire["content"] = [
            {"type": "text", "text": message.content},
            *({"type": "image_url", "image_url": {"url": _data_url(i)}} for i in message.images),
        ]
    if message.name is not None:
        wire["name"] = message.name
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        wire["tool_calls"] = [_call(call) for call in message.tool_calls]
    return wire


def _call(call: ToolCall) -> dict[str, Any]:
    """A call the model made, sent back in history as OpenAI-style servers expect it.

    The content beside it stays a string (``""`` when the model said nothing):
    OpenAI accepts that as well as null, and chat templates that concatenate
    content break on null. Arguments go back as the text the model wrote,
    even if it is not valid JSON; only empty text becomes ``{}``, the same
    "no arguments" in a form that servers and chat templates which decode
    history arguments into an object (Llama 3.1's) can read.
    An id the call never had (a call that came from Ollama) is left out
    rather than sent as null.
    """
    wire: dict[str, Any] = {} if call.id is None else {"id": call.id}
    arguments = call.arguments_json if call.arguments_json.strip() else "{}"
    wire["type"] = "function"
    wire["function"] = {"name": call.name, "arguments": arguments}
    return wire


def _data_url(image: str) -> str:
    """OpenAI-style servers take images as data URLs; callers give bare base64 (or a URL)."""
    if image.startswith("data:"):
        return image
    kind = next((mime for prefix, mime in _IMAGE_TYPES if image.startswith(prefix)), "image/png")
    return f"data:{kind};base64,{image}"
