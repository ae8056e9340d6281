"""``regress-<N>``: a corpus of N small packs, the repository's golden vectors copied
round-robin."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from benchmarks.generators.events import GENERATOR_VERSION
from benchmarks.harness import OUT, ROOT


def ensure_regress_corpus(count: int, force: bool) -> Path:
    """``count`` golden vectors: the repository's vectors copied round-robin (cached)."""
    corpus = OUT / f"regress-{count}"
    source = ROOT / "evidence_packs"
    vectors = sorted(p.parent for p in source.rglob("expected.json"))
    stamp = OUT / f"regress-{count}.params.json"
    params = {
        "count": count,
        "generator": GENERATOR_VERSION,
        "source": hashlib.sha256(
            "".join(str(p.relative_to(source)) for p in vectors).encode()
            + b"".join((p / "expected.json").read_bytes() for p in vectors)
        ).hexdigest(),
    }
    if not force and corpus.is_dir() and stamp.exists() and json.loads(stamp.read_text()) == params:
        return corpus
    if corpus.exists():
        shutil.rmtree(corpus)
    for i in range(count):
        src = vectors[i % len(vectors)]
        shutil.copytree(src, corpus / f"g{i // 1000:02d}" / f"v{i:05d}-{src.name}", symlinks=True)
    stamp.write_text(json.dumps(params))
    return corpus
