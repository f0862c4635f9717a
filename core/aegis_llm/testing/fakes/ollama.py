"""A fake Ollama server speaking the native `/api/*` protocol, checked against the official
`ollama` client.

Status codes, error texts and framing follow Ollama's server code: NDJSON streams with one
chunk per line, plain JSON with Content-Length up to 2 KiB and chunked above (Go's
net/http), `{"error": "..."}` bodies, and a trailing `{"error": ...}` line once a stream
has started. Content types are gin's: `application/json; charset=utf-8` from `c.JSON`,
bare `application/json` where Ollama sets the header itself first (gin then keeps it), and
bare `text/plain` for gin's own 404 and 405. The OpenAI-compatible `/v1` layer of Ollama
is not served; use `FakeOpenAI`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import ClassVar, Final

from ._http import Answer, Request, Response, StreamResponse
from ._ollama_inventory import (
    Inventory,
    OllamaModel,
    canonical_name,
    keep_alive_ns,
    ps_entry,
    show_body,
    tags_entry,
)
from ._ollama_tools import tool_call_for
from ._routes import RouteError, Router
from ._server import FakeServer
from ._synth import ReplyScript, ReplySource, count_tokens, embedding_json, synthetic_tokens
from ._wire import (
    HOLE,
    JSON_UTF8,
    NDJSON,
    TEXT_UTF8,
    Template,
    go_timestamp,
    json_bytes,
    json_int,
    json_object,
    ndjson_line,
    raw_array,
)

__all__ = ["DEFAULT_OLLAMA_MODELS", "FakeOllama", "OllamaModel", "canonical_name"]

DEFAULT_OLLAMA_MODELS: Final = (
    OllamaModel("llama3.2:latest", loaded=True),
    OllamaModel(
        "nomic-embed-text:latest",
        kind="embedding",
        size=274_302_450,
        family="nomic-bert",
        parameter_size="137M",
        quantization_level="F16",
        context_length=2048,
        embedding_length=768,
    ),
)

_GO_CHUNKING_THRESHOLD: Final = 2048
_PRESET_JSON: Final = "application/json"
"""What Ollama sets before `c.JSON` in `waitForStream` (pull without streaming) and when a
stream fails before its first line; gin keeps a preset type, so there is no charset."""
_GIN_PLAIN: Final = "text/plain"
_NOT_FOUND: Final = Response(404, b"404 page not found", _GIN_PLAIN)
_WRONG_METHOD: Final = Response(405, b"405 method not allowed", _GIN_PLAIN)
_INT64: Final = range(-(2**63), 2**63)
_ASSISTANT_EMPTY: Final = {"role": "assistant", "content": ""}


class FakeOllama(FakeServer):
    """A loopback Ollama: `with FakeOllama() as server: ollama.Client(host=server.url)`.

    Args:
        models: installed models (default `DEFAULT_OLLAMA_MODELS`: `llama3.2:latest`,
            loaded, and `nomic-embed-text:latest`, 768 dimensions).
        reply: what chat and generate answer: fixed text, fixed tokens, a function of the
            last user message, or None for `reply_tokens` words derived from its hash.
        reply_tokens: reply length when `reply` is None (a benchmark streams 500).
        stream_delay: seconds between streamed lines; >0 lets a test cancel mid-stream.
        version: what `/api/version` reports.
        embed_endpoint: False mimics servers before v0.2.6: `/api/embed` is a 404 and only
            the legacy `/api/embeddings` exists.
        registry: models `/api/pull` can download (installed models can be re-pulled);
            pulling anything else fails the way Ollama does, inside the progress stream.
        pull_steps: progress lines per layer during a pull.
        call_tools: whether a chat offering tools may answer with a call (as Ollama does,
            whole, in one chunk before `done`): when the last turn is the user's, the model
            calls the offered tool that turn names (else the first), with an example value
            per property of its schema; after a `tool` turn it answers in text.
        think_tokens: reasoning words a model with the `thinking` capability streams in
            `message.thinking` before its answer when the request sets `think`.
        port, history, idle_timeout: see `FakeServer`.

    Ollama's busy answer is `Fault.error(503, FakeOllama.BUSY_MESSAGE)` (it never sends
    Retry-After).
    """

    BUSY_MESSAGE: ClassVar[str] = (
        "server busy, please try again.  maximum pending requests exceeded"
    )

    def __init__(
        self,
        models: Iterable[OllamaModel] | None = None,
        *,
        reply: ReplySource = None,
        reply_tokens: int = 8,
        stream_delay: float = 0.0,
        version: str = "0.12.6",
        embed_endpoint: bool = True,
        registry: Iterable[OllamaModel] = (),
        pull_steps: int = 4,
        call_tools: bool = True,
        think_tokens: int = 4,
        port: int = 0,
        history: int = 256,
        idle_timeout: float | None = None,
    ) -> None:
        self._inventory = Inventory(DEFAULT_OLLAMA_MODELS if models is None else models)
        self._registry = {model.key: model for model in registry}
        self._script = ReplyScript(reply, reply_tokens)
        self._delay = stream_delay
        self._version = version
        self._pull_steps = max(pull_steps, 1)
        self._call_tools = call_tools
        self._think_tokens = think_tokens
        router = Router(
            errors=_error, not_found=lambda _: _NOT_FOUND, wrong_method=lambda _: _WRONG_METHOD
        )
        for method in ("GET", "HEAD"):
            router.add(method, "/", self._root)
            router.add(method, "/api/version", self._version_info)
            router.add(method, "/api/tags", self._tags)
        router.add("GET", "/api/ps", self._ps)
        router.add("POST", "/api/show", self._show)
        router.add("POST", "/api/chat", self._chat)
        router.add("POST", "/api/generate", self._generate)
        router.add("POST", "/api/embeddings", self._embeddings)
        router.add("POST", "/api/pull", self._pull)
        if embed_endpoint:
            router.add("POST", "/api/embed", self._embed)
        super().__init__(
            router, errors=_error, port=port, history=history, idle_timeout=idle_timeout
        )

    @property
    def models(self) -> list[OllamaModel]:
        """Installed models, as `/api/tags` orders them."""
        return self._inventory.models()

    @property
    def loaded(self) -> list[str]:
        """Names of loaded models, as `/api/ps` orders them."""
        return [model.display_name for model, _ in self._inventory.loaded()]

    def add_model(self, model: OllamaModel) -> None:
        """Install (or replace) a model while the server runs."""
        self._inventory.add(model)

    def remove_model(self, name: str) -> None:
        """Uninstall a model while the server runs."""
        self._inventory.remove(name)

    # Inventory and status.

    def _root(self, request: Request) -> Answer:
        return Response(200, b"Ollama is running", TEXT_UTF8)

    def _version_info(self, request: Request) -> Answer:
        return _json({"version": self._version})

    def _tags(self, request: Request) -> Answer:
        return _json({"models": [tags_entry(model) for model in self._inventory.models()]})

    def _ps(self, request: Request) -> Answer:
        loaded = self._inventory.loaded()
        return _json({"models": [ps_entry(model, expiry) for model, expiry in loaded]})

    def _show(self, request: Request) -> Answer:
        body = _Body(request, "ShowRequest")
        name = body.string("model") or body.string("name")
        if not name:
            raise RouteError(400, "model is required")
        return _json(show_body(self._installed(name, f"model '{name}' not found")))

    # Inference.

    def _chat(self, request: Request) -> Answer:
        body = _Body(request, "ChatRequest")
        _check_top_logprobs(body)
        name = _required_model(body)
        model = self._installed(name, f"model '{name}' not found")
        messages = body.messages()
        keep_alive = body.keep_alive()
        if not messages and keep_alive == 0:  # Ollama unloads before it checks capabilities
            return self._load_only(model, name, keep_alive, {"message": _ASSISTANT_EMPTY})
        _check_capabilities(body, model, name, "chat")
        if not messages:
            return self._load_only(model, name, keep_alive, {"message": _ASSISTANT_EMPTY})
        self._inventory.use(model, keep_alive)
        texts = [str(message.get("content") or "") for message in messages]
        users = [text for text, m in zip(texts, messages, strict=True) if m.get("role") == "user"]
        prompt = (users or texts)[-1]
        tools = body.tools()
        call = tool_call_for(tools, messages) if self._call_tools else None
        tokens, cut = ([], False) if call else self._reply(body, prompt)
        thinking = self._thinking(body, prompt)
        generated = len(thinking) + len(tokens) + (count_tokens(json.dumps(call)) if call else 0)
        prompt_tokens = count_tokens(" ".join(texts))
        # Ollama's native API says "stop" after a tool call too (only /v1 says tool_calls).
        done = _final_fields("length" if cut else "stop", prompt_tokens, generated)
        if not body.streaming():
            message: dict[str, object] = {"role": "assistant", "content": "".join(tokens)}
            if thinking:
                message["thinking"] = "".join(thinking)
            if call:
                message["tool_calls"] = [call]
            return _json(_chat_object(name, message, done))
        return self._stream(self._chat_lines(name, thinking, tokens, call, done))

    def _thinking(self, body: _Body, prompt: str) -> list[str]:
        """Reasoning words when `think` asks for them (a capability already checked)."""
        if body.raw("think") in (None, False, ""):
            return []
        return synthetic_tokens(f"think\0{prompt}", self._think_tokens)

    def _generate(self, request: Request) -> Answer:
        body = _Body(request, "GenerateRequest")
        _check_top_logprobs(body)
        name = _required_model(body)
        model = self._installed(name, f"model '{name}' not found")
        prompt = body.string("prompt")
        keep_alive = body.keep_alive()
        if not prompt and keep_alive == 0:  # Ollama unloads before it checks capabilities
            return self._load_only(model, name, keep_alive, {"response": ""})
        if body.raw("raw") is True and (
            body.string("template") or body.string("system") or body.raw("context")
        ):
            raise RouteError(400, "raw mode does not support template, system, or context")
        _check_capabilities(body, model, name, "generate")
        if not prompt:
            return self._load_only(model, name, keep_alive, {"response": ""})
        self._inventory.use(model, keep_alive)
        tokens, cut = self._reply(body, prompt)
        prompt_tokens = count_tokens(prompt)
        context = list(range(1, prompt_tokens + len(tokens) + 1))
        done = _final_fields("length" if cut else "stop", prompt_tokens, len(tokens), context)
        if not body.streaming():
            return _json(_generate_object(name, "".join(tokens), {**done, "done": True}))
        return self._stream(self._generate_lines(name, tokens, done))

    def _reply(self, body: _Body, prompt: str) -> tuple[list[str], bool]:
        limit = json_int(body.options().get("num_predict"))
        format_ = body.raw("format")
        return self._script.reply(
            prompt,
            limit=limit if limit is not None and limit >= 0 else None,
            json_mode=format_ not in (None, ""),
        )

    def _load_only(
        self, model: OllamaModel, name: str, keep_alive: int | None, payload: dict[str, object]
    ) -> Answer:
        """Empty messages or prompt: load the model (or unload it for keep_alive=0)."""
        self._inventory.use(model, keep_alive)
        reason = "unload" if keep_alive == 0 else "load"
        fields = {"model": name, "created_at": go_timestamp(), **payload}
        return _json({**fields, "done": True, "done_reason": reason})

    def _chat_lines(
        self,
        name: str,
        thinking: list[str],
        tokens: list[str],
        call: dict[str, object] | None,
        done: dict[str, object],
    ) -> Iterator[bytes]:
        """Reasoning pieces, then answer pieces, then the call whole in one chunk, then done."""
        if thinking:
            reasoning = {"role": "assistant", "content": "", "thinking": HOLE}
            thought = Template(_chat_object(name, reasoning, None, HOLE), suffix=b"\n")
            for token in thinking:
                yield thought.fill(go_timestamp(), token)
        message = {"role": "assistant", "content": HOLE}
        line = Template(_chat_object(name, message, None, HOLE), suffix=b"\n")
        for token in tokens:
            yield line.fill(go_timestamp(), token)
        if call:
            calling = {"role": "assistant", "content": "", "tool_calls": [call]}
            yield ndjson_line(_chat_object(name, calling, None))
        yield ndjson_line(_chat_object(name, _ASSISTANT_EMPTY, done))

    def _generate_lines(
        self, name: str, tokens: list[str], done: dict[str, object]
    ) -> Iterator[bytes]:
        line = Template(_generate_object(name, HOLE, {"done": False}, HOLE), suffix=b"\n")
        for token in tokens:
            yield line.fill(go_timestamp(), token)
        yield ndjson_line(_generate_object(name, "", {"done": True, **done}))

    def _stream(self, lines: Iterator[bytes]) -> StreamResponse:
        return StreamResponse(
            lines,
            content_type=NDJSON,
            interval=self._delay,
            error_tail=_stream_error,
            error_head=_stream_error_first,
        )

    # Embeddings.

    def _embed(self, request: Request) -> Answer:
        body = _Body(request, "EmbedRequest")
        keep = body.integer("dimensions")  # decoding fails before any check, as in Go
        name = _required_model(body)
        inputs = _embed_inputs(body.raw("input"))
        model = self._installed(name, f'model "{name}" not found, try pulling it first')
        self._inventory.use(model, body.keep_alive())
        if not inputs:
            return _json({"model": name, "embeddings": []})
        truncate = body.raw("truncate") is not False
        if not truncate and any(count_tokens(text) > model.context_length for text in inputs):
            raise RouteError(400, "the input length exceeds the context length")
        dims = model.embedding_length
        vectors = raw_array(embedding_json(text, model.key, dims, keep=keep) for text in inputs)
        prompt_tokens = sum(count_tokens(text) for text in inputs)
        durations = _Durations(prompt_tokens, 0)
        answer = {
            "model": name,
            "embeddings": vectors,
            "total_duration": durations.total,
            "load_duration": durations.load,
            "prompt_eval_count": prompt_tokens,
        }
        return _json_response(json_object(answer))

    def _embeddings(self, request: Request) -> Answer:
        body = _Body(request, "EmbeddingRequest")
        name = _required_model(body)
        model = self._installed(name, f'model "{name}" not found, try pulling it first')
        self._inventory.use(model, body.keep_alive())
        prompt = body.string("prompt")
        if not prompt:
            return _json({"embedding": []})
        vector = embedding_json(prompt, model.key, model.embedding_length, normalise=False)
        return _json_response(json_object({"embedding": vector}))

    # Pull.

    def _pull(self, request: Request) -> Answer:
        body = _Body(request, "PullRequest")
        name = body.string("model") or body.string("name")
        if not name:
            raise RouteError(400, "invalid model name")
        progress = self._pull_progress(name)
        if body.streaming():
            return self._stream(ndjson_line(update) for update in progress)
        last: dict[str, object] = {}
        for update in progress:
            if "error" in update:
                return _json({"error": update["error"]}, 500, _PRESET_JSON)
            last = update
        return _json(last, content_type=_PRESET_JSON)

    def _pull_progress(self, name: str) -> Iterator[dict[str, object]]:
        """Pull status objects; installs the model when (and only if) the pull completes."""
        yield {"status": "pulling manifest"}
        key = canonical_name(name)
        model = self._registry.get(key) or self._inventory.find(key)
        if model is None:
            yield {"error": "pull model manifest: file does not exist"}
            return
        steps = self._pull_steps
        for digest, size in model.layers():
            status = {"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}"}
            yield {**status, "total": size}
            for step in range(1, steps + 1):
                yield {**status, "total": size, "completed": size * step // steps}
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        self._inventory.add(model)
        yield {"status": "removing any unused layers"}
        yield {"status": "success"}

    def _installed(self, name: str, missing: str) -> OllamaModel:
        model = self._inventory.find(name)
        if model is None:
            raise RouteError(404, missing)
        return model


class _Body:
    """A request object decoded like Go's encoding/json would, with its error texts."""

    def __init__(self, request: Request, type_name: str) -> None:
        if not request.body.strip():
            raise RouteError(400, "missing request body")
        try:
            value = json.loads(request.body, parse_float=_Fraction.parse)
        except json.JSONDecodeError as error:
            raise RouteError(400, _go_syntax_error(error)) from None
        except UnicodeDecodeError:
            raise RouteError(400, "invalid character in string literal") from None
        if not isinstance(value, dict):
            kind = _go_kind(value)
            raise RouteError(
                400, f"json: cannot unmarshal {kind} into Go value of type api.{type_name}"
            )
        self._value: dict[str, object] = value
        self._type = type_name

    def raw(self, key: str) -> object:
        """A field as decoded, None when absent."""
        return self._value.get(key)

    def string(self, key: str) -> str:
        """A string field ("" when absent or null)."""
        value = self._value.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._type_error(key, value, "string")
        return value

    def integer(self, key: str) -> int | None:
        """An `int` field (None when absent or null): a fraction, a number beyond int64 or
        another JSON type fails the whole request, as Go's decoding does."""
        value = self._value.get(key)
        if value is None:
            return None
        number = json_int(value)
        if number is None or number not in _INT64:
            raise self._type_error(key, value, "int")
        return number

    def streaming(self) -> bool:
        """`stream`, which defaults to true."""
        value = self._value.get("stream")
        if value is None:
            return True
        if not isinstance(value, bool):
            raise self._type_error("stream", value, "bool")
        return value

    def messages(self) -> list[dict[str, object]]:
        """The chat messages, each checked to be an object."""
        value = self._value.get("messages")
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._type_error("messages", value, "[]api.Message")
        for item in value:
            if not isinstance(item, dict):
                raise self._type_error("messages", item, "api.Message")
        return value

    def tools(self) -> list[dict[str, object]]:
        """The offered tools, each checked to be an object."""
        value = self._value.get("tools")
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._type_error("tools", value, "api.Tools")
        for item in value:
            if not isinstance(item, dict):
                raise self._type_error("tools", item, "api.Tool")
        return value

    def options(self) -> dict[str, object]:
        """The free-form `options` object."""
        value = self._value.get("options")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._type_error("options", value, "map[string]interface {}")
        return value

    def keep_alive(self) -> int | None:
        """`keep_alive` in nanoseconds (None when absent)."""
        try:
            return keep_alive_ns(self._value.get("keep_alive"))
        except (TypeError, ValueError) as error:
            raise RouteError(400, str(error)) from None

    def _type_error(self, key: str, value: object, go_type: str) -> RouteError:
        found = _go_kind(value)
        if found == "number" and go_type == "int":  # Go quotes a number that does not fit
            found += f" {value.literal if isinstance(value, _Fraction) else value}"
        return RouteError(
            400,
            f"json: cannot unmarshal {found} into Go struct field "
            f"{self._type}.{key} of type {go_type}",
        )


class _Fraction(float):
    """A JSON number written with a fraction or exponent, as written: Go's error for one
    that does not fit an int field quotes it (`number 1e3`, not Python's `1000.0`)."""

    __slots__ = ("literal",)
    literal: str

    @classmethod
    def parse(cls, literal: str) -> _Fraction:
        number = cls(literal)
        number.literal = literal
        return number


def _required_model(body: _Body) -> str:
    name = body.string("model")
    if not name:
        raise RouteError(400, "model is required")
    return name


def _check_top_logprobs(body: _Body) -> None:
    value = json_int(body.raw("top_logprobs"))
    if value is not None and not 0 <= value <= 20:
        raise RouteError(400, "top_logprobs must be between 0 and 20")


def _check_capabilities(body: _Body, model: OllamaModel, name: str, verb: str) -> None:
    capabilities = model.effective_capabilities
    if "completion" not in capabilities:
        raise RouteError(400, f"{json.dumps(name)} does not support {verb}")
    if body.raw("think") not in (None, False, "") and "thinking" not in capabilities:
        raise RouteError(400, f"{json.dumps(name)} does not support thinking")
    if body.raw("tools") and "tools" not in capabilities:
        raise RouteError(400, f"{_full_name(model.key)} does not support tools")


def _full_name(key: str) -> str:
    """The name with the registry host and namespace Ollama's errors spell out."""
    slashes = key.count("/")
    if slashes == 0:
        return f"registry.ollama.ai/library/{key}"
    return f"registry.ollama.ai/{key}" if slashes == 1 else key


def _embed_inputs(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise RouteError(400, "invalid input type")


def _final_fields(
    done_reason: str, prompt_tokens: int, eval_count: int, context: list[int] | None = None
) -> dict[str, object]:
    """What a final object adds after `done`, in Go's field order, zeros omitted as Go does."""
    durations = _Durations(prompt_tokens, eval_count)
    fields: dict[str, object] = {
        "done_reason": done_reason,
        "context": context,
        "total_duration": durations.total,
        "load_duration": durations.load,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": durations.prompt,
        "eval_count": eval_count,
        "eval_duration": durations.eval,
    }
    return {key: value for key, value in fields.items() if value}


class _Durations:
    """Invented but consistent nanosecond timings: 3 ms load, 0.4 ms per prompt token,
    20 ms per generated token (50 tok/s)."""

    def __init__(self, prompt_tokens: int, eval_count: int) -> None:
        self.load = 3_000_000
        self.prompt = prompt_tokens * 400_000
        self.eval = eval_count * 20_000_000
        self.total = self.load + self.prompt + self.eval + 1_000_000


def _chat_object(
    name: str,
    message: Mapping[str, object],
    done: Mapping[str, object] | None,
    created_at: str | None = None,
) -> dict[str, object]:
    head = {"model": name, "created_at": created_at or go_timestamp(), "message": message}
    return {**head, "done": False} if done is None else {**head, "done": True, **done}


def _generate_object(
    name: str, text: str, tail: dict[str, object], created_at: str | None = None
) -> dict[str, object]:
    return {"model": name, "created_at": created_at or go_timestamp(), "response": text, **tail}


def _json(value: object, status: int = 200, content_type: str = JSON_UTF8) -> Response:
    """`value` as JSON, framed the way gin writes it (see `_json_response`)."""
    return _json_response(json_bytes(value), status, content_type)


def _json_response(body: bytes, status: int = 200, content_type: str = JSON_UTF8) -> Response:
    """Go's net/http framing: Content-Length up to 2 KiB, a single chunk above."""
    return Response(status, body, content_type, chunked=len(body) > _GO_CHUNKING_THRESHOLD)


def _error(request: Request, status: int, message: str | None) -> Response:
    """Ollama's error body, `{"error": "..."}`."""
    if message is None:
        message = FakeOllama.BUSY_MESSAGE if status == 503 else _phrase(status)
    return _json({"error": message}, status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def _stream_error(message: str) -> list[bytes]:
    """Once a stream has started, Ollama reports an error as one last line."""
    return [ndjson_line({"error": message})]


def _stream_error_first(message: str) -> Response:
    """Before a stream's first line, Ollama answers the error with its status instead (500
    unless the runner gave one), the type preset to bare JSON (`streamResponse`)."""
    return _json({"error": message}, 500, _PRESET_JSON)


def _go_syntax_error(error: json.JSONDecodeError) -> str:
    if error.pos >= len(error.doc.rstrip()):
        return "unexpected EOF"
    return f"invalid character {error.doc[error.pos]!r} looking for beginning of value"


def _go_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
