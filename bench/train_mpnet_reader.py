"""A span reader on all-mpnet-base-v2 (12 x 768) with its lower layers frozen: their hidden
states are computed once for every example and cached (float16), then only the top K
layers and a Linear(768, 2) start/end head train ([CLS] = <s> means "no answer", as in the
MiniLM reader). Examples, labels, batches and the validation curve are bench/train_reader.py's
(the quoted sentences of bench/reader_data.py, plus the gold answer sentence with 0-2
neighbours), on articles 24-40; articles 42-46 choose the epoch and the threshold.

    .venv/bin/python bench/train_mpnet_reader.py /tmp/r/quoted.jsonl \\
        --model /tmp/mp/all-mpnet-base-v2 --work /tmp/mp/run --top 3
    .venv/bin/python bench/train_mpnet_reader.py /tmp/r/quoted.jsonl \\
        --model /tmp/mp/all-mpnet-base-v2 --work /tmp/mp/run --top 3 --predict e2 --rows 0:2349

Training writes ``WORK/top-e{1,2}.npz`` and ``WORK/sig-val-e{1,2}.json``; ``--predict`` writes
``WORK/sig-ROWS-EPOCH.json`` (bench/reader_signals.py's fields that bench/reader_policy.py's
confidence policy reads: span, conf, em, rule_short, rule_em, abstained).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_reader import (
    HELD_OUT,
    VALIDATION,
    article_of,
    batches,
    curve,
    examples,
    featurize,
    span_step,
)

from retrieval.answering.reader import MAX_LEN, best_span, encode_pair, load_tokenizer
from retrieval.answering.shorts import READ_KINDS
from retrieval.evaluation import squad_em_f1

PAD = 1  # MPNet's <pad>; its position ids skip padding, so padded batches are exact


def load_encoder(model_path: Path) -> Any:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    return model.eval()


def context_mask(ids: list[int]) -> np.ndarray:
    """<s> and the context's word pieces: <s> q </s></s> context </s>."""
    first_sep = ids.index(2)
    out = np.zeros(len(ids), dtype=bool)
    out[0] = True
    out[first_sep + 2 : len(ids) - 1] = True
    return out


def cache_lower(encoder: Any, id_lists: list[list[int]], layer: int, path: Path) -> list:
    """The hidden states after ``layer`` layers of each id list (float16), cached on disk."""
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            flat, cuts = z["flat"], z["cuts"]
        return [flat[cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]
    order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
    out: list = [None] * len(id_lists)
    t0, c0 = time.time(), time.process_time()
    layers = encoder.encoder.layer
    encoder.encoder.layer = layers[:layer]  # the layers above are not needed here
    with torch.no_grad():
        for j in range(0, len(order), 32):
            chunk = order[j : j + 32]
            n = max(len(id_lists[i]) for i in chunk)
            ids = torch.full((len(chunk), n), PAD, dtype=torch.long)
            for k, i in enumerate(chunk):
                ids[k, : len(id_lists[i])] = torch.tensor(id_lists[i])
            mask = (ids != PAD).long()
            h = encoder(input_ids=ids, attention_mask=mask)[0]
            for k, i in enumerate(chunk):
                out[i] = h[k, : len(id_lists[i])].numpy().astype(np.float16)
    encoder.encoder.layer = layers
    cuts = np.cumsum([0] + [len(x) for x in out])
    np.savez(path, flat=np.concatenate(out), cuts=cuts)
    print(
        f"cached {len(out)} examples at layer {layer}: {time.time() - t0:.0f}s wall "
        f"{time.process_time() - c0:.0f}s cpu",
        flush=True,
    )
    return out


class Top(torch.nn.Module):
    """MPNet's top layers (their relative position bias from the frozen table) + a span head."""

    def __init__(self, encoder: Any, top: int) -> None:
        super().__init__()
        enc = encoder.encoder
        self.bias_of = enc.compute_position_bias  # frozen: not a submodule here
        self.layers = torch.nn.ModuleList(enc.layer[len(enc.layer) - top :])
        self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            bias = self.bias_of(h)
        add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(h.dtype).min
        for layer in self.layers:
            h = layer(h, add, bias)[0]
        out = self.head(h)
        return out[..., 0], out[..., 1]


def stack(batch: list[tuple]) -> tuple[torch.Tensor, ...]:
    """Padded hidden states, attention mask, allowed positions, starts, ends."""
    n = max(len(b[0]) for b in batch)
    h = torch.zeros((len(batch), n, batch[0][0].shape[1]))
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    allowed = torch.zeros((len(batch), n), dtype=torch.bool)
    for i, (hid, ok, _, _) in enumerate(batch):
        h[i, : len(hid)] = torch.from_numpy(hid.astype(np.float32))
        mask[i, : len(hid)] = 1
        allowed[i, : len(hid)] = torch.from_numpy(ok)
    return (
        h,
        mask,
        allowed,
        torch.tensor([b[2] for b in batch]),
        torch.tensor([b[3] for b in batch]),
    )


def train(model: Top, data: list[tuple], args: Any, after: Any) -> None:
    """AdamW (layers at --lr, the new head 10x), 10% warm-up then linear decay."""
    opt = torch.optim.AdamW(
        [
            {"params": model.layers.parameters(), "lr": args.lr},
            {"params": model.head.parameters(), "lr": args.lr * 10},
        ],
        weight_decay=0.01,
    )
    steps = args.epochs * math.ceil(len(data) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps))
    )
    rng, step, total = random.Random(0), 0, 0.0
    t0, c0 = time.time(), time.process_time()
    model.train()
    for epoch in range(args.epochs):
        # batches() sorts by len(item[0]): the hidden states' length, as for the ids.
        for batch in batches(data, args.batch, rng):
            h, mask, allowed, starts, ends = stack(batch)
            total += span_step(opt, sched, model(h, mask), allowed, starts, ends)
            step += 1
            if step % 50 == 0:
                print(
                    f"step {step}/{steps} loss {total / 50:.3f} {time.time() - t0:.0f}s wall "
                    f"{time.process_time() - c0:.0f}s cpu",
                    flush=True,
                )
                total = 0.0
        after(f"e{epoch + 1}")
        model.train()


def signals(rows: list[dict], tok: Any, logits: Callable[[dict], tuple]) -> list[dict]:
    """Per row: the span and confidence the reader gives (read kinds with quoted sentences;
    ``logits(row)`` gives its start and end scores), with the rules' answer and exactness,
    as bench/reader_signals.py writes them."""
    out = []
    for r in rows:
        rule_em = squad_em_f1(r["rule_short"], r["answers"])[0] if r["rule_short"] else 0
        row = {"n": r["n"], "kind": r["kind"], "rule_short": r["rule_short"]}
        row |= {"abstained": r["abstained"], "rule_em": rule_em, "span": None}
        if r["sentences"] and r["kind"] in READ_KINDS:
            s, e = logits(r)
            enc = encode_pair(tok, r["question"], " ".join(r["sentences"]), MAX_LEN)
            span, conf = best_span(s, e, enc, r["sentences"])
            row |= {"span": span, "conf": conf}
            if span:
                row["em"] = squad_em_f1(span, r["answers"])[0]
        out.append(row)
    return out


def cached_logits(model: Top, hidden: dict[int, np.ndarray]) -> Callable[[dict], tuple]:
    """The top layers' start and end scores of a row, from its cached hidden states."""
    model.eval()

    def logits(row: dict) -> tuple:
        h = torch.from_numpy(hidden[row["n"]].astype(np.float32))[None]
        with torch.no_grad():
            s, e = model(h, torch.ones(h.shape[:2], dtype=torch.long))
        return s[0].numpy(), e[0].numpy()

    return logits


def read_rows(rows: list[dict], tok: Any) -> list[tuple[int, list[int]]]:
    """(row number, ids) of the rows the reader reads."""
    return [
        (r["n"], encode_pair(tok, r["question"], " ".join(r["sentences"]), MAX_LEN).ids)
        for r in rows
        if r["sentences"] and r["kind"] in READ_KINDS
    ]


def main() -> None:
    """Cache, train and validate; or predict a slice with one epoch's weights."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=Path("/work/shared/eval/squad_dev_a"))
    p.add_argument("--top", type=int, default=3, help="how many top layers train")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--predict", help="an epoch (e1, e2): write the --rows slice's signals")
    p.add_argument("--rows", default="0:2349")
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")]
    tok = load_tokenizer(args.model)
    encoder = load_encoder(args.model)
    layer = encoder.config.num_hidden_layers - args.top
    model = Top(encoder, args.top)
    if args.predict:
        lo, hi = (int(x) for x in args.rows.split(":"))
        part = rows[lo:hi]
        read = read_rows(part, tok)
        cached = cache_lower(encoder, [x for _, x in read], layer, args.work / f"h-{lo}-{hi}.npz")
        with np.load(args.work / f"top-{args.predict}.npz", allow_pickle=False) as z:
            model.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files})
        hidden = {n: h for (n, _), h in zip(read, cached, strict=True)}
        sig = signals(part, tok, cached_logits(model, hidden))
        out = args.work / f"sig-{lo}-{hi}-{args.predict}.json"
        out.write_text(json.dumps(sig))
        print(f"{len(sig)} rows -> {out}")
        return
    rows = [r for r in rows if article_of(r) not in HELD_OUT]
    val = [r for r in rows if article_of(r) in VALIDATION]
    corpus = {}
    for line in (args.corpus / "corpus.jsonl").open(encoding="utf-8"):
        a = json.loads(line)
        corpus[a["id"]] = a["text"]
    feats = featurize(
        tok,
        examples([r for r in rows if article_of(r) not in VALIDATION], corpus, True, 0),
        MAX_LEN,
    )
    print(f"{len(feats)} training examples, {sum(f[2] > 0 for f in feats)} with an answer")
    hid = cache_lower(encoder, [f[0] for f in feats], layer, args.work / "h-train.npz")
    data = [(h, context_mask(f[0]), f[2], f[3]) for h, f in zip(hid, feats, strict=True)]
    vread = read_rows(val, tok)
    vhid = cache_lower(encoder, [x for _, x in vread], layer, args.work / "h-val.npz")
    vmap = {n: h for (n, _), h in zip(vread, vhid, strict=True)}

    def validate(tag: str) -> None:
        state = {k: v.numpy() for k, v in model.state_dict().items()}
        np.savez(args.work / f"top-{tag}.npz", **state)
        sig = signals(val, tok, cached_logits(model, vmap))
        (args.work / f"sig-val-{tag}.json").write_text(json.dumps(sig))
        preds = [(s["span"], s.get("conf", 0.0)) for s in sig]
        print(f"{tag}: validation (articles 42-46), reader alone:")
        print("\n".join(curve(val, preds, rules=False)), flush=True)

    train(model, data, args, validate)


if __name__ == "__main__":
    main()
