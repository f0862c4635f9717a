"""A test-only plugin whose import fails, as a plugin with a missing dependency would."""

import aegis_llm_dependency_that_is_not_installed  # noqa: F401
