"""The Hypothesis settings profile of the contract suite.

A plugin's contract run must take seconds, so the default explores a few examples
per property; CI jobs that want more register the profile themselves (in a
``conftest.py``, which pytest imports before the contract module decorates its
tests) and their values win, e.g.
``settings.register_profile(CONTRACT_PROFILE, CONTRACT_DEFAULTS, max_examples=200)``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

__all__ = ["CONTRACT_DEFAULTS", "CONTRACT_PROFILE", "contract_settings"]

CONTRACT_PROFILE = "aegis-llm-contract"

CONTRACT_DEFAULTS = settings(
    max_examples=8,
    # A request crosses a thread, a socket and maybe a model: wall time says nothing.
    deadline=None,
    # No .hypothesis/ directory in the plugin author's checkout; failures print a blob.
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        # One base-class test runs for every plugin subclass: that is the design.
        HealthCheck.differing_executors,
    ],
)


def contract_settings() -> settings:
    """The registered profile, registering the defaults when nobody did."""
    try:
        return settings.get_profile(CONTRACT_PROFILE)
    except InvalidArgument:
        settings.register_profile(CONTRACT_PROFILE, CONTRACT_DEFAULTS)
        return settings.get_profile(CONTRACT_PROFILE)
