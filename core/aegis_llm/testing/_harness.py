"""Everything one contract run needs for one plugin on one async backend.

Contract tests are plain synchronous tests (so Hypothesis drives them natively and
a plugin's test module needs no async test plugin); they hand coroutines to a
blocking portal, an event loop on its own thread that lives as long as the test
class. Clients are built on first use per *profile* (normal limits, impatient
timeouts, an unreachable server) because a connection pool belongs to one loop
and an in-process model should load once, not once per example.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    ChatRequest,
    EmbedRequest,
    Message,
    PluginHost,
    Provider,
    ProviderInfo,
)
from aegis_llm.testing._checks import ContractViolation
from aegis_llm.testing._operations import Operation, Outcome, perform
from aegis_llm.testing._secrets import make_canary, secret_fields
from aegis_llm.testing.fakes import FakeServer, Fault

if TYPE_CHECKING:
    from aegis_llm.testing._contract import ProviderContract

__all__ = ["LIMITS", "ContractHarness", "Profile", "open_harness"]

_T = TypeVar("_T")

Profile = Literal["normal", "impatient", "quick_health", "unreachable"]
"""Which client: everyday limits, tiny read timeouts, a tiny health timeout, or no server."""

LIMITS: Final[dict[str, Any]] = {
    "connect_timeout": 5.0,
    "first_byte_timeout": 30.0,
    "idle_timeout": 30.0,
    "stream_timeout": 120.0,
    "health_timeout": 10.0,
    "max_response_bytes": 1024 * 1024,
    "max_line_bytes": 1024 * 1024,
}
"""Core settings of every contract client; generous, so only faults make calls fail."""

SHORT_TIMEOUT: Final = 0.1
"""The timeouts a stall fault must trip; stalls last far longer than this."""

_PROFILE_LIMITS: Final[dict[Profile, dict[str, float]]] = {
    "normal": {},
    "impatient": {"first_byte_timeout": SHORT_TIMEOUT, "idle_timeout": SHORT_TIMEOUT},
    "quick_health": {"health_timeout": SHORT_TIMEOUT},
    # Refusal is immediate; a short bound only makes a plugin that hangs on it fail fast.
    "unreachable": {"health_timeout": 2.0},
}

CALL_LIMIT: Final = 60.0
"""No single contract step may take longer: a hung plugin fails instead of hanging CI."""

CHAT_PROMPT: Final = "Name three colours, please. Ünïcödé ✓ 日本"
EMBED_TEXTS: Final = ("first text to embed", "second text, ünïcödé ✓ 日本")


class ContractHarness:
    """One plugin under test, its fake server, its clients and a portal to run them."""

    def __init__(
        self,
        contract: type[ProviderContract],
        portal: BlockingPortal,
        extra_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.contract = contract
        self.extra_settings = dict(extra_settings or {})
        self.instance = f"contract_{contract.plugin_name}"
        self.canary = make_canary()
        self.plugin = contract.load_plugin()
        self.info = _validated(self.plugin, contract.plugin_name)
        self._portal = portal
        self._clients: dict[Profile, AsyncClient] = {}
        self.server: FakeServer | None = (
            contract.start_server() if contract.transport == "http" else None
        )

    # Running coroutines.

    def call(self, function: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run ``function(*args)`` on the portal's loop, bounded by ``CALL_LIMIT``."""

        async def bounded() -> _T:
            with anyio.move_on_after(CALL_LIMIT):
                return await function(*args)
            raise ContractViolation(
                f"{getattr(function, '__qualname__', function)} did not finish within "
                f"{CALL_LIMIT:g}s; something waits forever (a missing timeout?)"
            )

        return self._portal.call(bounded)

    def perform(
        self,
        operation: Operation,
        profile: Profile = "normal",
        *,
        chat: ChatRequest | None = None,
        embed: EmbedRequest | None = None,
    ) -> Outcome:
        request: ChatRequest | EmbedRequest | None = None
        if operation in (Operation.CHAT, Operation.STREAM):
            request = chat or self.chat_request()
        elif operation is Operation.EMBED:
            request = embed or self.embed_request()
        return self.call(perform, self.provider(profile), operation, request)

    # Clients.

    def client(self, profile: Profile = "normal") -> AsyncClient:
        found = self._clients.get(profile)
        if found is None:
            found = self._clients[profile] = self._build_client(profile)
        return found

    def provider(self, profile: Profile = "normal") -> Provider:
        return self.client(profile).provider(self.instance)

    @property
    def can_be_unreachable(self) -> bool:
        return self.contract.unavailable_settings() is not None

    def settings_for(self, profile: Profile) -> dict[str, Any]:
        """The provider settings one profile uses, secrets filled with the canary.

        Precedence: the class's settings, then the ``aegis_contract_settings``
        fixture's, then (for the unreachable profile) what makes it unavailable.
        """
        contract = self.contract
        settings = {
            **contract.provider_settings(self.server.url if self.server else None),
            **self.extra_settings,
        }
        if profile == "unreachable":
            unavailable = contract.unavailable_settings()
            if unavailable is None:
                raise ContractViolation(
                    "an in-process provider must say how it is unavailable: override "
                    "unavailable_settings(), or list the test in contract_skips with a reason"
                )
            settings.update(unavailable)
        canaries = dict.fromkeys(secret_fields(self.info.settings_class), self.canary)
        return {**settings, **canaries}

    def _build_client(self, profile: Profile) -> AsyncClient:
        name = self.contract.plugin_name
        settings = AegisSettings.load(
            providers={self.instance: {"plugin": name}},
            chain=[self.instance],
            embed_chain=[self.instance],
            disable=[],
            strict_plugins=True,
            **{**LIMITS, **_PROFILE_LIMITS[profile]},
        )
        host = PluginHost(settings, discover=False)
        host.register(self.plugin, name)
        return AsyncClient(
            settings, host=host, provider_settings={self.instance: self.settings_for(profile)}
        )

    # Requests.

    def chat_request(self, model: str | None = None, *, content: str = CHAT_PROMPT) -> ChatRequest:
        return ChatRequest(
            model=model or self.model("chat_model"),
            messages=(Message(role="user", content=content),),
        )

    def embed_request(self, model: str | None = None) -> EmbedRequest:
        return EmbedRequest(model=model or self.model("embed_model"), inputs=EMBED_TEXTS)

    def model(self, attribute: Literal["chat_model", "embed_model"]) -> str:
        value: str | None = getattr(self.contract, attribute)
        if not value:
            raise ContractViolation(
                f"set {attribute} on {self.contract.__name__}: a model the server under test has"
            )
        return value

    def served_model(self) -> str:
        """A model the server under test has, for hooks that take any (pull, load, unload)."""
        value = self.contract.chat_model or self.contract.embed_model
        if not value:
            raise ContractViolation(
                f"set chat_model or embed_model on {self.contract.__name__}: a model the "
                "server under test has"
            )
        return value

    def tools_model(self) -> str:
        """The model the tools tests offer tools to: ``tools_model``, else ``chat_model``."""
        return self.contract.tools_model or self.model("chat_model")

    # The fake server.

    @property
    def fake(self) -> FakeServer:
        if self.server is None:
            raise ContractViolation("this check needs the HTTP fault harness (transport='http')")
        return self.server

    @contextlib.contextmanager
    def fault(self, fault: Fault) -> Iterator[None]:
        """Arm ``fault`` for every request while the block runs."""
        rule = self.fake.faults.add(fault)
        try:
            yield
        finally:
            self.fake.faults.remove(rule)

    def requests_seen(self) -> int:
        """Requests the server received so far (0 for in-process providers)."""
        return self.server.stats.requests_received if self.server else 0

    def body_sizes(self, operation: Operation) -> tuple[Outcome, list[int]]:
        """``operation`` against a healthy server, and the body bytes of each answer it got."""
        stats = self.fake.stats
        before = stats.requests_received
        outcome = self.perform(operation)
        if outcome.error is not None:
            raise ContractViolation(f"without any fault, {outcome.describe()}")
        count = stats.requests_received - before
        exchanges = list(stats.history)[-count:] if count else []
        return outcome, [exchange.body_bytes for exchange in exchanges]

    # Lifetime.

    def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        try:
            for client in clients:
                self._portal.call(client.aclose)
        finally:
            if self.server is not None:
                self.server.stop()


@contextlib.contextmanager
def open_harness(
    contract: type[ProviderContract], backend: str, extra_settings: Mapping[str, Any]
) -> Iterator[ContractHarness]:
    """A harness on a fresh portal of ``backend`` ("asyncio" or "trio")."""
    with contextlib.ExitStack() as stack:
        try:
            portal = stack.enter_context(start_blocking_portal(backend))
        except (ImportError, LookupError) as exc:
            raise ContractViolation(
                f"cannot start the {backend!r} async backend ({exc}); install it "
                "(pip install trio) or choose backends with --aegis-llm-backends=asyncio"
            ) from exc
        harness = ContractHarness(contract, portal, extra_settings)
        stack.callback(harness.close)
        yield harness


def _validated(plugin: object, name: str) -> ProviderInfo:
    """The plugin's self-description, once the core accepted it (strictly: errors raise)."""
    host = PluginHost(AegisSettings.load(strict_plugins=True), discover=False)
    host.register(plugin, name)
    info = host.info(name)
    if info is None:
        raise ContractViolation(
            f"{name!r} registered as an extension: a provider plugin needs the "
            "aegis_llm_provider_info hook"
        )
    return info
