"""pytest plugin (pytest11 entry point) of aegis_llm.testing; the contract suite fills it."""
