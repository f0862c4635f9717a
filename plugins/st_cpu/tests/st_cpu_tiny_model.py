"""A tiny random BERT in sentence-transformers layout, written offline in well under a second.

Most st_cpu tests need *a* real model, not a good one: this one runs the same
code paths as all-MiniLM-L6-v2 (Transformer -> mean Pooling -> Normalize) at
a fraction of the cost. The WordPiece vocabulary is written by hand (a trained
one is not deterministic), and modules.json uses the classic module paths that
every sentence-transformers version reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import BertConfig, BertModel

__all__ = ["TINY_DIMENSIONS", "TINY_MAX_SEQ_LENGTH", "build_tiny_model"]

TINY_DIMENSIONS = 32
TINY_MAX_SEQ_LENGTH = 16
"""Low on purpose: a dozen words already need truncation."""

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "red", "blue", "fish"]
_LETTERS = [chr(code) for code in range(ord("a"), ord("z") + 1)]


def build_tiny_model(folder: Path, *, seed: int = 0, normalize: bool = True) -> Path:
    """Write the model into ``folder`` (created) and return it.

    ``normalize=False`` leaves out the Normalize module, like models whose
    vectors are not unit length.
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab = [*_SPECIAL, *_WORDS, *_LETTERS, *(f"##{letter}" for letter in _LETTERS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=TINY_DIMENSIONS,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    _write_json(
        folder / "tokenizer_config.json",
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 64},
    )
    _write_json(
        folder / "special_tokens_map.json",
        {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
        | {"mask_token": "[MASK]"},
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": TINY_MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": TINY_DIMENSIONS,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    modules = [
        ("", "sentence_transformers.models.Transformer"),
        ("1_Pooling", "sentence_transformers.models.Pooling"),
    ]
    if normalize:
        modules.append(("2_Normalize", "sentence_transformers.models.Normalize"))
    _write_json(
        folder / "modules.json",
        [
            {"idx": idx, "name": str(idx), "path": path, "type": kind}
            for idx, (path, kind) in enumerate(modules)
        ],
    )
    return folder


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
