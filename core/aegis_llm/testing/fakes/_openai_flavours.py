"""How each OpenAI-compatible server differs on the wire: error bodies, errors inside a
stream, model listings, headers, what needs the API key, unknown routes.

Shapes come from PROTOCOLS.md §0, §2, §3; where a server's exact wording is not
documented (LM Studio's 401 text) the shape is right and the text is ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Literal

from ._http import Headers, Request, Response
from ._wire import EVENT_STREAM, JSON_UTF8, SSE_DONE, json_bytes, sse_event

Flavour = Literal["lmstudio", "llamacpp", "vllm", "openai"]


@dataclass(frozen=True, slots=True)
class OpenAIModel:
    """A model a fake OpenAI-style server knows.

    `kind` is LM Studio's type (`llm` or `embeddings`); `loaded` matters to LM Studio
    (`/api/v0/models` state, "No models loaded", JIT loading). `embedding_length` is the
    vector size of an embedding model. The other fields feed LM Studio's `/api/v0` views
    and llama.cpp's `meta`.
    """

    id: str
    kind: Literal["llm", "embeddings"] = "llm"
    loaded: bool = True
    max_context_length: int = 131_072
    arch: str = "llama"
    publisher: str = "lmstudio-community"
    quantization: str = "Q4_K_M"
    compatibility_type: str = "gguf"
    embedding_length: int = 768
    capabilities: tuple[str, ...] = ()
    created: int = 1_735_689_600


class FlavourRules:
    """The baseline: OpenAI's own API. Subclasses override what their server does differently."""

    name: Flavour = "openai"
    owned_by: str = "system"
    json_type: str = "application/json"
    sse_type: str = "text/event-stream; charset=utf-8"
    headers: Headers = ()
    fingerprint: str | None = "fp_fake"
    public_paths: frozenset[str] = frozenset()
    # Where a reasoning model's thinking goes. OpenAI's chat API shows none; the
    # baseline uses the field llama.cpp, vLLM and DeepSeek-style servers use.
    reasoning_key: str = "reasoning_content"

    def error_value(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> object:
        """The JSON error body for one failure."""
        return {
            "error": {
                "message": message,
                "type": _openai_type(status),
                "param": param,
                "code": code,
            }
        }

    def error(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> Response:
        """An error answer with this server's body shape and headers."""
        value = self.error_value(status, message, param=param, code=code)
        return Response(status, json_bytes(value), self.json_type, self.headers)

    def default_message(self, status: int) -> str:
        """Text for an error nobody worded (an injected fault)."""
        if status == 429:
            return "Rate limit reached for requests. Please try again later."
        return _phrase(status)

    def stream_error(self, message: str) -> list[bytes]:
        """What follows the last good chunk when the server fails mid-stream."""
        return [sse_event(self.error_value(500, message))]

    def usage_choices(self) -> object:
        """`choices` of the usage chunk `include_usage` adds before `[DONE]`."""
        return []

    def unauthorized(self) -> Response:
        """The answer to a missing or wrong API key."""
        return self.error(
            401,
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def model_missing(self, model_id: str) -> Response:
        """The answer when the requested model does not exist."""
        message = f"The model `{model_id}` does not exist or you do not have access to it."
        return self.error(404, message, code="model_not_found")

    def unknown_route(self, request: Request) -> Response:
        """The answer to a path this server does not serve."""
        message = f"Invalid URL ({request.method} {request.path})"
        return self.error(404, message)

    def model_entry(self, model: OpenAIModel) -> dict[str, object]:
        """One item of `/v1/models`."""
        return {
            "id": model.id,
            "object": "model",
            "created": model.created,
            "owned_by": self.owned_by,
        }


class LMStudioRules(FlavourRules):
    """LM Studio (an Express app): OpenAI errors, and a 200 for unknown routes."""

    name: Flavour = "lmstudio"
    owned_by = "organization_owner"
    json_type = JSON_UTF8
    sse_type = EVENT_STREAM
    headers: Headers = (("X-Powered-By", "Express"),)
    fingerprint = None
    reasoning_key = "reasoning"  # gpt-oss, since 0.3.23

    def default_message(self, status: int) -> str:
        return _phrase(status)

    def unauthorized(self) -> Response:
        return self.error(401, "Invalid or missing API token", code="invalid_api_key")

    def model_missing(self, model_id: str) -> Response:
        return self.error(
            404, f'Model "{model_id}" not found.', param="model", code="model_not_found"
        )

    def unknown_route(self, request: Request) -> Response:
        target = request.path + (f"?{request.query}" if request.query else "")
        body = json_bytes({"error": f"Unexpected endpoint or method. ({request.method} {target})"})
        return Response(200, body, self.json_type, self.headers)

    def model_entry(self, model: OpenAIModel) -> dict[str, object]:
        return {"id": model.id, "object": "model", "owned_by": self.owned_by}


class LlamaCppRules(FlavourRules):
    """llama.cpp's llama-server: `{"error": {code, message, type}}`, errors mid-stream in a
    non-standard SSE `error:` field, `/health`, one model per process."""

    name: Flavour = "llamacpp"
    owned_by = "llamacpp"
    json_type = JSON_UTF8
    sse_type = EVENT_STREAM
    headers: Headers = (("Server", "llama.cpp"),)
    fingerprint = "b6000-fake"
    public_paths = frozenset({"/health", "/v1/health", "/v1/models", "/models"})

    def error_value(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> object:
        return {"error": {"code": status, "message": message, "type": _LLAMACPP_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error")}}  # fmt: skip

    def stream_error(self, message: str) -> list[bytes]:
        return [sse_event(self.error_value(500, message), field="error")]

    def unauthorized(self) -> Response:
        return self.error(401, "Invalid API Key")

    def model_missing(self, model_id: str) -> Response:
        return self.error(404, "model not found")

    def unknown_route(self, request: Request) -> Response:
        return self.error(404, "File Not Found")

    def model_entry(self, model: OpenAIModel) -> dict[str, object]:
        meta = {
            "vocab_type": 2,
            "n_vocab": 128_256,
            "n_ctx_train": model.max_context_length,
            "n_embd": model.embedding_length,
            "n_params": 3_212_749_888,
            "size": 2_019_373_888,
        }
        return {**super().model_entry(model), "meta": meta}


class VLLMRules(FlavourRules):
    """vLLM: flat `{"object": "error", ...}` bodies; a mid-stream error is a data event
    followed by `[DONE]`, written by Python's `json.dumps` (with its spaces); the usage
    chunk has `choices: null`."""

    name: Flavour = "vllm"
    owned_by = "vllm"
    fingerprint = None
    public_paths = frozenset({"/health", "/version"})

    def error_value(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> object:
        error_type = _phrase(status).title().replace(" ", "").removesuffix("Error") + "Error"
        return {"object": "error", "message": message, "type": error_type, "param": param,
                "code": status}  # fmt: skip

    def stream_error(self, message: str) -> list[bytes]:
        tail = json.dumps({"error": self.error_value(400, message)})
        return [f"data: {tail}\n\n".encode(), SSE_DONE]

    def usage_choices(self) -> object:
        return None  # what some vLLM builds send; OpenAI's spec says []

    def unauthorized(self) -> Response:
        return Response(401, json_bytes({"error": "Unauthorized"}), self.json_type)

    def model_missing(self, model_id: str) -> Response:
        return self.error(404, f"The model `{model_id}` does not exist.")

    def unknown_route(self, request: Request) -> Response:
        return Response(404, json_bytes({"detail": "Not Found"}), self.json_type)

    def model_entry(self, model: OpenAIModel) -> dict[str, object]:
        return {
            **super().model_entry(model),
            "root": model.id,
            "parent": None,
            "max_model_len": model.max_context_length,
        }


RULES: Final[dict[Flavour, FlavourRules]] = {
    "openai": FlavourRules(),
    "lmstudio": LMStudioRules(),
    "llamacpp": LlamaCppRules(),
    "vllm": VLLMRules(),
}

_LLAMACPP_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    500: "server_error",
    501: "not_supported_error",
    503: "unavailable_error",
}


def _openai_type(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
