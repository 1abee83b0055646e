"""Forward latency of a span reader on all-mpnet-base-v2 (12 x 768) against the packaged
MiniLM reader, on onnxruntime: fp32 and dynamic int8 (MatMul, per channel, as
retrieval/onnx_export.py quantises the embedder), 1 and 2 threads, one question at a time
on real reader inputs (a question and the sentences the answerer quotes for it).

    .venv/bin/python bench/mpnet_latency.py /tmp/r/quoted.jsonl --model /tmp/mp/all-mpnet-base-v2 \\
        --work /tmp/mp/onnx [--rows 5103:5303]

The span head is random: latency does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.answering.reader import MAX_LEN, SpanReader, encode_pair, load_tokenizer  # noqa: E402
from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path  # noqa: E402


def export(model_path: Path, dest: Path) -> None:
    """The MPNet encoder with a Linear(hidden, 2) start/end head, traced to ONNX."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    head = torch.nn.Linear(model.config.hidden_size, 2)

    class Spans(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model, self.head = model, head

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.head(self.model(input_ids=input_ids, attention_mask=attention_mask)[0])
            return out[..., 0], out[..., 1]

    ids = torch.full((1, 16), 5, dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Spans().eval(),
            (ids, torch.ones_like(ids)),
            str(dest),
            input_names=["input_ids", "attention_mask"],
            output_names=["start", "end"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "start": {0: "batch", 1: "seq"},
                "end": {0: "batch", 1: "seq"},
            },
            opset_version=17,
            dynamo=False,
        )


def quantize(fp32: Path, dest: Path) -> None:
    """Dynamic int8, MatMul weights per output channel (the embedder's recipe)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(dest),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )


def time_session(file: Path, threads: int, inputs: list[np.ndarray]) -> list[float]:
    """Milliseconds per question (after 5 warm-up runs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
    for ids in inputs[:5]:
        sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    out = []
    for ids in inputs:
        t = time.perf_counter()
        sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        out.append((time.perf_counter() - t) * 1000)
    return out


def time_minilm(rows: list[dict]) -> list[float]:
    """The shipped MiniLM reader (fp32, fused, one thread), tokenising included."""
    reader = SpanReader(resolve_model_path(DEFAULT_MODEL))
    for r in rows[:5]:
        reader.logits(r["question"], r["sentences"])
    out = []
    for r in rows:
        t = time.perf_counter()
        reader.logits(r["question"], r["sentences"])
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"p50 {statistics.median(ms):6.1f} ms  p90 {q[17]:6.1f}  mean {statistics.mean(ms):6.1f}"


def main() -> None:
    """Print a latency table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--rows", default="5103:5303")
    args = p.parse_args()
    lo, hi = (int(x) for x in args.rows.split(":"))
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")][lo:hi]
    rows = [r for r in rows if r["sentences"]]
    tok = load_tokenizer(args.model)
    inputs = [
        np.array([encode_pair(tok, r["question"], " ".join(r["sentences"]), MAX_LEN).ids])
        for r in rows
    ]
    lens = [x.shape[1] for x in inputs]
    print(
        f"{len(rows)} questions; MPNet word pieces p50 {statistics.median(lens)}, "
        f"p90 {statistics.quantiles(lens, n=10)[8]}, max {max(lens)} (cut at {MAX_LEN})"
    )
    args.work.mkdir(parents=True, exist_ok=True)
    fp32, int8 = args.work / "mpnet-span-fp32.onnx", args.work / "mpnet-span-int8.onnx"
    if not fp32.exists():
        export(args.model, fp32)
    if not int8.exists():
        quantize(fp32, int8)
    print(f"MiniLM reader (shipped, fp32, 1 thread): {summary(time_minilm(rows))}")
    for file in (fp32, int8):
        for threads in (1, 2):
            ms = time_session(file, threads, inputs)
            print(f"MPNet {file.stem[-4:]} {threads} thread(s): {summary(ms)}")


if __name__ == "__main__":
    main()
