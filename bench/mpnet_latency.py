"""Forward latency of a span reader on all-mpnet-base-v2 (12 x 768) against the packaged
MiniLM reader, on onnxruntime: fp32 and dynamic int8 (retrieval/onnx_export.py's recipe
for the embedder: MatMul weights, per output channel), 1 and 2 threads, one question at a time
on real reader inputs (a question and the sentences the answerer quotes for it).

    .venv/bin/python bench/mpnet_latency.py /tmp/r/quoted.jsonl --model /tmp/mp/all-mpnet-base-v2 \\
        --work /tmp/mp/onnx [--rows 5103:5303] [--weights /tmp/mp/k4/top-e2.npz \\
        --signals /tmp/mp/k4/sig-int8-val.json --rows 5103:5665]

Without ``--weights`` the span head is random (latency does not depend on the values); with
them the trained reader is exported, and ``--signals`` writes what its int8 graph reads on
the rows (one thread, as the answerer runs it), for bench/reader_policy.py.
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
from retrieval.onnx_export import _quantize  # noqa: E402 (the embedder's int8 recipe)

sys.path.insert(0, str(REPO / "bench"))
from train_mpnet_reader import signals  # noqa: E402


def export(model_path: Path, dest: Path, weights: Path | None = None) -> None:
    """The MPNet encoder with a Linear(hidden, 2) start/end head, traced to ONNX; with
    ``weights`` (bench/train_mpnet_reader.py's top-eN.npz) its trained top layers and head."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    head = torch.nn.Linear(model.config.hidden_size, 2)
    if weights:
        with np.load(weights, allow_pickle=False) as z:
            state = {k: torch.from_numpy(z[k]) for k in z.files}
        top = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("layers."))
        first = model.config.num_hidden_layers - top
        for k, v in state.items():
            if k.startswith("head."):
                head.state_dict()[k[5:]].copy_(v)
            else:
                _, i, rest = k.split(".", 2)
                model.encoder.layer[first + int(i)].state_dict()[rest].copy_(v)

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


def session(file: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def time_session(file: Path, threads: int, inputs: list[np.ndarray]) -> list[float]:
    """Milliseconds per question (after 5 warm-up runs)."""
    sess = session(file, threads)
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
    p.add_argument("--weights", type=Path, help="trained top layers and head (top-eN.npz)")
    p.add_argument("--signals", type=Path, help="write the int8 graph's signals of the rows")
    args = p.parse_args()
    lo, hi = (int(x) for x in args.rows.split(":"))
    every = [json.loads(line) for line in args.data.open(encoding="utf-8")][lo:hi]
    rows = [r for r in every if r["sentences"]]
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
    name = f"mpnet-span-{args.weights.stem}" if args.weights else "mpnet-span"
    fp32, int8 = args.work / f"{name}-fp32.onnx", args.work / f"{name}-int8.onnx"
    if not fp32.exists():
        export(args.model, fp32, args.weights)
    if not int8.exists():
        _quantize(fp32, int8)
    if args.signals:
        sess = session(int8, 1)

        def logits(row: dict) -> tuple:
            enc = encode_pair(tok, row["question"], " ".join(row["sentences"]), MAX_LEN)
            ids = np.array([enc.ids])
            s, e = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
            return s[0], e[0]

        args.signals.write_text(json.dumps(signals(every, tok, logits)))
        print(f"int8 signals of {len(every)} rows -> {args.signals}")
    print(f"MiniLM reader (shipped, fp32, 1 thread): {summary(time_minilm(rows))}")
    for file in (fp32, int8):
        for threads in (1, 2):
            ms = time_session(file, threads, inputs)
            print(f"MPNet {file.stem[-4:]} {threads} thread(s): {summary(ms)}")


if __name__ == "__main__":
    main()
