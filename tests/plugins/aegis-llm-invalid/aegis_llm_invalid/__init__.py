"""A test-only plugin that imports but breaks the hook contract (a misspelt argument)."""

from aegis_llm import hookimpl


@hookimpl
def aegis_llm_health(context: object) -> None:
    """Wrong argument name: the spec says ``ctx``; validation must reject it."""
