"""``archive-<N>``: the same N small packs three ways, as pack folders and as ``.tgz`` and
``.zip`` archive packs: the repository's folder vectors copied round-robin (the regress
corpus's rule), each archive written by ``vlab.pack.archive.write_archive`` (what
``vlab import --out x.tgz`` writes)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from benchmarks.generators.events import GENERATOR_VERSION
from benchmarks.harness import OUT, ROOT

KINDS = ("folder", ".tgz", ".zip")
# Folder vectors no archive pack can be (a link), or whose archive is refused with the
# archive's own code (a backslash in a name): their expectation holds for the folder only.
FOLDER_ONLY = {"security-symlink", "security-unsafe-name"}
BESIDE = ("expected.json", "trust.yaml")  # what a vector folder holds besides its pack


def ensure_archive_corpora(count: int, force: bool) -> dict[str, Path]:
    """Kind (folder, .tgz, .zip) -> a corpus of ``count`` vectors (cached)."""
    from vlab.pack.archive import write_archive

    source = ROOT / "evidence_packs"
    vectors = sorted(
        p.parent
        for p in source.rglob("expected.json")
        if (p.parent / "pack").is_dir() and p.parent.name not in FOLDER_ONLY
    )
    base = OUT / f"archive-{count}"
    stamp = OUT / f"archive-{count}.params.json"
    digest = hashlib.sha256()
    for v in vectors:
        digest.update(str(v.relative_to(source)).encode())
        for f in sorted((v / "pack").rglob("*")):
            if f.is_file():
                digest.update(f.read_bytes())
    params = {"count": count, "generator": GENERATOR_VERSION, "source": digest.hexdigest()}
    corpora = {kind: base / kind.lstrip(".") for kind in KINDS}
    if not force and stamp.exists() and json.loads(stamp.read_text()) == params:
        return corpora
    if base.exists():
        shutil.rmtree(base)
    for i in range(count):
        src = vectors[i % len(vectors)]
        name = f"g{i // 1000:02d}/v{i:05d}-{src.name}"
        for kind, corpus in corpora.items():
            dest = corpus / name
            dest.mkdir(parents=True)
            for beside in BESIDE:
                if (src / beside).is_file():
                    shutil.copyfile(src / beside, dest / beside)
            if kind == "folder":
                shutil.copytree(src / "pack", dest / "pack")
            else:
                write_archive(src / "pack", dest / f"pack{kind}")
    stamp.write_text(json.dumps(params))
    return corpora


def one_pack(vector: str) -> dict[str, Path]:
    """Kind -> one golden vector's pack as a folder (the committed one) and as archives."""
    from vlab.pack.archive import write_archive

    folder = ROOT / "evidence_packs" / vector / "pack"
    out = {"folder": folder}
    for kind in KINDS[1:]:
        out[kind] = OUT / f"one-{vector.replace('/', '-')}{kind}"
        write_archive(folder, out[kind])
    return out
