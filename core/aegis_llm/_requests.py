"""What callers ask for, validated before any I/O.

Validation lives in the types so that every entry point (Python API, CLI,
contract suite) rejects the same bad input the same way, and a provider
plugin can trust what it is handed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from aegis_llm._capabilities import Capability
from aegis_llm._tools import Tool, ToolCall, ToolChoice
from aegis_llm.errors import InvalidRequest

__all__ = [
    "ChatOptions",
    "ChatRequest",
    "EmbedRequest",
    "Message",
    "MessageInput",
    "Role",
    "as_messages",
    "validate_request",
]

Role = Literal["system", "user", "assistant", "tool"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Message(BaseModel):
    """One chat turn. ``images`` are base64 strings for vision models.

    Function calling round trip: an ``assistant`` turn carries the model's
    ``tool_calls`` (content may be empty), and each result goes back as a
    ``tool`` turn with the call's ``tool_call_id`` (OpenAI-style servers match
    on it) and the tool's ``name`` (Ollama matches on that).
    """

    model_config = _FROZEN

    role: Role
    content: StrictStr
    name: StrictStr | None = None
    images: tuple[StrictStr, ...] = ()
    tool_call_id: StrictStr | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _calls_need_no_content(cls, data: object) -> object:
        """An assistant turn made only of tool calls has no text; any other turn must say one."""
        if isinstance(data, Mapping) and "content" not in data and data.get("tool_calls"):
            return {**data, "content": ""}
        return data

    @model_validator(mode="after")
    def _calls_come_from_the_assistant(self) -> Message:
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant turns carry tool_calls, not {self.role!r} ones")
        return self


MessageInput = Message | Mapping[str, Any]

JsonSchema = dict[str, Any]
_Model = TypeVar("_Model", bound=BaseModel)
_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")


class ChatOptions(BaseModel):
    """Options every chat provider understands; the rest goes in ``extra``.

    ``extra`` is passed to the provider untouched (Ollama puts it in
    ``options``, OpenAI-style servers in the request body), so provider
    features stay reachable without the core having to know them.
    ``tools`` offers functions to call; a provider without the ``tools``
    capability is skipped (``Unsupported``) rather than silently ignoring them.
    """

    model_config = _FROZEN

    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    seed: int | None = None
    stop: tuple[StrictStr, ...] = ()
    response_format: Literal["json"] | JsonSchema | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | StrictStr | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tool_choice_names_an_offered_tool(self) -> ChatOptions:
        names = [tool.name for tool in self.tools]
        if len(set(names)) != len(names):
            raise ValueError("tools: two tools share a name")
        choice = self.tool_choice
        if choice is not None and not names:
            raise ValueError("tool_choice without tools")
        if choice not in (None, "auto", "none", "required") and choice not in names:
            raise ValueError(f"tool_choice {choice!r} is not among the tools offered")
        return self

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_is_a_list(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    def sampling(self) -> dict[str, Any]:
        """The typed sampling options that were set, under their OpenAI names.

        Every plugin maps these the same way (only some rename a key, as
        Ollama's ``num_predict``), so the "was it set?" logic lives here once.
        """
        chosen = {name: getattr(self, name) for name in _SAMPLING}
        chosen = {name: value for name, value in chosen.items() if value is not None}
        if self.stop:
            chosen["stop"] = list(self.stop)
        return chosen

    @field_validator("temperature", "top_p")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class ChatRequest(BaseModel):
    """A chat call as a provider receives it: ``model`` is already the provider's own id."""

    model_config = _FROZEN

    model: Annotated[StrictStr, Field(min_length=1)]
    messages: Annotated[tuple[Message, ...], Field(min_length=1)]
    options: ChatOptions = ChatOptions()

    @property
    def features(self) -> frozenset[Capability]:
        """Capabilities this chat needs besides chatting; one place decides them.

        The chain skips a provider lacking one without calling it, and a
        provider called directly refuses, so offered tools are never dropped.
        """
        return frozenset({Capability.TOOLS}) if self.options.tools else frozenset()


class EmbedRequest(BaseModel):
    """An embedding call. Empty strings are allowed: they are valid text and embed fine."""

    model_config = _FROZEN

    model: Annotated[StrictStr, Field(min_length=1)]
    inputs: Annotated[tuple[StrictStr, ...], Field(min_length=1)]
    dimensions: Annotated[int, Field(ge=1)] | None = None
    truncate: bool = True
    extra: dict[str, Any] = Field(default_factory=dict)


def validate_request(kind: type[_Model], **fields: object) -> _Model:
    """Build a request model, turning pydantic's error into ``InvalidRequest``.

    The message lists every problem on one line each, so a caller sees all
    of them at once instead of fixing one per round trip.
    """
    try:
        return kind.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'request'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise InvalidRequest(
            f"invalid {kind.__name__}: {problems}",
            hint="fix the request; it was not sent to any provider",
        ) from None


def as_messages(messages: Sequence[MessageInput] | str) -> object:
    """Accept the shapes people write (a bare string is one user turn).

    Anything else goes to validation untouched, so a wrong type becomes
    ``InvalidRequest`` there rather than a ``TypeError`` here.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return messages
