"""The SDK's requests as Ollama's native JSON, and Ollama's answers as the SDK's results.

Everything a server sends is checked before it is used, so any body becomes
a result or a ``ProtocolError``, never a ``KeyError``. The per-chunk path is
a few dictionary lookups and one plain constructor call: for models this
small, pydantic's validating constructor is cheaper than ``model_construct``
(about 0.8 against 2.5 microseconds), so only the large embedding results,
whose vectors are checked here once, skip validation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from aegis_llm import (
    ChatRequest,
    EmbedRequest,
    FinishReason,
    Message,
    ToolCall,
    Usage,
)
from aegis_llm.errors import InvalidRequest, ProtocolError
from aegis_llm_ollama._errors import ServerReported, malformed
from aegis_llm_ollama._settings import OllamaSettings, parse_keep_alive
from aegis_llm_ollama._tool_wire import (
    offered_tools,
    refuse_typed_in_extra,
    tool_call,
    tool_calls,
)

__all__ = [
    "chat_body",
    "chat_piece",
    "check_vectors",
    "embed_body",
    "embed_usage",
    "finish_reason",
    "legacy_embed_body",
    "legacy_vector",
    "usage",
    "vectors",
]

# Keys of ``extra`` that are request fields in Ollama's API, not model options: sent
# inside ``options`` Ollama would drop them with nothing but a line in its log.
_REQUEST_FIELDS = frozenset(
    {"keep_alive", "think", "truncate", "shift", "format", "logprobs", "top_logprobs"}
)
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "load": "load",
    "unload": "unload",
}

_VECTORS: TypeAdapter[list[list[float]]] = TypeAdapter(list[list[float]])
_VECTOR: TypeAdapter[list[float]] = TypeAdapter(list[float])


def _image(image: str) -> str:
    """Bare base64, the only form Ollama's native API reads (Go decodes it as ``[]byte``).

    A data URL, which OpenAI-style servers want and a caller may well pass,
    is reduced to its payload; a web address cannot be sent at all.
    """
    if image.startswith("data:"):
        header, comma, payload = image.partition(",")
        if comma and header.endswith(";base64"):
            return payload
    elif not image.startswith(("http://", "https://")):
        return image
    raise InvalidRequest(
        f"Ollama takes images as base64 data, not {image[:40]!r}...",
        hint="download the image and pass its bytes base64-encoded (or as a base64 data URL)",
    )


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The turns on the wire; a tool result without ``name`` is named after its call.

    Ollama matches a result to its call by ``tool_name``, OpenAI-style servers
    by ``tool_call_id``: a history written for the latter (ids only) would
    reach Ollama with results it cannot attribute, so the name is looked up
    from the assistant turn that made the call.
    """
    called = {
        call.id: call.name
        for message in messages
        for call in message.tool_calls
        if call.id is not None
    }
    return [_message(message, called) for message in messages]


def _message(message: Message, called: Mapping[str, str]) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        wire["images"] = [_image(image) for image in message.images]
    name = message.name
    if name is None and message.tool_call_id is not None:
        name = called.get(message.tool_call_id)
    if message.role == "tool" and name is not None:
        wire["tool_name"] = name
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        wire["tool_calls"] = [tool_call(call) for call in message.tool_calls]
    return wire


def _body(
    model: str,
    settings: OllamaSettings,
    defaults: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body and its options, before the call's typed fields are added.

    Priority, lowest first: the settings, then ``extra`` (which may name a
    request field such as ``keep_alive`` or any model option), then the typed
    fields the caller set.
    """
    body: dict[str, Any] = {"model": model}
    if settings.keep_alive is not None:
        body["keep_alive"] = _wire_keep_alive(settings.keep_alive)
    options = dict(defaults)
    for key, value in extra.items():
        if key == "keep_alive":
            body[key] = _call_keep_alive(value)
        elif key in _REQUEST_FIELDS:
            body[key] = value
        else:
            options[key] = value
    return body, options


def _wire_keep_alive(value: float | str) -> int | str:
    """``keep_alive`` in the form every Ollama release reads the same way.

    Some releases truncate a number of seconds to an integer before using it,
    so ``0.5`` would unload the model at once; a fraction is therefore sent
    as a Go duration (``"0.5s"``), whole seconds as an integer, and any
    negative value as ``-1`` (what Ollama itself writes for "for ever").
    """
    if isinstance(value, str):
        return value
    if value < 0:
        return -1
    if value.is_integer():
        return int(value)
    return format(value, "f").rstrip("0") + "s"


def _call_keep_alive(value: object) -> int | str:
    try:
        return _wire_keep_alive(parse_keep_alive(value))
    except ValueError as exc:
        raise InvalidRequest(
            f"extra keep_alive: {exc}",
            hint="use seconds (300; -1 keeps the model loaded, 0 unloads it) or '10m'",
        ) from None


def chat_body(settings: OllamaSettings, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    defaults = settings.options
    if settings.num_ctx is not None:
        defaults = {**defaults, "num_ctx": settings.num_ctx}
    chosen = request.options
    refuse_typed_in_extra(chosen.extra)
    tools = offered_tools(chosen)
    body, options = _body(request.model, settings, defaults, chosen.extra)
    body["messages"] = _messages(request.messages)
    if tools is not None:
        body["tools"] = tools
    body["stream"] = stream
    sampling = chosen.sampling()
    if "max_tokens" in sampling:
        sampling["num_predict"] = sampling.pop("max_tokens")
    options.update(sampling)
    if chosen.response_format is not None:
        body["format"] = chosen.response_format
    if options:
        body["options"] = options
    return body


def embed_body(settings: OllamaSettings, request: EmbedRequest) -> dict[str, Any]:
    """``/api/embed``: the whole batch in one call."""
    body, options = _body(request.model, settings, settings.options, request.extra)
    body["input"] = list(request.inputs)
    body["truncate"] = request.truncate
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if options:
        body["options"] = options
    return body


def legacy_embed_body(settings: OllamaSettings, request: EmbedRequest, text: str) -> dict[str, Any]:
    """``/api/embeddings`` (Ollama before v0.2.6): one ``prompt`` per call, no batch fields."""
    body, options = _body(request.model, settings, settings.options, request.extra)
    body["prompt"] = text
    if options:
        body["options"] = options
    return body


def chat_piece(record: Any) -> tuple[str, str, tuple[ToolCall, ...] | None, bool]:
    """The text, reasoning, tool calls and ``done`` flag of one ``/api/chat`` object.

    Runs once per streamed token, so a plain text piece costs two lookups
    more than before and allocates nothing new: absent reasoning is the
    shared ``""`` and absent calls ``None``. ``thinking`` is what a thinking
    model reasons (``think`` asked for it); Ollama sends each tool call whole.
    """
    if type(record) is not dict:
        raise malformed("a chat object", record)
    if "error" in record:
        raise ServerReported(str(record["error"]))
    message = record.get("message")
    if type(message) is not dict:
        raise malformed("a chat object", record)
    content = message.get("content", "")
    thinking = message.get("thinking")
    if thinking is None:
        thinking = ""
    done = record.get("done", False)
    if type(content) is not str or type(thinking) is not str or type(done) is not bool:
        raise malformed("a chat object", record)
    calls = message.get("tool_calls")
    return content, thinking, None if calls is None else tool_calls(calls), done


def finish_reason(record: Mapping[str, Any], calls: Sequence[ToolCall] = ()) -> FinishReason | None:
    """Why the answer ended; ``tool_calls`` whenever the model called a tool.

    Ollama's native API says ``done_reason: "stop"`` after a call (only its
    ``/v1`` layer says ``tool_calls``), so the calls decide, not the field.
    """
    if calls:
        return "tool_calls"
    reason = record.get("done_reason")
    if not isinstance(reason, str) or not reason:
        return None
    return _FINISH.get(reason, "other")


def _count(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    return value if type(value) is int and value >= 0 else None


def _seconds(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        return None
    return value / 1e9


def usage(record: Mapping[str, Any]) -> Usage:
    """Token counts and timings of a final object, durations converted from nanoseconds.

    Go omits zero counts (``omitempty``), so when one count is present the
    absent one is zero; when both are absent the server reported none.
    """
    prompt = _count(record, "prompt_eval_count")
    completion = _count(record, "eval_count")
    if prompt is not None or completion is not None:
        prompt, completion = prompt or 0, completion or 0
    completion_seconds = _seconds(record, "eval_duration")
    rate = None
    if completion and completion_seconds:
        rate = completion / completion_seconds
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=None if prompt is None or completion is None else prompt + completion,
        prompt_seconds=_seconds(record, "prompt_eval_duration"),
        completion_seconds=completion_seconds,
        load_seconds=_seconds(record, "load_duration"),
        total_seconds=_seconds(record, "total_duration"),
        tokens_per_second=rate,
    )


def vectors(answer: Any, count: int) -> list[list[float]]:
    """The vectors of an ``/api/embed`` answer, one per input, all of one length."""
    if type(answer) is not dict:
        raise malformed("an embed answer", answer)
    if "error" in answer:
        raise ServerReported(str(answer["error"]))
    try:
        found = _VECTORS.validate_python(answer.get("embeddings"), strict=True)
    except ValidationError:
        raise malformed("embeddings", answer.get("embeddings")) from None
    check_vectors(found, count)
    return found


def embed_usage(answer: Mapping[str, Any]) -> Usage:
    prompt = _count(answer, "prompt_eval_count")
    return Usage(
        prompt_tokens=prompt,
        total_tokens=prompt,
        load_seconds=_seconds(answer, "load_duration"),
        total_seconds=_seconds(answer, "total_duration"),
    )


def legacy_vector(answer: Any) -> list[float]:
    """The single vector of an ``/api/embeddings`` answer."""
    if type(answer) is not dict:
        raise malformed("an embeddings answer", answer)
    try:
        return _VECTOR.validate_python(answer.get("embedding"), strict=True)
    except ValidationError:
        raise malformed("an embedding", answer.get("embedding")) from None


def check_vectors(found: Sequence[Sequence[float]], count: int) -> None:
    """One non-empty vector per input, all the same length, or a ``ProtocolError``.

    Mismatched vectors must never reach an index: the server answered, but
    not with something a caller can store.
    """
    if len(found) != count:
        raise ProtocolError(f"Ollama returned {len(found)} vectors for {count} inputs")
    width = len(found[0])
    for index, vector in enumerate(found):
        if not vector or len(vector) != width:
            raise ProtocolError(
                f"Ollama returned a vector of {len(vector)} dimensions at input {index} "
                f"(the first has {width}); an empty vector usually means an empty input "
                "on a server older than v0.2.6",
                hint="drop empty inputs, or upgrade Ollama",
            )
