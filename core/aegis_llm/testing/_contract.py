"""The contract every provider plugin passes: a base class its test module subclasses.

A plugin declares what it is (entry-point name, capabilities, transport, the
models its test server has) and how to reach a server; the tests below do the
rest. Tests for a capability the plugin does not declare are skipped with that
reason; HTTP fault tests need ``transport = "http"`` and ``start_server()``.
Every test is registered with a one-line troubleshooting text that pytest shows
under its failure.
"""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from collections.abc import AsyncGenerator, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, ClassVar, Final

import anyio
import pytest
from hypothesis import given

from aegis_llm import (
    ENTRY_POINT_GROUP,
    AegisSettings,
    AsyncClient,
    Capability,
    ChatChunk,
    ChatOptions,
    ChatRequest,
    EmbedRequest,
    HealthReport,
    Message,
    PluginHost,
    Provider,
)
from aegis_llm.errors import (
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from aegis_llm.testing import strategies
from aegis_llm.testing._checks import (
    ContractViolation,
    Expected,
    check_chat_response,
    check_embeddings,
    check_failure,
    check_health,
    check_models,
    check_stream,
    require,
)
from aegis_llm.testing._contract_models import ModelManagementContract
from aegis_llm.testing._contract_tools import ToolsContract
from aegis_llm.testing._guard import not_applicable
from aegis_llm.testing._harness import LIMITS, SHORT_TIMEOUT, ContractHarness, Profile
from aegis_llm.testing._operations import Operation, Outcome
from aegis_llm.testing._profile import contract_settings
from aegis_llm.testing._registry import CONTRACT_TESTS, Transport, contract_test
from aegis_llm.testing._secrets import search_for_leaks, secret_fields, texts_of_error
from aegis_llm.testing.fakes import FakeServer, Fault, refused_url

__all__ = ["CONTRACT_TESTS", "ProviderContract"]
"""``CONTRACT_TESTS`` is re-exported here because it is complete once this module ran."""

_SETTINGS: Final = contract_settings()
_STALL: Final = 30.0
"""How long a stalled server stays silent: far beyond every timeout under test."""
_GRACE: Final = 2.0
"""Slack on top of a timeout before the suite calls a call hung (a loaded CI machine)."""
_TAIL: Final = 16
"""Bytes held back at the end of a stream so it is still open when the test acts."""

_STATUS_ERRORS: Final[dict[int, Expected]] = {
    400: Expected((InvalidRequest,), retryable=False),
    401: Expected((AuthenticationError,), retryable=False),
    403: Expected((AuthenticationError,), retryable=False),
    500: Expected((ProviderError,), retryable=True),
    502: Expected((ProviderError,), retryable=True),
    503: Expected((RateLimited, ProviderError), retryable=True),
}


class ProviderContract(ModelManagementContract, ToolsContract):
    """Subclass as ``class TestMyPluginContract(ProviderContract)`` and declare the plugin.

    Required: ``plugin_name`` and ``capabilities`` (which must equal what the
    plugin declares), plus ``chat_model`` / ``embed_model`` for those
    capabilities. HTTP plugins implement ``start_server()``; in-process ones set
    ``transport = "in_process"`` and implement ``unavailable_settings()``.
    ``contract_skips`` and ``contract_overrides`` map test names to the reason a
    test is skipped or replaced; any other skip or override fails the run.
    """

    __aegis_llm_contract__: ClassVar[bool] = True

    plugin_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    transport: ClassVar[Transport] = "http"
    chat_model: ClassVar[str | None] = None
    embed_model: ClassVar[str | None] = None
    tools_model: ClassVar[str | None] = None
    """A model that can call tools, for the tools tests (default: ``chat_model``)."""
    missing_model: ClassVar[str] = "aegis-contract/no-such-model"
    """A well-formed model name the server under test does not have."""
    contract_skips: ClassVar[Mapping[str, str]] = {}
    contract_overrides: ClassVar[Mapping[str, str]] = {}
    heavy_modules: ClassVar[tuple[str, ...]] = (
        "torch",
        "sentence_transformers",
        "transformers",
        "numpy",
        "llama_cpp",
    )
    """Modules that loading the entry point must not import (discovery stays cheap)."""

    # What a plugin's test class provides.

    @classmethod
    def load_plugin(cls) -> object:
        """The object holding the hooks; by default what the entry point names."""
        found = entry_points(group=ENTRY_POINT_GROUP, name=cls.plugin_name)
        if not found:
            raise ContractViolation(
                f"no entry point {cls.plugin_name!r} in group {ENTRY_POINT_GROUP!r}; "
                "install the plugin's distribution (pip install -e .)"
            )
        return next(iter(found)).load()

    @classmethod
    def start_server(cls) -> FakeServer:
        """A started fake server speaking the plugin's protocol (HTTP plugins only)."""
        raise ContractViolation(
            f"{cls.__name__} has transport='http' but does not implement start_server()"
        )

    @classmethod
    def provider_settings(cls, base_url: str | None) -> dict[str, Any]:
        """Settings pointing the plugin at ``base_url`` (None for in-process providers)."""
        return {} if base_url is None else {"base_url": base_url}

    @classmethod
    def unavailable_settings(cls) -> dict[str, Any] | None:
        """Settings under which the provider cannot serve (a server that is not there)."""
        return cls.provider_settings(refused_url()) if cls.transport == "http" else None

    @classmethod
    def invalid_requests(cls) -> Sequence[ChatRequest | EmbedRequest]:
        """Requests the core accepts but this provider must reject before any I/O."""
        return ()

    # Declaration and discovery.

    @contract_test(
        "Declare [project.entry-points.aegis_llm] <name> = '<module>' in pyproject.toml, "
        "with <name> equal to ProviderInfo.name, and reinstall the distribution."
    )
    def test_entry_point_loads(self) -> None:
        found = entry_points(group=ENTRY_POINT_GROUP, name=self.plugin_name)
        require(found, f"no entry point {self.plugin_name!r} in group {ENTRY_POINT_GROUP!r}")
        host = PluginHost(AegisSettings.load(disable=[]), discover=False)
        host.load_entry_points(found)
        status = host.status(self.plugin_name)
        require(
            status is not None and status.status == "loaded" and status.kind == "provider",
            f"the entry point did not load as a provider plugin: {status}",
        )

    @contract_test(
        "Move imports of heavy libraries (torch, numpy, ...) from module level into the "
        "function that first needs them."
    )
    def test_discovery_is_cheap(self) -> None:
        probe = (
            "import sys\n"
            "from importlib.metadata import entry_points\n"
            "(point,) = entry_points(group=sys.argv[1], name=sys.argv[2])\n"
            "point.load()\n"
            "print(' '.join(sorted(set(sys.argv[3:]) & set(sys.modules))))\n"
        )
        result = subprocess.run(  # noqa: S603 - this interpreter, fixed code
            [sys.executable, "-c", probe, ENTRY_POINT_GROUP, self.plugin_name, *self.heavy_modules],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        require(result.returncode == 0, f"loading the entry point failed:\n{result.stderr}")
        heavy = result.stdout.split()
        require(not heavy, f"loading the entry point imported {heavy}")

    @contract_test(
        "Make the test class's capabilities equal the ProviderInfo.capabilities the plugin "
        "returns (the switches decide which tests run)."
    )
    def test_declared_capabilities(self, aegis_contract: ContractHarness) -> None:
        declared = frozenset(self.capabilities)
        actual = aegis_contract.info.capabilities
        require(
            declared == actual,
            f"the test class declares {sorted(declared)}, the plugin {sorted(actual)}",
        )

    # Well-formed answers to valid requests.

    @contract_test(
        "Return ChatResponse(provider=ctx.name, model=<the id that answered>, ...) with "
        "non-negative usage, for any Unicode and any valid options.",
        requires=Capability.CHAT,
    )
    @given(conversation=strategies.messages(), options=strategies.chat_options())
    @_SETTINGS
    def test_chat_well_formed(
        self,
        aegis_contract: ContractHarness,
        conversation: tuple[Message, ...],
        options: ChatOptions,
    ) -> None:
        harness = aegis_contract
        request = ChatRequest(
            model=harness.model("chat_model"), messages=conversation, options=options
        )
        check_chat_response(harness.call(harness.provider().chat, request), harness.instance)

    @contract_test(
        "Yield ChatChunk(provider=ctx.name, ...) as text arrives and end with exactly one "
        "chunk with done=True, last.",
        requires=Capability.STREAM,
    )
    @given(conversation=strategies.messages(), options=strategies.chat_options())
    @_SETTINGS
    def test_stream_well_formed(
        self,
        aegis_contract: ContractHarness,
        conversation: tuple[Message, ...],
        options: ChatOptions,
    ) -> None:
        harness = aegis_contract
        request = ChatRequest(
            model=harness.model("chat_model"), messages=conversation, options=options
        )
        chunks = harness.call(_collect, harness.provider(), request)
        check_stream(chunks, harness.instance)

    @contract_test(
        "Streamed chunks must carry every piece of the text: check that no delta (the first, "
        "the last, one split across reads) is dropped or repeated.",
        requires=frozenset({Capability.CHAT, Capability.STREAM}),
    )
    @given(conversation=strategies.messages())
    @_SETTINGS
    def test_stream_joins_to_chat_text(
        self, aegis_contract: ContractHarness, conversation: tuple[Message, ...]
    ) -> None:
        harness = aegis_contract
        request = ChatRequest(
            model=harness.model("chat_model"),
            messages=conversation,
            options=ChatOptions(temperature=0.0, seed=7),
        )
        whole = harness.call(harness.provider().chat, request).content
        chunks = harness.call(_collect, harness.provider(), request)
        joined = "".join(chunk.content for chunk in chunks)
        require(joined == whole, f"the stream joins to {joined!r}, the chat answer is {whole!r}")

    @contract_test(
        "Return one finite vector per input, all of `dimensions` values, provider=ctx.name; "
        "batch inputs the way the server expects.",
        requires=Capability.EMBED,
    )
    @given(inputs=strategies.embed_inputs())
    @_SETTINGS
    def test_embed_well_formed(self, aegis_contract: ContractHarness, inputs: list[str]) -> None:
        harness = aegis_contract
        request = EmbedRequest(model=harness.model("embed_model"), inputs=tuple(inputs))
        check_embeddings(
            harness.call(harness.provider().embed, request), len(inputs), harness.instance
        )

    @contract_test(
        "Return vectors in input order: OpenAI-style servers may list them out of order, "
        "sort by `index`.",
        requires=Capability.EMBED,
    )
    @given(inputs=strategies.embed_inputs(min_size=2, unique=True))
    @_SETTINGS
    def test_embed_keeps_input_order(
        self, aegis_contract: ContractHarness, inputs: list[str]
    ) -> None:
        harness = aegis_contract
        model = harness.model("embed_model")
        embed = harness.provider().embed
        batch = harness.call(embed, EmbedRequest(model=model, inputs=tuple(inputs)))
        require(len(batch.vectors) == len(inputs), "the batch has the wrong number of vectors")
        for index, text in enumerate(inputs):
            alone = harness.call(embed, EmbedRequest(model=model, inputs=(text,)))
            require(
                alone.dimensions == batch.dimensions,
                f"one input gives {alone.dimensions} dimensions, a batch {batch.dimensions}",
            )
            require(
                _close(batch.vectors[index], alone.vectors[0]),
                f"vector {index} of the batch is not the vector of input {index} ({text!r})",
            )

    @contract_test(
        "Return ModelInfo(id=..., provider=ctx.name) once per model; merge duplicates the "
        "server lists under several endpoints.",
        requires=Capability.LIST_MODELS,
    )
    def test_list_models_well_formed(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        check_models(harness.call(harness.provider().list_models), harness.instance)

    @contract_test(
        "Return HealthReport(provider=ctx.name, status='up') when the server answers.",
        requires=Capability.HEALTH,
    )
    def test_health_up(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        report = _health(harness, "normal")
        check_health(report, harness.instance)
        require(report.status == "up", f"the server is up, but health says {report}")

    @contract_test(
        "Catch the connection error inside the health hook and return "
        "HealthReport(status='down', reason='unreachable', message=<what to do>).",
        requires=Capability.HEALTH,
    )
    def test_health_down_never_raises(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        report = _health(harness, "unreachable")
        check_health(report, harness.instance)
        require(report.status == "down", f"the server is unreachable, but health says {report}")

    @contract_test(
        "Bound every request of the health hook by ctx.core.health_timeout "
        "(HttpApi.request_json(..., timeout=...)), not by the long first-byte timeout.",
        requires=Capability.HEALTH,
        transport="http",
    )
    def test_health_bounded_by_health_timeout(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        with harness.fault(Fault.stall_before_headers(_STALL)):
            report = _health(harness, "quick_health")
        check_health(report, harness.instance)
        require(report.status != "up", f"the server never answered, but health says {report}")

    @contract_test(
        "Turn every error of the health probe into a report (status 'down' or 'degraded', "
        "with a reason) instead of raising.",
        requires=Capability.HEALTH,
        transport="http",
    )
    @pytest.mark.parametrize(
        "fault",
        [Fault.error(500, "contract health failure"), Fault.refuse()],
        ids=["500", "hangup"],
    )
    def test_health_reports_server_errors(
        self, aegis_contract: ContractHarness, fault: Fault
    ) -> None:
        harness = aegis_contract
        with harness.fault(fault):
            report = _health(harness, "normal")
        check_health(report, harness.instance)
        require(report.status != "up", f"the server fails, but health says {report}")

    # Invalid requests never reach the server.

    @contract_test(
        "Options are validated by the core; if this fails, the plugin sends requests "
        "outside its hooks (at import or from a background task).",
        requires=Capability.CHAT,
    )
    @given(options=strategies.invalid_chat_options())
    @_SETTINGS
    def test_invalid_chat_options_rejected_before_io(
        self, aegis_contract: ContractHarness, options: dict[str, Any]
    ) -> None:
        harness = aegis_contract
        seen = harness.requests_seen()
        streaming = Capability.STREAM in self.capabilities
        error = harness.call(
            _chat_via_client,
            harness.client(),
            harness.instance,
            harness.model("chat_model"),
            options,
            streaming,
        )
        require(
            isinstance(error, InvalidRequest),
            f"options {options} gave {error!r}, not InvalidRequest",
        )
        require(harness.requests_seen() == seen, "an invalid request reached the server")

    @contract_test(
        "Embedding arguments are validated by the core; if this fails, the plugin sends "
        "requests outside its hooks.",
        requires=Capability.EMBED,
    )
    @given(arguments=strategies.invalid_embed_arguments())
    @_SETTINGS
    def test_invalid_embed_arguments_rejected_before_io(
        self, aegis_contract: ContractHarness, arguments: dict[str, Any]
    ) -> None:
        harness = aegis_contract
        seen = harness.requests_seen()
        error = harness.call(
            _embed_via_client,
            harness.client(),
            harness.instance,
            harness.model("embed_model"),
            arguments,
        )
        require(
            isinstance(error, InvalidRequest),
            f"arguments {arguments} gave {error!r}, not InvalidRequest",
        )
        require(harness.requests_seen() == seen, "an invalid request reached the server")

    @contract_test(
        "Check what only this provider rejects (unknown extra options, unsupported "
        "dimensions, ...) before sending, and raise InvalidRequest with a hint."
    )
    def test_plugin_invalid_requests_rejected_before_io(
        self, aegis_contract: ContractHarness
    ) -> None:
        harness = aegis_contract
        requests = self.invalid_requests()
        require(
            requests,
            "invalid_requests() lists nothing: return requests this provider rejects, or "
            "list this test in contract_skips with the reason nothing is provider-specific",
        )
        for request in requests:
            for operation in _operations_for(request, self.capabilities):
                seen = harness.requests_seen()
                chat = request if isinstance(request, ChatRequest) else None
                embed = request if isinstance(request, EmbedRequest) else None
                outcome = harness.perform(operation, chat=chat, embed=embed)
                require(
                    isinstance(outcome.error, InvalidRequest),
                    f"{request!r}: {outcome.describe()}, not InvalidRequest",
                )
                require(
                    harness.requests_seen() == seen,
                    f"{request!r} reached the server before it was rejected",
                )

    @contract_test(
        "Map the server's 'model not found' answer to ModelNotFound (Ollama: 404 text; "
        "OpenAI-style: code model_not_found) with a hint such as how to pull or load it."
    )
    def test_unknown_model_raises_model_not_found(
        self, aegis_contract: ContractHarness, aegis_model_operation: Operation
    ) -> None:
        harness = aegis_contract
        missing = self.missing_model
        outcome = harness.perform(
            aegis_model_operation,
            chat=harness.chat_request(missing),
            embed=harness.embed_request(missing),
        )
        check_failure(
            outcome,
            Expected((ModelNotFound,), retryable=False),
            harness.instance,
            f"the model {missing!r} does not exist",
        )

    # The fault harness: every failure maps to its error class.

    @contract_test(
        "Let aegis_llm.http.HttpApi map connection errors, or raise "
        "ProviderUnavailable(refused=True) with a hint on how to start the server.",
        transport="http",
    )
    def test_refused_connection(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        outcome = harness.perform(aegis_operation, "unreachable")
        check_failure(
            outcome,
            Expected((ProviderUnavailable,), retryable=False),
            harness.instance,
            "nothing listens on the port",
        )
        hint = getattr(outcome.error, "hint", None)
        require(hint, "ProviderUnavailable must carry a hint saying how to start the server")

    @contract_test(
        "A connection dropped before any answer is ProviderUnavailable(refused=False): do "
        "not catch httpx errors yourself, or map them like HttpApi does.",
        transport="http",
    )
    @pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
    def test_hangup_before_answer(
        self, aegis_contract: ContractHarness, aegis_operation: Operation, reset: bool
    ) -> None:
        harness = aegis_contract
        with harness.fault(Fault.refuse(reset=reset)):
            outcome = harness.perform(aegis_operation)
        check_failure(
            outcome,
            Expected((ProviderUnavailable,), retryable=True),
            harness.instance,
            "the server hung up without answering",
        )

    @contract_test(
        "Build HttpApi with HttpLimits.from_context(ctx) so first_byte_timeout applies, "
        "and never wait without a timeout.",
        transport="http",
    )
    def test_stall_before_first_byte(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        with harness.fault(Fault.stall_before_headers(_STALL)):
            outcome = harness.perform(aegis_operation, "impatient")
        check_failure(
            outcome,
            Expected((ProviderTimeout,), retryable=True),
            harness.instance,
            "the server sent nothing within first_byte_timeout",
        )

    @contract_test(
        "A read that stalls after the headers is a ProviderTimeout (retryable), not a "
        "ProtocolError; use HttpApi's timeouts (idle_timeout for streams).",
        transport="http",
    )
    def test_stall_mid_body(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        with harness.fault(Fault.stall_mid_body(_STALL, after_bytes=0)):
            outcome = harness.perform(aegis_operation, "impatient")
        check_failure(
            outcome,
            Expected((ProviderTimeout,), retryable=True),
            harness.instance,
            "the server stalled after its headers",
        )

    @contract_test(
        "Map HTTP errors with aegis_llm.http.classify_status (your classify= hook only for "
        "your server's special cases) and keep the server's message in the error.",
        transport="http",
    )
    @pytest.mark.parametrize("status", sorted(_STATUS_ERRORS))
    def test_status_errors(
        self, aegis_contract: ContractHarness, aegis_operation: Operation, status: int
    ) -> None:
        harness = aegis_contract
        message = f"contract says {status}"
        with harness.fault(Fault.error(status, message)):
            outcome = harness.perform(aegis_operation)
        expected = _STATUS_ERRORS[status]
        check_failure(
            outcome,
            Expected(expected.kinds, expected.retryable, says=message),
            harness.instance,
            f"the server answered {status} {message!r}",
        )

    @contract_test(
        "Raise RateLimited(retry_after=parse_retry_after(headers)) for 429 so the retry "
        "layer waits as long as the server asks.",
        transport="http",
    )
    def test_rate_limited_retry_after(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        with harness.fault(Fault.rate_limited(retry_after=7)):
            outcome = harness.perform(aegis_operation)
        check_failure(
            outcome,
            Expected((RateLimited,), retryable=True),
            harness.instance,
            "the server answered 429 with Retry-After: 7",
        )
        retry_after = getattr(outcome.error, "retry_after", None)
        require(retry_after == 7.0, f"RateLimited.retry_after is {retry_after}, not 7.0")

    @contract_test(
        "Decode with HttpApi.request_json / aegis_llm.http.parse_json so bad JSON is a "
        "ProtocolError (never ValueError, KeyError, or StreamInterrupted before any text).",
        transport="http",
    )
    def test_malformed_json(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        with harness.fault(Fault.malformed_json()):
            outcome = harness.perform(aegis_operation)
        check_failure(
            outcome, Expected((ProtocolError,)), harness.instance, "the body is not valid JSON"
        )

    @contract_test(
        "A body cut short is a ProtocolError (a stream that delivered text: StreamInterrupted "
        "with that text); check the stream's terminator (done / [DONE]) arrived.",
        transport="http",
    )
    def test_truncated_answer(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        _, sizes = harness.body_sizes(aegis_operation)
        with harness.fault(Fault.drop_after(min(sizes, default=0) // 2)):
            outcome = harness.perform(aegis_operation)
        check_failure(
            outcome, Expected((ProtocolError,)), harness.instance, "the body was cut in half"
        )

    @contract_test(
        "Read bodies through HttpApi (bounded by max_response_bytes / max_line_bytes); "
        "never call response.read() or .json() on an unbounded body.",
        transport="http",
    )
    def test_oversized_answer(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        size = 2 * int(LIMITS["max_response_bytes"])
        with harness.fault(Fault.oversized(size, chunked=True)):
            outcome = harness.perform(aegis_operation)
        check_failure(
            outcome,
            Expected((ProtocolError,)),
            harness.instance,
            f"the answer is {size} bytes, twice max_response_bytes",
        )

    @contract_test(
        "Never assume one read is one record: feed bytes to NDJSONDecoder / SSEDecoder and "
        "decode UTF-8 only after splitting lines.",
        transport="http",
    )
    def test_slow_trickle(
        self, aegis_contract: ContractHarness, aegis_operation: Operation
    ) -> None:
        harness = aegis_contract
        baseline, sizes = harness.body_sizes(aegis_operation)
        step = max(3, max(sizes, default=0) // 150) | 1
        with harness.fault(Fault.trickle(step, 0.0005)):
            trickled = harness.perform(aegis_operation)
        require(trickled.error is None, f"{step} bytes at a time: {trickled.describe()}")
        require(
            trickled.answer == baseline.answer,
            f"{step} bytes at a time, the answer is {trickled.answer!r}, "
            f"at full speed {baseline.answer!r}",
        )

    @contract_test(
        "Recognise the error record your server sends inside a stream, and raise "
        "StreamInterrupted(partial=...) carrying the server's message.",
        requires=Capability.STREAM,
        transport="http",
    )
    def test_error_mid_stream(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        message = "contract failure in mid-stream"
        with harness.fault(Fault.error_mid_stream(after_chunks=2, message=message)):
            outcome = harness.perform(Operation.STREAM)
        check_failure(
            outcome,
            Expected((ProviderError, ProtocolError), says=message),
            harness.instance,
            f"the server reported {message!r} inside the stream",
        )

    @contract_test(
        "When a stream stalls after text was delivered, raise StreamInterrupted with exactly "
        "the text yielded so far.",
        requires=Capability.STREAM,
        transport="http",
    )
    def test_stream_stall_after_text(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        with harness.fault(_hold_back_the_end(harness)):
            outcome = harness.perform(Operation.STREAM, "impatient")
        check_failure(
            outcome,
            Expected((ProviderTimeout,)),
            harness.instance,
            "the server stalled before the end of the stream",
        )

    @contract_test(
        "Close the HTTP response when the stream is closed early: wrap the inner iterator in "
        "contextlib.aclosing(...) or try/finally; do not rely on garbage collection.",
        requires=Capability.STREAM,
        transport="http",
    )
    def test_stream_aclose_releases_connection(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        with harness.fault(_hold_back_the_end(harness)):
            harness.call(
                _close_early, harness.provider(), harness.chat_request(), harness.fake, False
            )

    @contract_test(
        "Let cancellation propagate through the stream (never catch BaseException or "
        "anyio's cancellation); the HTTP response must close on the way out.",
        requires=Capability.STREAM,
        transport="http",
    )
    def test_stream_cancel_releases_connection(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        with harness.fault(_hold_back_the_end(harness)):
            harness.call(
                _close_early, harness.provider(), harness.chat_request(), harness.fake, True
            )

    # Secrets.

    @contract_test(
        "Keep secrets in SecretStr settings, call get_secret_value() only to build request "
        "headers, and never put settings values in messages, hints, logs or results."
    )
    def test_no_secret_in_reprs_logs_or_errors(
        self,
        aegis_contract: ContractHarness,
        request: pytest.FixtureRequest,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        harness = aegis_contract
        fields = secret_fields(harness.info.settings_class)
        if not fields:
            not_applicable(request, "the plugin's settings have no SecretStr field")
        provider = harness.provider()
        for field in fields:
            value = getattr(provider.ctx.settings, field)
            require(
                value is not None and value.get_secret_value() == harness.canary,
                f"the suite could not set the secret setting {field!r}",
            )
        with caplog.at_level(logging.DEBUG):
            places = _exercise_for_leaks(harness, self.capabilities)
        captured = capsys.readouterr()
        places += [
            ("repr(settings)", repr(provider.ctx.settings)),
            ("str(settings)", str(provider.ctx.settings)),
            ("settings.model_dump_json()", provider.ctx.settings.model_dump_json()),
            ("repr(ctx)", repr(provider.ctx)),
            ("repr(provider)", repr(provider)),
            ("log records", caplog.text),
            ("stdout", captured.out),
            ("stderr", captured.err),
        ]
        search_for_leaks(harness.canary, places)


# Helpers run on the portal's event loop.


async def _collect(provider: Provider, request: ChatRequest) -> list[ChatChunk]:
    return [chunk async for chunk in provider.stream_chat(request)]


async def _chat_via_client(
    client: AsyncClient, instance: str, model: str, options: dict[str, Any], streaming: bool
) -> Exception | None:
    """The error the client raises for these option keywords (None: it accepted them)."""
    try:
        await client.chat("hello", model=model, chain=[instance], **options)
        if streaming:
            await client.stream_chat("hello", model=model, chain=[instance], **options).collect()
    except Exception as exc:  # noqa: BLE001 - the check reports any class
        return exc
    return None


async def _embed_via_client(
    client: AsyncClient, instance: str, model: str, arguments: dict[str, Any]
) -> Exception | None:
    try:
        await client.embed(model=model, chain=[instance], **arguments)
    except Exception as exc:  # noqa: BLE001 - the check reports any class
        return exc
    return None


def _health(harness: ContractHarness, profile: Profile) -> HealthReport:
    """Health under ``profile``, which must return within its timeout and never raise."""
    provider = harness.provider(profile)
    limit = provider.ctx.core.health_timeout + _GRACE

    async def bounded() -> HealthReport:
        with anyio.move_on_after(limit):
            try:
                return await provider.health()
            except Exception as exc:
                raise ContractViolation(
                    f"health raised {type(exc).__name__}: {exc}; it must return a report"
                ) from exc
        raise ContractViolation(
            f"health did not return within health_timeout={provider.ctx.core.health_timeout}s "
            f"(+{_GRACE:g}s grace)"
        )

    return harness.call(bounded)


async def _close_early(
    provider: Provider, request: ChatRequest, server: FakeServer, cancel: bool
) -> None:
    """Read one chunk, then stop by ``aclose()`` or by cancellation; the server must see it.

    The wait for the server is a *blocking* call on purpose: it keeps this event loop
    from running anything else, so only a connection closed by the time ``aclose()``
    (or the cancellation) returned counts, not one a garbage collector closes later.
    """
    stats = server.stats
    before = stats.client_disconnects
    stream = provider.stream_chat(request)
    if not isinstance(stream, AsyncGenerator):
        raise TypeError("Provider.stream_chat must return an async generator")
    try:
        with anyio.move_on_after(_GRACE) as waited:
            await stream.__anext__()
        if waited.cancelled_caught:
            raise ContractViolation(
                "no chunk arrived while the server was streaming; does the plugin buffer "
                "the whole stream before yielding?"
            )
        if cancel:
            with anyio.move_on_after(SHORT_TIMEOUT):
                async for _ in stream:
                    pass
        else:
            await stream.aclose()
        how = "cancelling the read" if cancel else "aclose()"
        try:
            stats.wait_until(lambda s: s.client_disconnects > before, timeout=_GRACE)
        except TimeoutError:
            raise ContractViolation(
                f"after {how} the HTTP connection stayed open (the server still sends)"
            ) from None
    finally:
        await stream.aclose()


def _hold_back_the_end(harness: ContractHarness) -> Fault:
    """A stall just before a stream's last bytes: text flows, the stream stays open."""
    _, sizes = harness.body_sizes(Operation.STREAM)
    return Fault.stall_mid_body(_STALL, after_bytes=max(sizes[-1] - _TAIL, 0))


def _operations_for(
    request: ChatRequest | EmbedRequest, capabilities: frozenset[Capability]
) -> list[Operation]:
    kinds = (
        (Operation.CHAT, Operation.STREAM)
        if isinstance(request, ChatRequest)
        else (Operation.EMBED,)
    )
    return [operation for operation in kinds if operation.capability in capabilities]


def _exercise_for_leaks(
    harness: ContractHarness, capabilities: frozenset[Capability]
) -> list[tuple[str, str]]:
    """Run successes and failures, returning every text they showed."""
    outcomes: list[tuple[str, Outcome]] = []
    operations = [op for op in Operation if op.capability in capabilities]
    for operation in operations:
        outcomes.append(("success", harness.perform(operation)))
        if harness.can_be_unreachable:
            outcomes.append(("unreachable", harness.perform(operation, "unreachable")))
        if harness.server is not None:
            for status in (401, 500):
                with harness.fault(Fault.error(status)):
                    outcomes.append((f"HTTP {status}", harness.perform(operation)))
    places: list[tuple[str, str]] = []
    for label, outcome in outcomes:
        where = f"{outcome.operation.value} ({label})"
        places.append((f"{where} result", repr(outcome.answer)))
        places += [(f"{where} chunks", repr(chunk)) for chunk in outcome.chunks]
        if outcome.error is not None:
            places += [(f"{where}: {kind}", text) for kind, text in texts_of_error(outcome.error)]
    if Capability.HEALTH in capabilities:
        profiles: tuple[Profile, ...] = ("normal", "unreachable")
        for profile in profiles if harness.can_be_unreachable else profiles[:1]:
            report = _health(harness, profile)
            places.append((f"health ({profile})", report.model_dump_json()))
    return places


def _close(left: Sequence[float], right: Sequence[float]) -> bool:
    """Equal up to float32 noise (batched inference may differ in the last bits)."""
    return len(left) == len(right) and all(
        math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4) for a, b in zip(left, right, strict=True)
    )
