"""What "well formed" and "the right error" mean, as functions that explain a violation.

Checks raise ``ContractViolation`` with a sentence a plugin author can act on,
instead of relying on ``assert`` (stripped under ``python -O``, and not rewritten
by pytest inside an installed package).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from aegis_llm import (
    ChatChunk,
    ChatResponse,
    Embeddings,
    HealthReport,
    ModelInfo,
    PullProgress,
    ToolCall,
    Usage,
)
from aegis_llm.errors import AegisLLMError, StreamInterrupted
from aegis_llm.testing._operations import Operation, Outcome

__all__ = [
    "ContractViolation",
    "Expected",
    "check_chat_response",
    "check_embeddings",
    "check_failure",
    "check_health",
    "check_loaded",
    "check_models",
    "check_pull",
    "check_stream",
    "check_tool_answer",
    "check_tool_calls",
    "check_tool_stream",
    "error_chain",
    "require",
]


class ContractViolation(AssertionError):
    """A plugin broke the contract; the message says how."""


def require(condition: object, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def check_usage(usage: Usage | None, where: str) -> None:
    if usage is None:
        return
    for name, value in usage.model_dump().items():
        require(value is None or value >= 0, f"{where}: usage.{name} is negative ({value})")
        require(
            value is None or math.isfinite(value), f"{where}: usage.{name} is not finite ({value})"
        )


def _check_source(provider: str, model: str, instance: str, where: str) -> None:
    require(
        provider == instance,
        f"{where} says provider={provider!r}, but this instance is named {instance!r}; "
        "use ctx.name, never the plugin's own name",
    )
    require(model, f"{where} has an empty model id")


def check_chat_response(reply: ChatResponse, instance: str) -> None:
    _check_source(reply.provider, reply.model, instance, "the chat response")
    require(isinstance(reply.content, str), "the chat response's content is not a string")
    check_usage(reply.usage, "the chat response")


def check_stream(chunks: Sequence[ChatChunk], instance: str) -> None:
    """One or more chunks, exactly one marked done, and that one last."""
    require(chunks, "the stream ended without a single chunk; the last chunk must have done=True")
    done = [index for index, chunk in enumerate(chunks) if chunk.done]
    require(
        done == [len(chunks) - 1],
        f"done=True must be set on the last chunk only; it is set on chunks {done} "
        f"of {len(chunks)}",
    )
    for index, chunk in enumerate(chunks):
        _check_source(chunk.provider, chunk.model, instance, f"stream chunk {index}")
        check_usage(chunk.usage, f"stream chunk {index}")


def check_tool_calls(calls: Sequence[ToolCall], offered: Sequence[str], where: str) -> None:
    """Each call names an offered tool and carries its arguments as JSON text."""
    for index, call in enumerate(calls):
        require(
            isinstance(call, ToolCall), f"{where}: tool call {index} is not a ToolCall: {call!r}"
        )
        require(
            isinstance(call.name, str) and call.name,
            f"{where}: tool call {index} has no function name",
        )
        require(
            call.name in offered,
            f"{where}: tool call {index} names {call.name!r}, but the tools offered are "
            f"{sorted(offered)}",
        )
        require(
            isinstance(call.arguments_json, str),
            f"{where}: tool call {index}'s arguments_json is "
            f"{type(call.arguments_json).__name__}, not the arguments as JSON text",
        )
        require(
            call.arguments is None or isinstance(call.arguments, dict),
            f"{where}: tool call {index}'s arguments are neither an object nor None",
        )


def _check_finish(calls: Sequence[ToolCall], finish_reason: object, where: str) -> None:
    if calls:
        require(
            finish_reason == "tool_calls",
            f"{where} carries {len(calls)} tool call(s) but finish_reason={finish_reason!r}; "
            "it must be 'tool_calls'",
        )
    else:
        require(
            finish_reason != "tool_calls",
            f"{where} says finish_reason='tool_calls' but carries no tool calls",
        )


def check_tool_answer(reply: ChatResponse, offered: Sequence[str], instance: str) -> None:
    """A well-formed answer to a request offering tools: text, or calls of offered tools."""
    check_chat_response(reply, instance)
    require(
        reply.content or reply.tool_calls,
        "the answer to a request offering tools has neither text nor tool calls",
    )
    check_tool_calls(reply.tool_calls, offered, "the chat response")
    _check_finish(reply.tool_calls, reply.finish_reason, "the chat response")


def check_tool_stream(chunks: Sequence[ChatChunk], offered: Sequence[str], instance: str) -> None:
    """A well-formed stream whose tool calls, if any, come whole on the final chunk only."""
    check_stream(chunks, instance)
    early = [index for index, chunk in enumerate(chunks[:-1]) if chunk.tool_calls]
    require(
        not early,
        f"stream chunks {early} of {len(chunks)} carry tool_calls; calls belong on the final "
        "done chunk only, reassembled whole",
    )
    last = chunks[-1]
    require(
        any(chunk.content for chunk in chunks) or last.tool_calls,
        "the stream answering a request offering tools has neither text nor tool calls",
    )
    check_tool_calls(last.tool_calls, offered, "the final stream chunk")
    _check_finish(last.tool_calls, last.finish_reason, "the final stream chunk")


def check_embeddings(result: Embeddings, inputs: int, instance: str) -> None:
    _check_source(result.provider, result.model, instance, "the embeddings")
    require(
        len(result.vectors) == inputs,
        f"{inputs} inputs gave {len(result.vectors)} vectors; there must be one per input",
    )
    require(result.dimensions > 0, f"dimensions is {result.dimensions}; it must be positive")
    for index, vector in enumerate(result.vectors):
        require(
            len(vector) == result.dimensions,
            f"vector {index} has {len(vector)} values, but dimensions says {result.dimensions}",
        )
        require(
            all(math.isfinite(value) for value in vector),
            f"vector {index} contains NaN or infinity",
        )
        if result.normalized:
            norm = math.sqrt(sum(value * value for value in vector))
            require(
                math.isclose(norm, 1.0, abs_tol=1e-3),
                f"normalized=True, but vector {index} has length {norm:.6f}",
            )
    require(
        all(0 <= index < inputs for index in result.truncated),
        f"truncated lists {result.truncated}, which are not input indices",
    )
    check_usage(result.usage, "the embeddings")


def check_models(models: Sequence[ModelInfo], instance: str) -> None:
    require(models, "list_models returned no models while the server has some")
    ids = [model.id for model in models]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    require(not duplicates, f"model ids must be unique; repeated: {duplicates}")
    for model in models:
        _check_source(model.provider, model.id, instance, f"model {model.id!r}")


PULL_DONE = frozenset({"success", "completed", "already_downloaded"})
"""Final states of a download: Ollama's ``success``, LM Studio's download API's two."""


def check_pull(progress: Sequence[PullProgress], model: str) -> None:
    """Progress items whose byte counts make sense, the last one saying the model is there."""
    require(progress, f"pulling {model!r} yielded no PullProgress at all")
    for index, step in enumerate(progress):
        require(
            step.total_bytes is None
            or step.completed_bytes is None
            or step.completed_bytes <= step.total_bytes,
            f"pull step {index} says {step.completed_bytes} of {step.total_bytes} bytes",
        )
    last = progress[-1].status
    require(
        last.lower() in PULL_DONE,
        f"pulling {model!r} ended with status {last!r}; a finished pull must end with one of "
        f"{sorted(PULL_DONE)} (a failed one raises instead)",
    )


def check_loaded(info: ModelInfo, instance: str, model: str) -> None:
    """The ModelInfo of a loaded model (``Provider`` already refused any other type)."""
    _check_source(info.provider, info.id, instance, f"the ModelInfo load_model({model!r}) gave")


def check_health(report: HealthReport, instance: str) -> None:
    require(
        report.provider == instance,
        f"the health report says provider={report.provider!r}, but this instance is "
        f"named {instance!r}; use ctx.name",
    )
    require(
        report.status == "up" or report.reason is not None,
        f"a {report.status!r} report must say why (reason=...)",
    )


@dataclass(frozen=True, slots=True)
class Expected:
    """The failure a fault must produce: the classes allowed, and what it must carry."""

    kinds: tuple[type[AegisLLMError], ...]
    retryable: bool | None = None
    says: str | None = None

    @property
    def names(self) -> str:
        return " or ".join(kind.__name__ for kind in self.kinds)


def error_chain(error: BaseException) -> Iterator[BaseException]:
    """The error and its causes, as a user's traceback would show them."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def check_failure(outcome: Outcome, expected: Expected, instance: str, fault: str) -> None:
    """``outcome`` must be the failure ``expected`` describes, raised for ``fault``.

    A stream that already delivered text must raise ``StreamInterrupted`` carrying
    exactly that text, whatever the fault: retrying or failing over at that point
    would splice two answers together.
    """
    error = outcome.error
    op = outcome.operation.value
    if error is None:
        raise ContractViolation(
            f"{op} succeeded although {fault}; it must raise {expected.names} "
            "(is an error swallowed?)"
        )
    if not isinstance(error, AegisLLMError):
        raise ContractViolation(
            f"{fault}: {op} raised {type(error).__name__}: {error}; plugins must raise "
            f"aegis_llm.errors classes ({expected.names} here)"
        )
    require(
        error.provider == instance,
        f"{fault}: the {type(error).__name__} names provider={error.provider!r}, "
        f"not this instance {instance!r}",
    )
    if expected.says is not None:
        require(
            any(expected.says in str(link) for link in error_chain(error)),
            f"{fault}: the server said {expected.says!r}, but neither the "
            f"{type(error).__name__} nor its causes repeat it: {error}",
        )
    if (
        outcome.operation is Operation.STREAM
        and outcome.chunks
        and _check_interrupted(outcome, error, fault)
    ):
        return
    require(
        isinstance(error, expected.kinds),
        f"{fault}: {op} raised {type(error).__name__} ({error}); expected {expected.names}",
    )
    if expected.retryable is not None:
        require(
            error.retryable is expected.retryable,
            f"{fault}: {type(error).__name__}.retryable is {error.retryable}, but must be "
            f"{expected.retryable} so the retry layer does the right thing",
        )


def _check_interrupted(outcome: Outcome, error: AegisLLMError, fault: str) -> bool:
    """Whether a stream's failure is settled by the StreamInterrupted rule."""
    text = outcome.streamed_text
    if not text and not isinstance(error, StreamInterrupted):
        return False
    if not isinstance(error, StreamInterrupted):
        raise ContractViolation(
            f"{fault}: the stream had delivered {len(text)} characters, so it must raise "
            f"StreamInterrupted(partial=...), not {type(error).__name__}"
        )
    require(
        error.partial == text,
        f"{fault}: StreamInterrupted.partial is {error.partial!r}, but the chunks "
        f"delivered were {text!r}",
    )
    return True
