"""Testing aids for aegis-llm users and plugin authors (contract suite, fake servers)."""
