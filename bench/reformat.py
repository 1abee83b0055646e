"""Copy a built index into the segment format this checkout writes, without rebuilding it:
the same rows and vectors, so that a reader's cold load can be compared on one index.

    python bench/reformat.py SRC DST

SRC is a folder with config.yaml and index/ (bench/scale.py --keep DIR makes DIR/n<N>).
DST gets the same config.yaml, a link to SRC's docs, and an index/ of its current snapshot
only: each segment's files hard-linked, its sentences.faiss (half floats in a FAISS file)
rewritten as sentences.f16 and sentences.sums (segments.write's files), its postings.npz
re-saved (with the terms' sorted order), every file given the
checksum this checkout records, and the manifest re-sealed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval import ann, checksums, segments  # noqa: E402
from retrieval.lexical import Postings  # noqa: E402
from retrieval.manifest import checksum  # noqa: E402


def reformat(src: Path, dst: Path) -> None:
    """Copy src's current snapshot into dst in this checkout's segment format."""
    dst.mkdir(parents=True)
    shutil.copy(src / "config.yaml", dst / "config.yaml")
    os.symlink((src / "docs").resolve(), dst / "docs")
    index, out = src / "index", dst / "index"
    name = (index / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = json.loads((index / "snapshots" / name / "manifest.json").read_text())
    for entry in manifest["segments"]:
        folder, target = index / "segments" / entry["name"], out / "segments" / entry["name"]
        target.mkdir(parents=True)
        for a in entry["artifacts"]:
            if a not in (segments.SENTENCES, segments.POSTINGS):
                os.link(folder / a, target / a)
        # Postings as this checkout writes them (with their terms' sorted order).
        Postings.load(folder / segments.POSTINGS).save(target / segments.POSTINGS)
        if segments.SENTENCES in entry["artifacts"]:
            half = ann.fp16_vectors(faiss.read_index(str(folder / segments.SENTENCES)))
            checksums.write_rows(
                target / segments.SENTENCE_ROWS, target / segments.SENTENCE_SUMS,
                np.asarray(half, dtype=np.float16),
            )  # fmt: skip
        entry["artifacts"] = {
            a: checksums.file_entry(target / a) for a in segments.WRITTEN if (target / a).exists()
        }
    manifest["checksum"] = checksum(manifest)
    (out / "snapshots" / name).mkdir(parents=True)
    (out / "snapshots" / name / "manifest.json").write_text(json.dumps(manifest, indent=1))
    (out / "CURRENT").write_text(name + "\n", encoding="utf-8")


if __name__ == "__main__":
    reformat(Path(sys.argv[1]), Path(sys.argv[2]))
