"""A tiny llama-architecture GGUF with random weights, written offline for the real-server tests.

The machine has no model hub and tests must never download weights, yet the plugin has
to be proven against the real llama.cpp engine (the one inside LM Studio). llama.cpp only
needs a structurally valid model: a few hundred kilobytes of random float32 tensors, a
byte-level BPE vocabulary and a chat template load in milliseconds and answer every
endpoint. What the model says is noise, so tests assert on structure, never on text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

__all__ = ["TinyLlama", "write_tiny_gguf"]

# Token ids follow from the order the trainer receives them: 0, 1, 2.
_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# ChatML, so the server applies a real template and `<|im_end|>` (the EOS) ends a turn.
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Enough text for BPE to learn merges; the content is irrelevant to the weights.
_CORPUS = (
    "Local model servers answer chat requests over plain HTTP.",
    "An embedding is a list of numbers that stands for a piece of text.",
    "Streams arrive in small pieces; the client stitches them together.",
    "Retry on busy servers, fail over when one is down, and say who answered.",
    "digits 0123456789 and marks .,;:!?'\"()[]{}<>/\\-+=*&%$#@",
)

_CONTROL = 3  # gguf.TokenType.CONTROL: never produced by plain text
_NORMAL = 1


@dataclass(frozen=True)
class TinyLlama:
    """Shape of the model. Defaults are the smallest llama.cpp runs without complaint."""

    embedding: int = 64
    layers: int = 2
    heads: int = 4
    feed_forward: int = 128
    context: int = 2048
    vocab: int = 512
    seed: int = 0

    @property
    def head_size(self) -> int:
        return self.embedding // self.heads


def write_tiny_gguf(path: Path, shape: TinyLlama | None = None) -> Path:
    """Write the model to ``path`` (byte-identical for the same shape and seed)."""
    shape = shape or TinyLlama()
    tokens, merges = _vocabulary(shape.vocab)
    writer = gguf.GGUFWriter(str(path), "llama")
    _describe(writer, shape, len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([_CONTROL if t in _SPECIALS else _NORMAL for t in tokens])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_pad_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(_CHATML)
    for name, tensor in _weights(shape, len(tokens)):
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _describe(writer: gguf.GGUFWriter, shape: TinyLlama, vocab_size: int) -> None:
    writer.add_name("aegis-tiny-llama")
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.embedding)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.feed_forward)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.heads)
    writer.add_rope_dimension_count(shape.head_size)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab_size)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    # Mean pooling gives one vector per input, so /v1/embeddings works on a chat model.
    writer.add_pooling_type(gguf.PoolingType.MEAN)


def _vocabulary(size: int) -> tuple[list[str], list[str]]:
    """Train a byte-level BPE; return tokens in id order and merges as "a b" strings."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size,
        special_tokens=list(_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte stays encodable
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(_CORPUS) * 3, trainer=trainer)
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise RuntimeError("the trained vocabulary has gaps in its ids")
    raw_merges = json.loads(tokenizer.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in raw_merges]
    return [token for token, _ in by_id], merges


def _weights(shape: TinyLlama, vocab_size: int) -> list[tuple[str, NDArray[np.float32]]]:
    """Random tensors in llama.cpp's names; numpy shapes are (out, in)."""
    rng = np.random.default_rng(shape.seed)
    dim, ff = shape.embedding, shape.feed_forward

    def noise(*dims: int, scale: float = 0.05) -> NDArray[np.float32]:
        return (rng.standard_normal(dims) * scale).astype(np.float32)

    ones = np.ones(dim, dtype=np.float32)
    tensors = [("token_embd.weight", noise(vocab_size, dim, scale=0.5))]
    for layer in range(shape.layers):
        block = f"blk.{layer}."
        tensors += [
            (block + "attn_norm.weight", ones),
            (block + "attn_q.weight", noise(dim, dim)),
            (block + "attn_k.weight", noise(dim, dim)),
            (block + "attn_v.weight", noise(dim, dim)),
            (block + "attn_output.weight", noise(dim, dim)),
            (block + "ffn_norm.weight", ones),
            (block + "ffn_gate.weight", noise(ff, dim)),
            (block + "ffn_up.weight", noise(ff, dim)),
            (block + "ffn_down.weight", noise(dim, ff)),
        ]
    tensors += [
        ("output_norm.weight", ones),
        ("output.weight", noise(vocab_size, dim, scale=0.5)),
    ]
    return tensors
