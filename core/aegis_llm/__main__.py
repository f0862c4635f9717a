"""``python -m aegis_llm`` is the ``aegis-llm`` command."""

from aegis_llm.cli import main

raise SystemExit(main())
