"""The CLI's commands. Each returns an exit code: 0 success, 1 providers failed."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import anyio

from aegis_llm._client import AsyncClient
from aegis_llm._inventory import HealthReport
from aegis_llm.cli._render import ProgressBar, dump_json, human_bytes, table
from aegis_llm.errors import AllProvidersFailed, InvalidRequest

__all__ = ["COMMANDS"]

_EMBED_BATCH = 64


async def providers(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    statuses = llm.plugins
    if args.json:
        dump_json(statuses, out)
    else:
        rows = [
            (
                s.name,
                s.status,
                s.version or "-",
                ",".join(s.capabilities) or "-",
                s.error or s.description,
            )
            for s in statuses
        ]
        table(rows, ("PLUGIN", "STATUS", "VERSION", "CAPABILITIES", "NOTE"), out)
        extra = {k: v for k, v in llm.settings.providers.items() if "plugin" in v}
        for name, conf in sorted(extra.items()):
            out.write(f"instance {name}: plugin {conf['plugin']}\n")
    return 1 if any(s.status == "broken" for s in statuses) else 0


def _health_row(report: HealthReport) -> tuple[str, ...]:
    models = (
        ", ".join(
            m.name
            + (
                f" ({human_bytes(m.size_bytes)}"
                + ("" if m.fully_on_gpu is None else ", GPU" if m.fully_on_gpu else ", partly CPU")
                + ")"
            )
            for m in report.loaded_models
        )
        or "-"
    )
    latency = (
        f"{report.latency_seconds * 1000:.0f} ms" if report.latency_seconds is not None else "-"
    )
    note = report.message or ""
    status = report.status + (f" ({report.reason})" if report.reason else "")
    return (
        report.provider,
        status,
        latency,
        report.version or "-",
        models,
        human_bytes(report.memory_bytes) if report.memory_bytes else "-",
        note,
    )


async def health(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    reports = await llm.health(args.provider or None)
    if args.json:
        dump_json(reports, out)
    else:
        table(
            [_health_row(r) for r in reports],
            ("PROVIDER", "STATUS", "LATENCY", "VERSION", "LOADED MODELS", "MEMORY", "NOTE"),
            out,
        )
    return 0 if all(r.status == "up" for r in reports) else 1


async def models(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    found = await llm.list_models(args.provider or None)
    if args.json:
        dump_json(
            {
                "models": [m.model_dump(mode="json") for m in found],
                "errors": [e.model_dump(mode="json") for e in found.errors],
            },
            out,
        )
    else:
        rows = [
            (
                m.provider,
                m.id,
                m.kind,
                {True: "yes", False: "no", None: "?"}[m.loaded],
                str(m.context_length or "-"),
                human_bytes(m.size_bytes),
            )
            for m in found
        ]
        table(rows, ("PROVIDER", "MODEL", "KIND", "LOADED", "CONTEXT", "SIZE"), out)
        for error in found.errors:
            sys.stderr.write(f"{error.error}\n")
    return 1 if found.errors and not found else 0


async def _pick_chat_model(llm: AsyncClient, chain: list[str]) -> str:
    """Without --model or AEGIS_LLM_CHAT_MODEL, use a loaded chat model of the chain."""
    found = await llm.list_models(chain)
    ranked = sorted(
        (m for m in found if m.kind != "embedding"),
        key=lambda m: (chain.index(m.provider), m.loaded is not True, m.id),
    )
    if ranked:
        return ranked[0].id
    if found.errors:
        raise AllProvidersFailed(
            f"no chat model: no provider of the chain {','.join(chain)} could list its models",
            attempts=found.errors,
        )
    raise InvalidRequest(
        f"no chat model found in the chain {','.join(chain)}",
        hint="pass --model, set AEGIS_LLM_CHAT_MODEL, or load a model "
        "(`lms load <model>` / `ollama pull <model>`)",
    )


async def chat(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    chain = args.chain.split(",") if args.chain else list(llm.settings.chain)
    model = args.model or llm.settings.chat_model or await _pick_chat_model(llm, chain)
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": " ".join(args.message)})
    options = {
        k: v
        for k, v in (
            ("temperature", args.temperature),
            ("max_tokens", args.max_tokens),
            ("seed", args.seed),
        )
        if v is not None
    }
    if args.json_mode:
        options["response_format"] = "json"
    if args.json or args.no_stream:
        reply = await llm.chat(messages, model=model, chain=chain, **options)
        if args.json:
            dump_json(reply, out)
        else:
            out.write(reply.content + "\n")
            _footer(
                reply.provider,
                reply.model,
                reply.usage.completion_tokens,
                reply.usage.tokens_per_second,
            )
        return 0
    async with llm.stream_chat(messages, model=model, chain=chain, **options) as stream:
        async for chunk in stream:
            out.write(chunk.content)
            out.flush()
            if chunk.done:
                out.write("\n")
                usage = chunk.usage
                _footer(
                    chunk.provider,
                    chunk.model,
                    usage.completion_tokens if usage else None,
                    usage.tokens_per_second if usage else None,
                )
    return 0


def _footer(provider: str, model: str, tokens: int | None, rate: float | None) -> None:
    detail = f", {tokens} tokens" if tokens is not None else ""
    detail += f", {rate:.1f} tok/s" if rate else ""
    sys.stderr.write(f"[{provider} {model}{detail}]\n")


async def embed(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    texts = list(args.text)
    if args.file:
        texts += (await anyio.Path(args.file).read_text(encoding="utf-8")).splitlines()
    if not texts:
        raise InvalidRequest("nothing to embed", hint="pass text arguments or --file")
    chain = args.chain.split(",") if args.chain else None
    bar = ProgressBar("embedding", unit="texts") if args.file else None
    vectors: list[list[float]] = []
    result = None
    for start in range(0, len(texts), _EMBED_BATCH):
        result = await llm.embed(texts[start : start + _EMBED_BATCH], model=args.model, chain=chain)
        vectors.extend(result.vectors)
        if bar:
            bar.update(len(vectors), len(texts))
    assert result is not None
    if bar:
        bar.finish(f"{len(vectors)} texts")
    merged = result.model_copy(update={"vectors": vectors})
    if args.json:
        dump_json(merged, out)
    else:
        for text, vector in zip(texts, vectors, strict=True):
            head = ", ".join(f"{v:+.4f}" for v in vector[:4])
            out.write(f"{text[:40]!r}: [{head}, ...]\n")
        out.write(
            f"{len(vectors)} vectors, {merged.dimensions} dimensions, "
            f"{merged.provider} {merged.model}\n"
        )
    return 0


async def pull(llm: AsyncClient, args: argparse.Namespace, out: TextIO) -> int:
    """Download with one bar over every layer: Ollama reports progress per layer digest."""
    bar = ProgressBar(f"pulling {args.model}")
    layers: dict[str, tuple[int, int]] = {}
    async for step in llm.pull(args.model, provider=args.provider):
        if args.json:
            out.write(step.model_dump_json() + "\n")
        elif step.digest and step.total_bytes:
            layers[step.digest] = (step.completed_bytes or 0, step.total_bytes)
            done = sum(completed for completed, _ in layers.values())
            total = sum(size for _, size in layers.values())
            bar.update(done, total, force=done == total)
        else:
            bar.note(step.status)
    if not args.json:
        bar.finish("done")
    return 0


COMMANDS = {
    "providers": providers,
    "health": health,
    "models": models,
    "chat": chat,
    "embed": embed,
    "pull": pull,
}
