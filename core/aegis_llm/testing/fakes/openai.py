"""A fake OpenAI-compatible server in four flavours (LM Studio, llama.cpp, vLLM, OpenAI),
checked against the official `openai` client.

The flavours share the OpenAI wire format (`/v1/models`, `/v1/chat/completions` with SSE,
`/v1/embeddings`) and differ where the real servers differ: error bodies, how an error
inside a stream looks, model listings, health endpoints, which routes need the API key,
and what an unknown route answers (LM Studio: 200). LM Studio also gets its `/api/v0`
and `/api/v1` REST APIs (model state; loading and unloading instances), JIT loading and
"No models loaded"; llama.cpp its `/health`, single model and `meta: null` while loading;
vLLM its usage chunk with `choices: null`. A request offering tools may be answered with
tool calls (`_openai_tools`), and a reasoning model reasons in each flavour's field.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import partial
from typing import Final, NoReturn
from urllib.parse import unquote

from ._http import Answer, Handler, Request, Response, StreamResponse
from ._lmstudio_native import (
    Instances,
    v0_entry,
    v0_extras,
    v1_error,
    v1_load_answer,
    v1_model_entry,
)
from ._openai_flavours import RULES, Flavour, FlavourRules, OpenAIModel
from ._openai_tools import ToolCallSource, ToolScript, call_deltas, wire_calls
from ._routes import RouteError, Router
from ._server import FakeServer
from ._synth import (
    ReplyScript,
    ReplySource,
    count_tokens,
    embedding_base64,
    embedding_json,
    split_words,
)
from ._wire import (
    HOLE,
    SSE_DONE,
    SSE_PING,
    Template,
    json_bytes,
    json_int,
    json_object,
    raw_array,
    sse_event,
)

__all__ = ["DEFAULT_OPENAI_MODELS", "FakeOpenAI", "Flavour", "OpenAIModel"]

DEFAULT_OPENAI_MODELS: Final = (
    OpenAIModel("llama-3.2-3b-instruct"),
    OpenAIModel(
        "text-embedding-nomic-embed-text-v1.5",
        kind="embeddings",
        loaded=False,
        max_context_length=2048,
        arch="nomic-bert",
        publisher="nomic-ai",
        quantization="Q4_K_M",
    ),
)

NO_MODELS_LOADED: Final = (
    "No models loaded. Please load a model in the developer page or use the 'lms load' command."
)
_LLAMACPP_NO_EMBEDDINGS: Final = (
    "This server does not support embeddings. Start it with `--embeddings`"
)


class FakeOpenAI(FakeServer):
    """A loopback OpenAI-style server: `openai.OpenAI(base_url=f"{server.url}/v1", ...)`.

    Args:
        flavour: `lmstudio` (default), `llamacpp`, `vllm` or `openai`.
        models: known models (default `DEFAULT_OPENAI_MODELS`: a loaded chat model and an
            unloaded 768-dimension embedding model). llama.cpp serves only the first one,
            whatever `model` a request names, and embeds only if it is an embedding model.
        reply, reply_tokens, stream_delay: as for `FakeOllama`.
        tool_calls: the calls made when a request offers tools, its `tool_choice` allows
            them and the user spoke last: (name, arguments JSON text) pairs, or a function
            of the request body giving them; None calls the forced (or first) tool with
            arguments made from its schema. See `_openai_tools`.
        reasoning: text a reasoning model thinks before each answer, sent in
            `message.reasoning` / `delta.reasoning` (LM Studio's gpt-oss) or
            `reasoning_content` (the other flavours, as llama.cpp and vLLM do).
        api_key: when set, requests need `Authorization: Bearer <api_key>` (except each
            flavour's public routes) and get the flavour's 401 otherwise.
        jit: LM Studio's just-in-time loading: unloaded models are listed and load on use.
            With `jit=False` only loaded models are listed, and a request when none is
            loaded gets "No models loaded" with `no_models_status` (LM Studio has sent
            both 404 and 400); if exactly one is loaded, it silently serves any model name,
            as LM Studio does.
        loading: llama.cpp only: `/health` answers 503 "Loading model" and so do inference
            routes, and `/v1/models` lists the model with `meta: null`, until the attribute
            `loading` is set to False.
        ping_every: send an SSE comment line (`: ping`) before every n-th token.
        reverse_embeddings: list embedding items in reverse order (clients must sort by
            `index`).
        port, history, idle_timeout: see `FakeServer`.
    """

    def __init__(
        self,
        flavour: Flavour = "lmstudio",
        models: Iterable[OpenAIModel] | None = None,
        *,
        reply: ReplySource = None,
        reply_tokens: int = 8,
        stream_delay: float = 0.0,
        tool_calls: ToolCallSource = None,
        reasoning: str | None = None,
        api_key: str | None = None,
        jit: bool = True,
        no_models_status: int = 400,
        loading: bool = False,
        ping_every: int = 0,
        reverse_embeddings: bool = False,
        port: int = 0,
        history: int = 256,
        idle_timeout: float | None = None,
    ) -> None:
        self.flavour: Flavour = flavour
        self.loading = loading
        self._rules: FlavourRules = RULES[flavour]
        self._lock = threading.Lock()
        chosen = list(DEFAULT_OPENAI_MODELS if models is None else models)
        if flavour == "llamacpp":
            chosen = chosen[:1]
        if not chosen:
            raise ValueError("a fake OpenAI-style server needs at least one model")
        self._models = {model.id: model for model in chosen}
        self._instances = Instances(self._models, self._lock)
        self._script = ReplyScript(reply, reply_tokens)
        self._tools = ToolScript(tool_calls)
        self._reasoning = split_words(reasoning) if reasoning else []
        self._call_ids = itertools.count(1)
        self._delay = stream_delay
        self._api_key = api_key
        self._jit = jit
        self._no_models_status = no_models_status
        self._ping_every = ping_every
        self._reverse_embeddings = reverse_embeddings
        self._ids = itertools.count(1)
        super().__init__(
            self._build_router(),
            errors=self._error,
            port=port,
            history=history,
            idle_timeout=idle_timeout,
        )

    @property
    def models(self) -> list[OpenAIModel]:
        """Known models with their current load state."""
        with self._lock:
            return list(self._models.values())

    def add_model(self, model: OpenAIModel) -> None:
        """Add (or replace) a model while the server runs."""
        with self._lock:
            self._models[model.id] = model
        self._instances.forget(model.id)

    def remove_model(self, model_id: str) -> None:
        """Forget a model while the server runs."""
        with self._lock:
            del self._models[model_id]
        self._instances.forget(model_id)

    def set_loaded(self, model_id: str, loaded: bool = True) -> None:
        """Load or unload a model (LM Studio's `lms load` / `lms unload`)."""
        with self._lock:
            self._models[model_id] = replace(self._models[model_id], loaded=loaded)
        self._instances.forget(model_id)

    # Routing.

    def _build_router(self) -> Router:
        router = Router(errors=self._error, not_found=self._rules.unknown_route)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v1/models", self._list_models),
            ("POST", "/v1/chat/completions", self._chat),
            ("POST", "/v1/embeddings", self._embeddings),
        ]
        prefixes: list[tuple[str, str, Handler]] = [("GET", "/v1/models/", self._get_model)]
        if self.flavour == "lmstudio":
            routes += [
                ("GET", "/api/v0/models", self._list_models_v0),
                ("POST", "/api/v0/chat/completions", self._chat_v0),
                ("POST", "/api/v0/embeddings", self._embeddings),
                ("GET", "/api/v1/models", self._list_models_v1),
                ("POST", "/api/v1/models/load", self._load_v1),
                ("POST", "/api/v1/models/unload", self._unload_v1),
            ]
            prefixes.append(("GET", "/api/v0/models/", self._get_model_v0))
        elif self.flavour == "llamacpp":
            routes += [
                ("GET", "/health", self._health),
                ("GET", "/v1/health", self._health),
                ("GET", "/models", self._list_models),
                ("POST", "/chat/completions", self._chat),
                ("POST", "/embeddings", self._embeddings),
            ]
        elif self.flavour == "vllm":
            routes.append(("GET", "/health", self._health))
        for method, path, handler in routes:
            router.add(method, path, self._guarded(handler))
        for method, prefix, handler in prefixes:
            router.add_prefix(method, prefix, self._guarded(handler))
        return router

    def _guarded(self, handler: Handler) -> Handler:
        """Check the API key (outside the flavour's public routes) before `handler`."""

        def guarded(request: Request) -> Answer:
            if self._api_key is not None and request.path not in self._rules.public_paths:
                expected = f"Bearer {self._api_key}"
                if request.headers.get("authorization") != expected:
                    return self._rules.unauthorized()
            return handler(request)

        return guarded

    def _error(self, request: Request, status: int, message: str | None) -> Response:
        rules = self._rules
        return rules.error(status, message or rules.default_message(status))

    def _fail(self, answer: Response) -> NoReturn:
        raise RouteError(answer.status, "", answer=answer)

    # Models and health.

    def _health(self, request: Request) -> Answer:
        if self.flavour == "vllm":
            return Response(200, b"", None)
        if self.loading:
            return self._rules.error(503, "Loading model")
        return self._json({"status": "ok"})

    def _list_models(self, request: Request) -> Answer:
        listed = [
            model
            for model in self.models
            if self._jit or self.flavour != "lmstudio" or model.loaded
        ]
        entries = [self._rules.model_entry(model) for model in listed]
        if self.flavour == "llamacpp" and self.loading:
            for entry in entries:  # llama-server lists its model before it knows its size
                entry["meta"] = None
        return self._json({"object": "list", "data": entries})

    def _get_model(self, request: Request) -> Answer:
        model_id = unquote(request.path.removeprefix("/v1/models/"))
        model = self._models.get(model_id)
        if model is None:
            return self._rules.model_missing(model_id)
        return self._json(self._rules.model_entry(model))

    def _list_models_v0(self, request: Request) -> Answer:
        return self._json({"object": "list", "data": [v0_entry(m) for m in self.models]})

    def _get_model_v0(self, request: Request) -> Answer:
        model_id = unquote(request.path.removeprefix("/api/v0/models/"))
        model = self._models.get(model_id)
        if model is None:
            return self._rules.model_missing(model_id)
        return self._json(v0_entry(model))

    def _list_models_v1(self, request: Request) -> Answer:
        with self._lock:
            entries = [v1_model_entry(m, self._instances.of(m)) for m in self._models.values()]
        return self._json({"models": entries})

    def _load_v1(self, request: Request) -> Answer:
        body = self._body(request)
        model_id = body.get("model")
        if not isinstance(model_id, str) or not model_id:
            self._fail(self._v1_error(400, "invalid_request", "'model' is required"))
        loaded = self._instances.load(model_id)
        if loaded is None:
            self._fail(self._v1_error(404, "model_not_found", f'Model "{model_id}" not found.'))
        model, instance = loaded
        return self._json(v1_load_answer(model, instance, echo=bool(body.get("echo_load_config"))))

    def _unload_v1(self, request: Request) -> Answer:
        instance = self._body(request).get("instance_id")
        if not isinstance(instance, str) or not instance:
            self._fail(self._v1_error(400, "invalid_request", "'instance_id' is required"))
        if not self._instances.unload(instance):
            message = f'No loaded model instance "{instance}".'
            self._fail(self._v1_error(404, "model_not_found", message))
        return self._json({"instance_id": instance})

    def _v1_error(self, status: int, kind: str, message: str) -> Response:
        return v1_error(status, kind, message, self._rules.headers, self._rules.json_type)

    # Chat.

    def _chat(self, request: Request) -> Answer:
        return self._complete(request, v0=False)

    def _chat_v0(self, request: Request) -> Answer:
        return self._complete(request, v0=True)

    def _complete(self, request: Request, *, v0: bool) -> Answer:
        self._check_ready()
        body = self._body(request)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self._fail(
                self._rules.error(400, "'messages' must be a non-empty array", param="messages")
            )
        problem = self._tools.problem(body)
        if problem is not None:
            self._fail(self._rules.error(400, problem, param="tools"))
        model, name = self._resolve(body.get("model"), "llm")
        prompt = _last_user_text(messages)
        calls = wire_calls(self._tools.calls(body, prompt), self._call_ids)
        tokens, cut = self._script.reply(
            prompt, limit=_token_limit(body), json_mode=_wants_json(body.get("response_format"))
        )
        if calls:
            tokens, cut = [], False
        finish = "tool_calls" if calls else "length" if cut else "stop"
        prompt_tokens = count_tokens(" ".join(_text(m) for m in messages if isinstance(m, dict)))
        completion_tokens = len(tokens) + len(self._reasoning) + len(calls) * 8
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        head: dict[str, object] = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "created": int(time.time()),
            "model": name,
        }
        if self._rules.fingerprint is not None:
            head["system_fingerprint"] = self._rules.fingerprint
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            chunks = self._chunks(head, tokens, calls, finish, usage, include_usage=include_usage)
            return StreamResponse(
                chunks,
                content_type=self._rules.sse_type,
                headers=self._rules.headers,
                interval=self._delay,
                error_tail=self._rules.stream_error,
            )
        message: dict[str, object] = {
            "role": "assistant",
            "content": None if calls else "".join(tokens),
        }
        if self._reasoning:
            message[self._rules.reasoning_key] = "".join(self._reasoning)
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        answer = {"object": "chat.completion", **head, "choices": [choice], "usage": usage}
        if self.flavour == "llamacpp":
            answer["timings"] = _timings(prompt_tokens, len(tokens))
        if v0:
            answer.update(v0_extras(model, completion_tokens, finish))
        return self._json(answer)

    def _chunks(
        self,
        head: dict[str, object],
        tokens: list[str],
        calls: list[dict[str, object]],
        finish: str,
        usage: dict[str, int],
        *,
        include_usage: bool,
    ) -> Iterator[bytes]:
        base = {"object": "chat.completion.chunk", **head}

        def chunk(delta: dict[str, object], reason: str | None = None) -> dict[str, object]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            value: dict[str, object] = {**base, "choices": [choice]}
            if include_usage:
                value["usage"] = None
            return value

        yield sse_event(chunk({"role": "assistant", "content": None if calls else ""}))
        if self._reasoning:
            thought = Template(chunk({self._rules.reasoning_key: HOLE}), prefix=b"data: ",
                               suffix=b"\n\n")  # fmt: skip
            yield from map(thought.fill, self._reasoning)
        content = Template(chunk({"content": HOLE}), prefix=b"data: ", suffix=b"\n\n")
        for index, token in enumerate(tokens):
            if self._ping_every and index and index % self._ping_every == 0:
                yield SSE_PING
            yield content.fill(token)
        for delta in call_deltas(calls):
            yield sse_event(chunk(delta))
        last = chunk({}, finish)
        if self.flavour == "llamacpp":
            last["timings"] = _timings(usage["prompt_tokens"], usage["completion_tokens"])
        yield sse_event(last)
        if include_usage:
            yield sse_event({**base, "choices": self._rules.usage_choices(), "usage": usage})
        yield SSE_DONE

    # Embeddings.

    def _embeddings(self, request: Request) -> Answer:
        self._check_ready()
        body = self._body(request)
        model, name = self._resolve(body.get("model"), "embeddings")
        texts = _embedding_inputs(body.get("input"))
        if not texts:
            self._fail(self._rules.error(400, "'input' must not be empty", param="input"))
        encoding_format = body.get("encoding_format") or "float"
        if encoding_format not in ("float", "base64"):
            message = "'encoding_format' must be 'float' or 'base64'"
            self._fail(self._rules.error(400, message, param="encoding_format"))
        keep = json_int(body.get("dimensions"))
        dims = model.embedding_length
        encode: Callable[[str], object] = (
            partial(embedding_base64, model=model.id, dimensions=dims, keep=keep)
            if encoding_format == "base64"
            else partial(embedding_json, model=model.id, dimensions=dims, keep=keep)
        )
        items = [
            json_object({"object": "embedding", "index": index, "embedding": encode(text)})
            for index, text in enumerate(texts)
        ]
        if self._reverse_embeddings:
            items.reverse()
        tokens = sum(count_tokens(text) for text in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        answer = {"object": "list", "data": raw_array(items), "model": name, "usage": usage}
        return self._json_response(json_object(answer))

    # Shared request handling.

    def _check_ready(self) -> None:
        if self.flavour == "llamacpp" and self.loading:
            self._fail(self._rules.error(503, "Loading model"))

    def _body(self, request: Request) -> dict[str, object]:
        try:
            value = request.json()
        except ValueError:
            value = None
        if not isinstance(value, dict):
            message = "We could not parse the JSON body of your request."
            self._fail(self._rules.error(400, message))
        return value

    def _resolve(self, requested: object, kind: str) -> tuple[OpenAIModel, str]:
        """The model serving a request and the name its answer reports."""
        rules = self._rules
        if self.flavour == "llamacpp":
            model = next(iter(self.models))
            if kind == "embeddings" and model.kind != "embeddings":
                self._fail(rules.error(501, _LLAMACPP_NO_EMBEDDINGS))
            return model, requested if isinstance(requested, str) and requested else model.id
        if not isinstance(requested, str) or not requested:
            self._fail(rules.error(400, "you must provide a model parameter", param="model"))
        if self.flavour == "lmstudio":
            served = self._lmstudio_model(requested)
        else:
            served = self._models.get(requested)
        if served is None:
            self._fail(rules.model_missing(requested))
        model = served
        if model.kind != kind:
            self._fail(self._wrong_kind(model, kind))
        return model, model.id if self.flavour == "lmstudio" else requested

    def _wrong_kind(self, model: OpenAIModel, kind: str) -> Response:
        """A chat model asked to embed (or the reverse): LM Studio's words where reported."""
        if self.flavour == "lmstudio" and kind == "embeddings":
            message = f'Failed to load model "{model.id}". Error: Model is not embedding.'
            return self._rules.error(400, message, param="model", code="model_not_found")
        wanted = "an embedding model" if kind == "embeddings" else "a chat model"
        return self._rules.error(400, f"Model '{model.id}' is not {wanted}", param="model")

    def _lmstudio_model(self, requested: str) -> OpenAIModel | None:
        """LM Studio's choice: the model if loaded or JIT-loadable, else its quirks."""
        with self._lock:
            model = self._models.get(requested)
            if model is not None and (model.loaded or self._jit):
                if not model.loaded:
                    model = self._models[requested] = replace(model, loaded=True)
                return model
            if self._jit:
                return None
            loaded = [candidate for candidate in self._models.values() if candidate.loaded]
        if not loaded:
            status = self._no_models_status
            self._fail(self._rules.error(status, NO_MODELS_LOADED, param="model"))
        return loaded[0] if len(loaded) == 1 else None

    def _json(self, value: object) -> Response:
        return self._json_response(json_bytes(value))

    def _json_response(self, body: bytes) -> Response:
        return Response(200, body, self._rules.json_type, self._rules.headers)


def _text(message: dict[str, object]) -> str:
    """The text of a message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, dict)]
        return " ".join(part for part in parts if isinstance(part, str))
    return ""


def _last_user_text(messages: list[object]) -> str:
    dicts = [message for message in messages if isinstance(message, dict)]
    users = [message for message in dicts if message.get("role") == "user"]
    chosen = users or dicts
    return _text(chosen[-1]) if chosen else ""


def _token_limit(body: dict[str, object]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = json_int(body.get(key))
        if value is not None and value >= 0:
            return value
    return None


def _wants_json(response_format: object) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    )


def _embedding_inputs(value: object) -> list[str]:
    """Strings to embed from `input`: a string, strings, token ids, or lists of token ids."""
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        return []
    if all(isinstance(item, int) for item in value):
        return [" ".join(map(str, value))] if value else []
    texts: list[str] = []
    for item in value:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list) and all(isinstance(token, int) for token in item):
            texts.append(" ".join(map(str, item)))
        else:
            return []
    return texts


def _timings(prompt_tokens: int, predicted: int) -> dict[str, object]:
    """llama.cpp's `timings` (milliseconds), invented but consistent with 50 tok/s."""
    prompt_ms, predicted_ms = prompt_tokens * 0.4, predicted * 20.0
    return {
        "cache_n": 0,
        "prompt_n": prompt_tokens,
        "prompt_ms": prompt_ms,
        "prompt_per_second": prompt_tokens / prompt_ms * 1000 if prompt_ms else 0.0,
        "predicted_n": predicted,
        "predicted_ms": predicted_ms,
        "predicted_per_second": 50.0 if predicted else 0.0,
    }
