"""Build the short-answer reader's ONNX graph once, into the verified cache of
retrieval/onnx_export.py: the packaged BERT with the shipped LoRA updates merged into its
weights, the shipped biases and layer norms, and the span head.

The shipped file (retrieval/answering/reader/reader-lora.npz) is read with
``allow_pickle=False``. Its SHA-256 names the cached graph, ``model-reader-<digest>.onnx``
beside the embedder's exports, so new weights export anew; the export is checksummed,
written under a temporary name and renamed, under the folder's lock (as the embedder's).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import checksums
from retrieval.errors import ConfigError
from retrieval.onnx_export import cache_root, fuse, locked_export, model_key, publish


def ensure_reader_onnx(model_path: Path, weights: Path, root: Path | None = None) -> Path:
    """The verified reader graph for these weights, exported first if needed."""
    if not weights.exists():
        raise ConfigError(f"answer.reader: the reader's weights {weights} are missing")
    name = f"reader-{checksums.digest_file(weights, 'sha256')[:16]}"
    folder = (root or cache_root()) / "onnx" / model_key(model_path)
    return locked_export(
        folder,
        name,
        lambda: publish(folder, name, model_path, lambda tmp: _export(model_path, weights, tmp)),
    )


def load_weights(weights: Path) -> dict[str, np.ndarray]:
    """The shipped arrays as float32 (never pickled objects)."""
    with np.load(weights, allow_pickle=False) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


def merged_state(state: dict[str, Any], shipped: dict[str, np.ndarray]) -> dict[str, Any]:
    """The BERT state dict with the LoRA updates added and the trained tensors replaced."""
    import torch

    out = dict(state)
    for key, value in shipped.items():
        if key.startswith("head."):
            continue
        if key.endswith(".lora_a"):
            base = key[: -len(".lora_a")]
            delta = shipped[f"{base}.lora_b"] @ value
            out[f"{base}.weight"] = state[f"{base}.weight"] + torch.from_numpy(delta)
        elif not key.endswith(".lora_b"):
            if key not in state:
                raise ConfigError(f"answer.reader: the reader's weights name unknown {key!r}")
            out[key] = torch.from_numpy(value)
    return out


def _export(model_path: Path, weights: Path, dest: Path) -> None:
    try:
        import torch
        import transformers
        from transformers import AutoModel
    except ImportError:
        raise ConfigError(
            "answer.reader: on exports the reader once with torch and transformers, which are "
            "not installed; pip install torch==2.13.0 sentence-transformers, or answer.reader: off"
        ) from None
    shipped = load_weights(weights)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    bert.load_state_dict(merged_state(bert.state_dict(), shipped))
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    head.weight.data = torch.from_numpy(shipped["head.weight"])
    head.bias.data = torch.from_numpy(shipped["head.bias"])

    class Spans(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = head

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]
            logits = self.head(out)
            return logits[..., 0], logits[..., 1]

    model = Spans().eval()
    ids = torch.ones((1, 8), dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(dest),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start", "end"],
            dynamic_axes={
                name: {0: "batch", 1: "seq"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "start", "end")
            },
            opset_version=17,
            dynamo=False,
        )
    fuse(model_path, dest)
