"""Settings: defaults < ``aegis-llm.toml`` (or ``[tool.aegis-llm]``) < environment < arguments.

The core's variables start with ``AEGIS_LLM_``; each provider instance reads
its own ``AEGIS_LLM_<NAME>_*`` variables and its ``[providers.<name>]`` table,
so a second OpenAI-compatible server (``vllm``) is configured exactly like a
built-in one, without code.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from aegis_llm.errors import ConfigurationError

__all__ = [
    "AegisSettings",
    "BreakerSettings",
    "HttpProviderSettings",
    "HttpTransport",
    "ProviderSettings",
    "RetrySettings",
    "config_file",
    "load_provider_settings",
]

_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


def _split_names(value: object) -> object:
    """``AEGIS_LLM_CHAIN=lmstudio,ollama`` is how people write lists in a shell."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


NameList = Annotated[list[Annotated[str, Field(pattern=_NAME_PATTERN)]], NoDecode]

HttpTransport = Literal["httpx", "aiohttp"]
"""What moves the HTTP plugins' bytes: httpx's own pool (any backend), or aiohttp (asyncio)."""


class RetrySettings(BaseModel):
    """One retry layer for the whole SDK; plugins never retry on their own.

    ``max_attempts`` counts tries on one provider, the first included; waits
    grow from ``backoff_initial`` to ``backoff_max`` (with jitter) unless the
    server said how long to wait (``Retry-After``), which is honoured up to
    ``retry_after_max``. The total deadline (``timeout``) bounds all of it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: PositiveInt = 3
    backoff_initial: PositiveFloat = 0.2
    backoff_max: PositiveFloat = 5.0
    retry_after_max: PositiveFloat = 30.0


class BreakerSettings(BaseModel):
    """When to stop calling a provider that keeps failing, and when to try it again.

    After ``failure_threshold`` failures in a row a provider is skipped for
    ``cooldown`` seconds; then one trial decides whether it is back. With
    ``probe = "request"`` the trial is the next real request; with
    ``probe = "health"`` it is the provider's health hook (in the background
    while the client is open as a context manager, else just before a request),
    so no real request is spent on a server that is still down.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_threshold: PositiveInt = 3
    cooldown: PositiveFloat = 30.0
    probe: Literal["request", "health"] = "request"


ModelAliases = dict[
    str, dict[Annotated[str, Field(pattern=_NAME_PATTERN)], Annotated[str, Field(min_length=1)]]
]
"""``{logical model name: {provider instance: that provider's model id}}``."""


class _Layered(BaseSettings):
    """Arguments over environment over the config file's table, over defaults."""

    @classmethod
    def _file_layer(cls) -> Mapping[str, Any]:
        """This class's table of the config file (none by default)."""
        return {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _MappingSource(settings_cls, cls._file_layer()))


class AegisSettings(_Layered):
    """The core's settings. Every timeout is in seconds."""

    model_config = SettingsConfigDict(
        env_prefix="AEGIS_LLM_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    chain: NameList = Field(default_factory=lambda: ["lmstudio", "ollama"])
    embed_chain: NameList = Field(default_factory=lambda: ["st_cpu"])
    disable: NameList = Field(default_factory=list)
    chat_model: str | None = None
    embed_model: str | None = "all-MiniLM-L6-v2"
    strict_plugins: bool = False

    timeout: PositiveFloat = 300.0
    connect_timeout: PositiveFloat = 3.0
    first_byte_timeout: PositiveFloat = 120.0
    idle_timeout: PositiveFloat = 60.0
    stream_timeout: PositiveFloat = 900.0
    health_timeout: PositiveFloat = 5.0
    max_response_bytes: PositiveInt = 64 * 1024 * 1024
    max_line_bytes: PositiveInt = 8 * 1024 * 1024
    max_connections: PositiveInt = 100
    http_transport: HttpTransport = "httpx"

    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    aliases: ModelAliases = Field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("chain", "embed_chain", "disable", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_names(value)

    @classmethod
    def _file_layer(cls) -> Mapping[str, Any]:
        return _file_values()

    @classmethod
    def load(cls, **overrides: Any) -> AegisSettings:
        """Load from every source, turning validation errors into ``ConfigurationError``."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigurationError(
                f"invalid aegis-llm settings: {_describe(exc)}",
                hint=f"check AEGIS_LLM_* variables and {config_file() or 'aegis-llm.toml'}",
            ) from None

    def provider_table(self, name: str) -> dict[str, Any]:
        """The ``[providers.<name>]`` table, without the ``plugin`` key."""
        table = dict(self.providers.get(name, {}))
        table.pop("plugin", None)
        return table


class ProviderSettings(_Layered):
    """Base class for a provider plugin's settings.

    Subclass it with the plugin's own fields; the core binds the environment
    prefix and the TOML table of each instance when it loads them.
    """

    model_config = SettingsConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest.strip("/"):
        raise ValueError("must be an http:// or https:// URL with a host")
    return value.rstrip("/")


_S = TypeVar("_S", bound=ProviderSettings)


class HttpProviderSettings(ProviderSettings):
    """Settings every HTTP provider shares. ``api_key`` is a SecretStr: never printed."""

    base_url: str
    api_key: SecretStr | None = None

    @field_validator("base_url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        return _http_url(value)


class _MappingSource(PydanticBaseSettingsSource):
    """A TOML table already read by the core, as the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = dict(values)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


def load_provider_settings(
    settings_class: type[_S],
    instance: str,
    table: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> _S:
    """Validate one provider instance's settings from all sources, in priority order."""
    prefix = f"AEGIS_LLM_{instance.upper()}_"

    class _Bound(settings_class):  # type: ignore[valid-type,misc]
        model_config = SettingsConfigDict(env_prefix=prefix)

        @classmethod
        def _file_layer(cls) -> Mapping[str, Any]:
            return table

    _Bound.__name__ = _Bound.__qualname__ = settings_class.__name__
    try:
        return _Bound(**dict(overrides or {}))
    except ValidationError as exc:
        raise ConfigurationError(
            f"invalid settings for provider {instance!r}: {_describe(exc)}",
            provider=instance,
            hint=f"check {prefix}* variables and [providers.{instance}] in aegis-llm.toml",
        ) from None


def config_file() -> Path | None:
    """The config file in use: ``AEGIS_LLM_CONFIG``, else ./aegis-llm.toml, else pyproject."""
    explicit = os.environ.get("AEGIS_LLM_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigurationError(
                f"AEGIS_LLM_CONFIG points to {path}, which is not a file",
                hint="fix the path or unset AEGIS_LLM_CONFIG",
            )
        return path
    for candidate in (Path("aegis-llm.toml"), Path("pyproject.toml")):
        if candidate.is_file():
            return candidate
    return None


def _file_values() -> dict[str, Any]:
    """The settings table of the config file: the whole file, or ``[tool.aegis-llm]``."""
    path = config_file()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read {path}: {exc}", hint="fix the file's TOML syntax"
        ) from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("aegis-llm", {})
        return table if isinstance(table, dict) else {}
    return data


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
        for err in exc.errors(include_url=False)
    )
