"""``aegis-llm``: providers, health, models, chat, embed, pull.

Exit codes: 0 success, 1 when providers failed, 2 for usage errors (bad
arguments, invalid requests, bad configuration). Errors are one readable
line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from aegis_llm import __version__
from aegis_llm.errors import AegisLLMError, ConfigurationError, InvalidRequest, PluginLoadError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON (the API's models)")
    common.add_argument("--debug", action="store_true", help="show tracebacks")

    parser = argparse.ArgumentParser(prog="aegis-llm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"aegis-llm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("providers", parents=[common], help="installed plugins and their state")
    for name, text in (("health", "is each provider up?"), ("models", "models per provider")):
        cmd = sub.add_parser(name, parents=[common], help=text)
        cmd.add_argument("--provider", action="append", help="only this provider (repeatable)")

    chat = sub.add_parser("chat", parents=[common], help="chat through the chain (streams)")
    chat.add_argument("message", nargs="+")
    chat.add_argument("--model", "-m")
    chat.add_argument("--chain", help="comma-separated providers, e.g. lmstudio,ollama")
    chat.add_argument("--system")
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--json-mode", action="store_true", help="ask for a JSON answer")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")

    embed = sub.add_parser("embed", parents=[common], help="embed text through the embed chain")
    embed.add_argument("text", nargs="*")
    embed.add_argument("--file", help="embed each line of this file (shows progress)")
    embed.add_argument("--model", "-m")
    embed.add_argument("--chain")

    pull = sub.add_parser("pull", parents=[common], help="download a model (Ollama)")
    pull.add_argument("model")
    pull.add_argument("--provider", default="ollama")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return anyio.run(_run, args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except (InvalidRequest, ConfigurationError, PluginLoadError) as exc:
        return _fail(exc, args, 2)
    except AegisLLMError as exc:
        return _fail(exc, args, 1)
    except OSError as exc:
        return _fail(exc, args, 2)


async def _run(args: argparse.Namespace) -> int:
    from aegis_llm._client import AsyncClient
    from aegis_llm.cli._commands import COMMANDS

    async with AsyncClient.from_settings() as llm:
        return await COMMANDS[args.command](llm, args, sys.stdout)


def _fail(exc: BaseException, args: argparse.Namespace, code: int) -> int:
    if args.debug:
        raise exc
    sys.stdout.flush()
    sys.stderr.write(f"aegis-llm: error: {exc}\n")
    return code
