"""The asynchronous client: the SDK's front door.

Everything a caller passes is validated here, before any provider is asked,
so bad input fails the same way whichever provider would have answered.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
from anyio.abc import TaskGroup

from aegis_llm._capabilities import Capability
from aegis_llm._context import ProviderContext
from aegis_llm._inventory import HealthReport, ModelInfo, PullProgress
from aegis_llm._plugins import PluginHost, PluginStatus
from aegis_llm._provider import Provider
from aegis_llm._requests import (
    ChatOptions,
    ChatRequest,
    EmbedRequest,
    MessageInput,
    as_messages,
    validate_request,
)
from aegis_llm._resilience import AliasMap, AliasTable, EmbeddingSpaceGuard
from aegis_llm._results import Attempt, ChatChunk, ChatResponse, Embeddings
from aegis_llm._router import Router, Target
from aegis_llm._settings import AegisSettings, load_provider_settings
from aegis_llm._streams import ChatStream
from aegis_llm.errors import (
    AegisLLMError,
    ConfigurationError,
    InvalidRequest,
    ProviderUnavailable,
)

__all__ = ["AsyncClient", "ModelList"]

_Request = TypeVar("_Request", ChatRequest, EmbedRequest)


class ModelList(list[ModelInfo]):
    """The models of every provider that answered; ``errors`` records the ones that did not.

    It is a plain list for the common case, but a provider that was down is
    not silently missing: its failure is kept beside the models.
    """

    def __init__(self, models: Sequence[ModelInfo] = (), errors: Sequence[Attempt] = ()) -> None:
        super().__init__(models)
        self.errors: list[Attempt] = list(errors)


class AsyncClient:
    """Chat, stream, embed, list models and check health through provider chains.

    Use it as an async context manager (or call ``aclose``) so every pooled
    connection is closed. Works under asyncio and trio (anyio).
    """

    def __init__(
        self,
        settings: AegisSettings | None = None,
        *,
        host: PluginHost | None = None,
        provider_settings: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: AliasMap | None = None,
    ) -> None:
        """``aliases`` add to (and per provider override) the ``aliases`` setting.

        Raises ``ConfigurationError`` for an embed chain that could mix
        embedding models (see ``aegis_llm._resilience._embedding_space``).
        """
        self.settings = settings if settings is not None else AegisSettings.load()
        self._aliases = AliasTable(self.settings.aliases, aliases or {})
        self._spaces = EmbeddingSpaceGuard(self._aliases)
        self._spaces.check_settings(self.settings.embed_model, self.settings.embed_chain)
        self._host = host if host is not None else PluginHost(self.settings)
        self._overrides = {k: dict(v) for k, v in (provider_settings or {}).items()}
        self._providers: dict[str, Provider] = {}
        self._router = Router(self.settings)
        self._background: TaskGroup | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, **overrides: Any) -> Self:
        """Read settings from every source; keyword arguments win over all of them."""
        return cls(AegisSettings.load(**overrides))

    async def __aenter__(self) -> Self:
        """With ``breaker.probe = "health"``, start probing cooling providers in the background."""
        if self.settings.breaker.probe == "health":
            self._background = anyio.create_task_group()
            await self._background.__aenter__()
            self._background.start_soon(self._router.watch, lambda name: self._providers.get(name))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        background, self._background = self._background, None
        try:
            if background is not None:
                background.cancel_scope.cancel()
                await background.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close every provider's connections. Safe to call twice."""
        self._closed = True
        providers, self._providers = list(self._providers.values()), {}
        with anyio.CancelScope(shield=True):
            for provider in providers:
                await provider.ctx.aclose()

    @property
    def plugins(self) -> list[PluginStatus]:
        """Every plugin found, loaded or not, with the reason when not."""
        return self._host.statuses()

    @property
    def provider_names(self) -> list[str]:
        return sorted(self._host.instances())

    @property
    def aliases(self) -> dict[str, dict[str, str]]:
        """Every model alias in effect: ``{logical name: {provider: its model id}}``."""
        return self._aliases.as_dict()

    def provider(self, name: str) -> Provider:
        """The provider instance ``name``, built on first use."""
        if self._closed:
            raise RuntimeError("this client is closed; create a new one")
        found = self._providers.get(name)
        if found is not None:
            return found
        plugin = self._host.instances().get(name)
        info = self._host.info(plugin) if plugin else None
        if plugin is None or info is None:
            raise self._not_installed(name, plugin)
        settings = load_provider_settings(
            info.settings_class, name, self.settings.provider_table(name), self._overrides.get(name)
        )
        ctx = ProviderContext(name=name, plugin=plugin, settings=settings, core=self.settings)
        found = self._providers[name] = Provider(self._host, info, ctx)
        return found

    async def chat(
        self,
        messages: Sequence[MessageInput] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        options: ChatOptions | None = None,
        timeout: float | None = None,
        **option_fields: Any,
    ) -> ChatResponse:
        """Ask the first provider of the chain that can answer; see ``reply.attempts``.

        ``timeout`` (default: the ``timeout`` setting) bounds the whole call,
        retries, failovers and waits included.
        """
        request = self._chat_request(messages, model, options, option_fields)
        targets = self._targets(self._chain(chain, self.settings.chain), request.model)

        async def call(provider: Provider, model_id: str) -> ChatResponse:
            return await provider.chat(_for_model(request, model_id))

        reply, attempts = await self._router.run(
            "chat",
            Capability.CHAT,
            targets,
            call,
            features=request.features,
            timeout=_checked_timeout(timeout),
        )
        return reply.model_copy(update={"attempts": tuple(attempts)})

    def stream_chat(
        self,
        messages: Sequence[MessageInput] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        options: ChatOptions | None = None,
        timeout: float | None = None,
        **option_fields: Any,
    ) -> ChatStream:
        """Stream an answer. Fails over only before the first chunk reaches you.

        ``timeout`` bounds the search for a provider, up to its first chunk;
        after that the ``idle_timeout`` and ``stream_timeout`` settings apply.
        """
        request = self._chat_request(messages, model, options, option_fields)
        targets = self._targets(self._chain(chain, self.settings.chain), request.model)

        def open_stream(provider: Provider, model_id: str) -> AsyncIterator[ChatChunk]:
            return provider.stream_chat(_for_model(request, model_id))

        chunks = self._router.stream(
            targets, open_stream, features=request.features, timeout=_checked_timeout(timeout)
        )
        return ChatStream(chunks)

    async def embed(
        self,
        texts: Sequence[str] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        dimensions: int | None = None,
        truncate: bool = True,
        extra: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Embeddings:
        """Embed texts with the first provider of the embed chain serving the same model.

        A chain of several providers needs ``model`` to be an alias naming
        each one's id, and vectors of another dimension than this client got
        before for the model raise ``EmbeddingSpaceMismatch``: vectors from
        two models never end up in one index.
        """
        inputs = [texts] if isinstance(texts, str) else texts
        request = validate_request(
            EmbedRequest,
            model=model or self.settings.embed_model or "",
            inputs=inputs,
            dimensions=dimensions,
            truncate=truncate,
            extra={} if extra is None else extra,
        )
        names = self._chain(chain, self.settings.embed_chain)
        self._spaces.check_call(request.model, names)
        targets = self._targets(names, request.model)

        async def call(provider: Provider, model_id: str) -> Embeddings:
            result = await provider.embed(_for_model(request, model_id))
            self._spaces.admit(request.model, request.dimensions, result)
            return result

        result, attempts = await self._router.run(
            "embed", Capability.EMBED, targets, call, timeout=_checked_timeout(timeout)
        )
        return result.model_copy(update={"attempts": tuple(attempts)})

    async def list_models(self, providers: Sequence[str] | None = None) -> ModelList:
        """Models from every provider, asked concurrently; a down one lands in ``errors``."""
        found: list[ModelInfo] = []
        errors: list[Attempt] = []

        async def ask(name: str) -> None:
            try:
                provider = self.provider(name)
                if not provider.supports(Capability.LIST_MODELS):
                    return
                with anyio.fail_after(self.settings.health_timeout * 2):
                    found.extend(await provider.list_models())
            except (AegisLLMError, TimeoutError) as exc:
                errors.append(
                    Attempt(
                        provider=name,
                        outcome="error",
                        error_type=type(exc).__name__,
                        error=str(exc) or "timed out",
                    )
                )

        async with anyio.create_task_group() as group:
            for name in providers or self.provider_names:
                group.start_soon(ask, name)
        found.sort(key=lambda m: (m.provider, m.id))
        errors.sort(key=lambda a: a.provider)
        return ModelList(found, errors)

    async def health(self, providers: Sequence[str] | None = None) -> list[HealthReport]:
        """One report per provider, asked concurrently. Never raises for a down server."""
        names = list(providers or self._configured_names())
        reports: dict[str, HealthReport] = {}

        async def ask(name: str) -> None:
            reports[name] = await self._health_of(name)

        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(ask, name)
        return [reports[name] for name in names]

    async def pull(
        self, model: str, *, provider: str = "ollama"
    ) -> AsyncGenerator[PullProgress, None]:
        """Download a model through a provider that can (Ollama), with progress."""
        if not model.strip():
            raise InvalidRequest("pull needs a model name")
        async for step in self.provider(provider).pull(model):
            yield step

    def _configured_names(self) -> list[str]:
        """Installed providers plus chain members, so a missing one is reported, not hidden."""
        chains = [*self.settings.chain, *self.settings.embed_chain]
        return sorted(set(self.provider_names).union(chains))

    async def _health_of(self, name: str) -> HealthReport:
        try:
            provider = self.provider(name)
        except (ConfigurationError, ProviderUnavailable) as exc:
            return HealthReport(
                provider=name, status="down", reason="not_installed", message=str(exc)
            )
        try:
            provider.require(Capability.HEALTH)
            with anyio.fail_after(self.settings.health_timeout):
                return await provider.health()
        except ProviderUnavailable as exc:
            return HealthReport(
                provider=name, status="down", reason="unreachable", message=str(exc)
            )
        except TimeoutError:
            return HealthReport(
                provider=name,
                status="down",
                reason="timeout",
                message=f"no health answer within {self.settings.health_timeout}s",
            )
        except AegisLLMError as exc:
            return HealthReport(provider=name, status="down", reason="error", message=str(exc))

    def _chat_request(
        self,
        messages: Sequence[MessageInput] | str,
        model: str | None,
        options: ChatOptions | None,
        option_fields: Mapping[str, Any],
    ) -> ChatRequest:
        if options is not None and option_fields:
            raise InvalidRequest("pass either options= or option keywords, not both")
        chosen = options if options is not None else validate_request(ChatOptions, **option_fields)
        return validate_request(
            ChatRequest,
            model=model or self.settings.chat_model or "",
            messages=as_messages(messages),
            options=chosen,
        )

    @staticmethod
    def _chain(chain: Sequence[str] | str | None, default: Sequence[str]) -> Sequence[str]:
        """The per-call chain (a list, or ``"a,b"`` as in the settings), else the configured one."""
        if isinstance(chain, str):
            chain = [part.strip() for part in chain.split(",") if part.strip()]
        chosen = default if chain is None else chain
        if not chosen:
            raise InvalidRequest(
                "the provider chain is empty",
                hint="pass chain=[...] or set AEGIS_LLM_CHAIN / AEGIS_LLM_EMBED_CHAIN",
            )
        return chosen

    def _targets(self, chain: Sequence[str], model: str) -> list[Target]:
        """Each member with its own id for ``model``; one not installed stays, to be reported."""
        targets = []
        for name in chain:
            provider_model = self._aliases.resolve(model, name)
            try:
                targets.append(Target(name, provider_model, self.provider(name)))
            except (ConfigurationError, ProviderUnavailable) as exc:
                targets.append(Target(name, provider_model, None, exc))
        return targets

    def _not_installed(self, name: str, plugin: str | None) -> AegisLLMError:
        status = self._host.status(plugin or name)
        known = ", ".join(self.provider_names) or "none"
        if status is not None and status.status != "loaded":
            return ProviderUnavailable(
                f"provider plugin {status.name!r} is {status.status}: {status.error}",
                provider=name,
                hint=f"pip install aegis-llm[{status.name.replace('_', '-')}], or check "
                "`aegis-llm providers`",
            )
        return ConfigurationError(
            f"no provider named {name!r} (installed: {known})",
            provider=name,
            hint=f"pip install aegis-llm[{name.replace('_', '-')}] or fix the chain setting",
        )


def _for_model(request: _Request, model_id: str) -> _Request:
    """The request with a provider's own model id (no copy when an alias does not apply)."""
    return request if request.model == model_id else request.model_copy(update={"model": model_id})


def _checked_timeout(timeout: float | None) -> float | None:
    """Check a per-call timeout before anything is sent."""
    if timeout is not None and not (0 < timeout < math.inf):
        raise InvalidRequest(
            f"timeout must be a positive number of seconds, not {timeout!r}",
            hint="pass timeout=None to use the timeout setting",
        )
    return timeout
