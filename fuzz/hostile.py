"""The hostile-pack generator's ground: an in-memory pack model, the seed corpus (the golden
vectors of ``evidence_packs/``), packs built from scratch, the rare 'big' packs, archive
packs with hostile entries, and writing a pack to disk with its seal.

A pack here is a :class:`PackSpec`: regular files as ``{pack-relative path: bytes}`` plus
"specials" (symbolic links, FIFOs, sockets, device nodes, hard links, empty folders). Paths
are ``str``; bytes that are not UTF-8 ride in them as surrogate escapes (``os.fsencode``
gives the real bytes back). Nothing here imports the engine: the generator must keep
working while the engine changes, and it must never "agree" with the engine by sharing
its code (the seal is computed here, with hashlib).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EVIDENCE = REPO / "evidence_packs"
SUMS = "integrity/sha256sums.txt"
MANIFEST = "manifest.json"
BUNDLE = "bundle.manifest.json"
POINTERS = "evidence_pointers.json"
CONTROL = (MANIFEST, BUNDLE, POINTERS)
EVENTS = "trace/events.ndjson"
POLICY = "artifacts/mission/policy.yaml"
OUTCOME = "artifacts/mission/outcome_receipt.json"
ADMISSION_RECEIPT = "artifacts/budget/admission_receipt.json"
SETTLEMENT = "artifacts/budget/settlement_receipt.json"
SEED_MAX_BYTES = 300_000  # a seed bigger than this is not a seed (keeps packs small)


@dataclass(frozen=True)
class Special:
    """A pack entry that is not a regular file written from bytes."""

    kind: str  # symlink | fifo | socket | device | hardlink | dir
    path: str
    target: str = ""  # symlink: the link text; hardlink: the pack path it names


@dataclass
class PackSpec:
    files: dict[str, bytes] = field(default_factory=dict)
    specials: list[Special] = field(default_factory=list)
    seal: str = "reseal"  # reseal: fresh sums after the mutations; keep: the sums as they are
    gentle: bool = False  # mutators spare the control files (the pack is meant to be admitted)

    def copy(self) -> PackSpec:
        return PackSpec(dict(self.files), list(self.specials), self.seal, self.gentle)

    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


@dataclass(frozen=True)
class Seed:
    id: str
    files: dict[str, bytes]
    specials: tuple[Special, ...]
    limits: dict[str, int] | None
    shadow: str | None  # the ruleset of a shadow-run vector
    admissible: bool = False  # its expectation says ADMISSIBLE (its pins are good ones)

    def spec(self) -> PackSpec:
        return PackSpec(dict(self.files), list(self.specials), "reseal")


@dataclass
class Corpus:
    """The seeds and the dictionary the mutators draw from (all taken from the seeds)."""

    seeds: list[Seed]
    pins: list[tuple[str, str, str]]  # (ruleset_ref, protocol_pin, schema_bundle_sha256)
    ruleset_ids: list[str]
    requirement_ids: list[str]
    keys: list[str]
    strings: list[str]
    events: list[Any]  # event records of the seeds' event logs (parsed)
    documents: list[Any]  # parsed JSON documents of the seeds (artifacts and control files)
    artifacts: list[tuple[str, bytes]]  # (path, bytes) of the seeds' non-control files
    by_id: dict[str, Seed] = field(default_factory=dict)


# -- the seed corpus --------------------------------------------------------------------


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            full = base / name
            yield full.relative_to(root).as_posix(), full


def load_seed(vector: Path, vector_id: str) -> Seed | None:
    pack = vector / "pack"
    if not pack.is_dir():
        return None
    files: dict[str, bytes] = {}
    specials: list[Special] = []
    for rel, full in _walk(pack):
        mode = full.lstat().st_mode
        if stat.S_ISLNK(mode):
            specials.append(Special("symlink", rel, os.readlink(full)))
        elif stat.S_ISREG(mode):
            files[rel] = full.read_bytes()
    if sum(len(b) for b in files.values()) > SEED_MAX_BYTES:
        return None
    limits = shadow = None
    admissible = False
    try:
        expected = json.loads((vector / "expected.json").read_text("utf-8"))
        limits = expected.get("limits") or None
        if expected.get("shadow") and isinstance(expected.get("ruleset"), str):
            shadow = expected["ruleset"]
        admissible = (expected.get("admission") or {}).get("status") == "ADMISSIBLE"
    except (OSError, ValueError, AttributeError):
        pass
    return Seed(vector_id, files, tuple(specials), limits, shadow, admissible)


def read_pack(root: Path) -> PackSpec:
    """A pack folder on disk as a spec (links, FIFOs, sockets, devices, hard links and
    empty folders kept as specials), e.g. a saved finding."""
    spec = PackSpec(seal="keep")
    inodes: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        if not dirnames and not filenames and rel_dir != ".":
            spec.specials.append(Special("dir", rel_dir))
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            full = base / name
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                spec.specials.append(Special("symlink", rel, os.readlink(full)))
            elif stat.S_ISFIFO(st.st_mode):
                spec.specials.append(Special("fifo", rel))
            elif stat.S_ISSOCK(st.st_mode):
                spec.specials.append(Special("socket", rel))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                spec.specials.append(Special("device", rel))
            elif (st.st_dev, st.st_ino) in inodes:
                spec.specials.append(Special("hardlink", rel, inodes[(st.st_dev, st.st_ino)]))
            else:
                inodes[(st.st_dev, st.st_ino)] = rel
                spec.files[rel] = full.read_bytes()
    return spec


def _harvest(value: Any, keys: set[str], strings: set[str]) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) <= 80:
            strings.add(item)


def load_corpus(root: Path = EVIDENCE) -> Corpus:
    seeds: list[Seed] = []
    for expected in sorted(root.rglob("expected.json")):
        vector = expected.parent
        seed = load_seed(vector, vector.relative_to(root).as_posix())
        if seed is not None:
            seeds.append(seed)
    if not seeds:
        raise RuntimeError(f"no seed packs under {root}")
    pins: set[tuple[str, str, str]] = set()
    keys: set[str] = set()
    strings: set[str] = set()
    requirement_ids: set[str] = set()
    events: list[Any] = []
    documents: list[Any] = []
    artifacts: dict[str, bytes] = {}
    for seed in seeds:
        for path, data in seed.files.items():
            if path != SUMS and path not in CONTROL:
                artifacts.setdefault(f"{path}\0{hashlib.sha256(data).hexdigest()}", data)
            if path.endswith(".json"):
                try:
                    doc = json.loads(data)
                except ValueError:
                    continue
                documents.append(doc)
                _harvest(doc, keys, strings)
                if path == BUNDLE and isinstance(doc, dict) and seed.admissible:
                    pin = (doc.get("ruleset_ref"), doc.get("protocol_pin"))
                    digest = doc.get("schema_bundle_sha256")
                    if all(isinstance(x, str) for x in (*pin, digest)):
                        pins.add((str(pin[0]), str(pin[1]), str(digest)))
                if path == POINTERS and isinstance(doc, dict):
                    for p in doc.get("pointers") or []:
                        if isinstance(p, dict) and isinstance(p.get("requirement_id"), str):
                            requirement_ids.add(p["requirement_id"])
            elif path.endswith((".ndjson", ".jsonl")):
                for line in data.splitlines()[:200]:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        _harvest(record, keys, strings)
                        if path.startswith("trace/"):
                            events.append(record)
    good_pins = sorted(
        p for p in pins if p[0].startswith("ruleset-1.") and len(p[2]) == 64 and p[1] == "1.0.0"
    )
    ruleset_ids = sorted({p[0] for p in good_pins})
    requirement_ids.update(f"RQ-D{d}-0{n}" for d in range(1, 6) for n in range(1, 5))
    corpus = Corpus(
        seeds=seeds,
        pins=good_pins or sorted(pins),
        ruleset_ids=ruleset_ids,
        requirement_ids=sorted(requirement_ids),
        keys=sorted(keys),
        strings=sorted(strings),
        events=events,
        documents=documents,
        artifacts=[(k.split("\0")[0], v) for k, v in sorted(artifacts.items())],
    )
    corpus.by_id = {s.id: s for s in seeds}
    return corpus


# -- from scratch -----------------------------------------------------------------------


def _dump(doc: Any, rng: random.Random) -> bytes:
    indent = rng.choice([None, None, 2, 0, "\t"])
    return (json.dumps(doc, indent=indent, ensure_ascii=rng.random() < 0.5) + "\n").encode(
        "utf-8", "surrogatepass"
    )


def scratch_pack(rng: random.Random, corpus: Corpus) -> PackSpec:
    """A pack built from nothing: valid pins, events recombined from the seeds' event logs,
    artifacts borrowed from other seeds, pointers of every locator kind at random targets."""
    ruleset_ref, protocol_pin, digest = rng.choice(corpus.pins)
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {
        "pack_id": f"scratch-{rng.getrandbits(32):08x}",
        "contract_version": rng.choice(["1.0", "1.1", "1.1"]),
        "protocol_version": "1.0.0",
        "created_at": "2026-05-29T10:00:00Z",
    }
    if rng.random() < 0.4:
        manifest["substrate"] = {"type": rng.choice(["langgraph", "crewai", "x"]), "version": "1"}
    files[MANIFEST] = _dump(manifest, rng)
    meta_keys = [
        "partial_execution",
        "privileged_action",
        "termination_case",
        "settlement_expected",
        "spend_cap",
        "eval_matrix",
        "mission_policy",
    ]
    bundle: dict[str, Any] = {
        "run_id": rng.choice(["run-0001", f"run-{rng.randrange(10**6)}"]),
        "ruleset_ref": ruleset_ref,
        "protocol_pin": protocol_pin,
        "schema_bundle_sha256": digest,
    }
    if rng.random() < 0.8:
        bundle["scenario_meta"] = {
            k: rng.random() < 0.5 for k in rng.sample(meta_keys, rng.randrange(len(meta_keys) + 1))
        }
    files[BUNDLE] = _dump(bundle, rng)
    events = [copy.deepcopy(rng.choice(corpus.events)) for _ in range(rng.randrange(0, 30))]
    ids: list[str] = []
    for n, event in enumerate(events):
        if isinstance(event, dict) and rng.random() < 0.9:
            event["event_id"] = f"evt-{n:04d}"
        ids.append(str(event.get("event_id")) if isinstance(event, dict) else "")
    files[EVENTS] = b"".join(
        json.dumps(e, separators=(",", ":")).encode("utf-8", "surrogatepass") + b"\n"
        for e in events
    )
    for _ in range(rng.choice([0, 0, 1, 2, 4])):
        path, data = rng.choice(corpus.artifacts)
        if path != EVENTS:
            files[path] = data
    pointers = []
    targets = [p for p in files if p.endswith((".json", ".ndjson", ".jsonl"))]
    for rq in rng.sample(corpus.requirement_ids, min(len(corpus.requirement_ids), 8)):
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            path = rng.choice(targets)
            if path.endswith(".json"):
                locator = rng.choice(["file:", "jsonptr:", "jsonptr:/" + rng.choice(corpus.keys)])
            elif ids and rng.random() < 0.6:
                locator = "event_id:" + rng.choice(ids)
            else:
                locator = rng.choice(["file:", f"line:{rng.randrange(1, max(2, len(ids) + 2))}"])
            status = rng.choice(["PRESENT"] * 6 + ["ABSENT", "NOT_EVALUATED"])
            pointers.append(
                {"requirement_id": rq, "artifact_path": path, "locator": locator, "status": status}
            )
    files[POINTERS] = _dump({"pointers": pointers}, rng)
    return PackSpec(files, [], "reseal")


# -- big packs (rare: resource bugs show as counted cost, not as an OOM) -----------------

BIG_VARIANTS = (
    "big_event_log",
    "big_many_files",
    "big_long_line",
    "big_deep_json",
    "big_pointers",
    "big_yaml_aliases",
    "big_wide_json",
    "big_too_many_files",
)


def big_pack(rng: random.Random, corpus: Corpus, variant: str) -> PackSpec:
    """One pack of the rare 'big' family, a few MB at most, on a seed of the corpus."""
    seed = rng.choice(corpus.seeds)
    spec = seed.spec()
    if variant == "big_event_log":
        n = rng.choice([5_000, 20_000, 40_000])
        lines = []
        for i in range(n):
            event = copy.deepcopy(rng.choice(corpus.events))
            if isinstance(event, dict):
                event["event_id"] = f"evt-big-{i}"
            lines.append(json.dumps(event, separators=(",", ":")).encode("utf-8", "surrogatepass"))
        spec.files[EVENTS] = spec.files.get(EVENTS, b"") + b"\n".join(lines) + b"\n"
    elif variant == "big_many_files":
        for i in range(rng.choice([500, 2_000, 4_000])):
            spec.files[f"artifacts/many/{i // 100:03d}/f{i:05d}.json"] = b"{}"
    elif variant == "big_too_many_files":
        for i in range(10_001):
            spec.files[f"artifacts/many/{i // 500:03d}/f{i:05d}.txt"] = b""
    elif variant == "big_long_line":
        size = rng.choice([1 << 20, 3 << 20])
        line = b'{"event_id":"evt-long","event_type":"x","pad":"' + b"a" * size + b'"}\n'
        spec.files[EVENTS] = spec.files.get(EVENTS, b"") + line
    elif variant == "big_deep_json":
        depth = rng.choice([10_000, 100_000])
        body = b"[" * depth + b"]" * depth
        target = rng.choice([p for p in spec.files if p.endswith(".json")] or [POINTERS])
        if rng.random() < 0.5:
            spec.files[target] = b'{"deep":' + body + b"}"
        else:
            line = b'{"event_id":"evt-deep","x":' + body + b"}\n"
            spec.files[EVENTS] = spec.files.get(EVENTS, b"") + line
    elif variant == "big_pointers":
        pointer = {
            "requirement_id": rng.choice(corpus.requirement_ids),
            "artifact_path": EVENTS,
            "locator": rng.choice(["file:", "line:1", "event_id:evt-budget-001"]),
            "status": "PRESENT",
        }
        n = rng.choice([5_000, 20_000])
        spec.files[POINTERS] = json.dumps({"pointers": [pointer] * n}).encode()
    elif variant == "big_yaml_aliases":
        # a "billion laughs" document: a tree of aliases that expands to 9**depth nodes
        depth = rng.choice([5, 7, 9])
        doc: list[str] = [
            "version: v1",
            'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        ]
        for d in range(1, depth):
            refs = ",".join([f"*a{d - 1}"] * 9)
            doc.append(f"a{d}: &a{d} [{refs}]")
        doc.append(f"verification: {{protect: *a{depth - 1}, allow: *a{depth - 1}}}")
        doc.append(f"budget: {{mission_hard_limit_usd: 10, x: *a{depth - 1}}}")
        spec.files[POLICY] = ("\n".join(doc) + "\n").encode()
    elif variant == "big_wide_json":
        n = rng.choice([50_000, 150_000])
        target = rng.choice([p for p in spec.files if p.endswith(".json")] or [MANIFEST])
        members = ",".join(f'"k{i}":{i}' for i in range(n))
        spec.files[target] = ("{" + members + "}").encode()
    return spec


# -- on disk ----------------------------------------------------------------------------


def _entry_bytes(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def sums_bytes(spec: PackSpec) -> bytes:
    """integrity/sha256sums.txt for the spec as it stands: every regular file (hard links
    included) except the sums file itself and ``integrity/signatures/**``, sorted by the
    bytes of the path, in the ``sha256sum`` format."""
    entries: dict[str, str] = {}
    dirs = {s.path for s in spec.specials if s.kind == "dir"}
    for path, data in spec.files.items():
        if path == SUMS or path in dirs:
            continue
        entries[path] = hashlib.sha256(data).hexdigest()
    for s in spec.specials:
        if s.kind == "hardlink" and s.target in spec.files:
            entries[s.path] = hashlib.sha256(spec.files[s.target]).hexdigest()
    entries = {p: h for p, h in entries.items() if not p.startswith("integrity/signatures/")}
    lines = [
        h.encode() + b"  " + _entry_bytes(p) + b"\n"
        for p, h in sorted(entries.items(), key=lambda kv: _entry_bytes(kv[0]))
    ]
    return b"".join(lines)


def seal_spec(spec: PackSpec) -> None:
    if spec.seal == "reseal":
        spec.files[SUMS] = sums_bytes(spec)


def clear(root: Path) -> None:
    if os.path.lexists(root):
        if root.is_symlink() or not root.is_dir():
            root.unlink()
        else:
            shutil.rmtree(root)


def _mkdirs(root: str, rel: str, made: set[str]) -> None:
    """Create ``root/rel`` folder by folder (no recursion: packs may be very deep)."""
    if not rel or rel in made:
        return
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        if sub in made:
            continue
        try:
            os.mkdir(root + sub)
        except FileExistsError:
            if os.path.islink(root + sub) or not os.path.isdir(root + sub):
                raise
        made.add(sub)


def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def materialise(spec: PackSpec, root: Path) -> list[str]:
    """Write the spec as a folder at ``root`` (replacing what is there). Returns the entries
    that could not be made (a path below a file, a name the file system refuses)."""
    clear(root)
    root.mkdir(parents=True)
    base = str(root) + "/"
    made: set[str] = set()
    skipped: list[str] = []
    for s in spec.specials:
        if s.kind == "dir":
            try:
                _mkdirs(base, s.path, made)
            except OSError:
                skipped.append(s.path)
    for path, data in spec.files.items():
        try:
            _mkdirs(base, path.rpartition("/")[0], made)
            _write(base + path, data)
        except (OSError, ValueError):
            skipped.append(path)
    for s in spec.specials:
        full = root / s.path
        try:
            if s.kind == "dir":
                continue
            _mkdirs(base, s.path.rpartition("/")[0], made)
            if os.path.lexists(full):
                if full.is_dir() and not full.is_symlink():
                    shutil.rmtree(full)
                else:
                    full.unlink()
            if s.kind == "symlink":
                os.symlink(s.target, full)
            elif s.kind == "fifo":
                os.mkfifo(full)
            elif s.kind == "socket":
                os.mknod(full, stat.S_IFSOCK | 0o600)
            elif s.kind == "device":
                os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null
            elif s.kind == "hardlink":
                os.link(root / s.target, full, follow_symlinks=False)
        except (OSError, ValueError):
            skipped.append(s.path)
    return skipped


# -- archive packs (scale.md §1) -----------------------------------------------------------

ARCHIVE_FORMATS = ("tar", "tar.gz", "tgz", "zip")
ARCHIVE_HOSTILITY = (
    "escape",  # ../x, /abs, C:/x, a\\b entry names
    "symlink",  # a symbolic-link entry
    "hardlink",  # a hard-link entry
    "device",  # a character device / FIFO entry
    "dir_as_file",  # a directory entry named like a control file
    "duplicate",  # the same name twice, with other bytes
    "twins",  # names equal after NFC or case folding
    "bomb",  # an entry compressing far beyond 200:1
    "two_tops",  # two top-level folders
    "truncated",  # the archive cut short
    "garbage",  # not an archive at all
    "empty",  # an archive with no entries
)


def _encodable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a non-UTF-8 name: archives here carry UTF-8 names only
    return True


def archive_pack(rng: random.Random, spec: PackSpec, hostile: bool) -> tuple[str, bytes, str]:
    """A pack as an archive: (file name, bytes, what is hostile about it). The entries are
    the spec's regular files (specials become the archive's own link/device entries), at
    the root or under one top-level folder; ``hostile`` adds one archive-level attack."""
    import io
    import tarfile
    import unicodedata
    import warnings
    import zipfile

    fmt = rng.choice(ARCHIVE_FORMATS)
    top = rng.choice(["", "", "pack/", "run-0001/"])
    entries: list[tuple[str, bytes]] = [
        (top + p, b) for p, b in spec.files.items() if _encodable(p)
    ]
    extra: list[tuple[str, str, str]] = []  # (kind, name, target) for non-regular entries
    for s in spec.specials:
        if s.kind in ("symlink", "hardlink", "fifo", "device", "dir") and _encodable(s.path):
            extra.append((s.kind, top + s.path, s.target))
    attack = rng.choice(ARCHIVE_HOSTILITY) if hostile else "none"
    if attack == "escape":
        name = rng.choice(["../escape.json", "/abs.json", "C:/x.json", "a\\b.json", "./../x.json"])
        entries.append((name, b"{}"))
    elif attack == "symlink":
        extra.append(("symlink", top + rng.choice(["link.json", MANIFEST]), "/etc/passwd"))
    elif attack == "hardlink":
        extra.append(("hardlink", top + "hard.json", top + MANIFEST))
    elif attack == "device":
        extra.append((rng.choice(["device", "fifo"]), top + "dev.json", ""))
    elif attack == "dir_as_file":
        extra.append(("dir", top + rng.choice([MANIFEST, EVENTS, SUMS]), ""))
    elif attack == "duplicate" and entries:
        name, data = rng.choice(entries)
        entries.append((name, data + b" "))
    elif attack == "twins":
        base = rng.choice(["é.json", "Manifest.json", "A.json"])
        twin = unicodedata.normalize("NFD", base) if "é" in base else base.swapcase()
        entries += [(top + base, b"{}"), (top + twin, b"[]")]
    elif attack == "bomb":
        entries.append((top + "artifacts/bomb.txt", b"\0" * rng.choice([1 << 20, 8 << 20])))
    elif attack == "two_tops":
        entries.append(("other/x.json", b"{}"))
    buf = io.BytesIO()
    if fmt == "zip":
        with (
            warnings.catch_warnings(),  # a duplicate name is the point of "duplicate"
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf,
        ):
            warnings.simplefilter("ignore")
            for name, data in entries:
                entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(entry, data)
            for kind, name, target in extra:
                zinfo = zipfile.ZipInfo(
                    name + ("/" if kind == "dir" else ""), (1980, 1, 1, 0, 0, 0)
                )
                mode = {
                    "symlink": stat.S_IFLNK | 0o777,
                    "fifo": stat.S_IFIFO | 0o644,
                    "device": stat.S_IFCHR | 0o644,
                    "dir": stat.S_IFDIR | 0o755,
                    "hardlink": stat.S_IFREG | 0o644,
                }[kind]
                zinfo.external_attr = mode << 16
                zf.writestr(zinfo, target.encode("utf-8", "surrogateescape"))
    else:
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for name, data in entries:
                tinfo = tarfile.TarInfo(name)
                tinfo.size = len(data)
                tinfo.mtime = 0
                tf.addfile(tinfo, io.BytesIO(data))
            for kind, name, target in extra:
                tinfo = tarfile.TarInfo(name)
                tinfo.mtime = 0
                tinfo.type = {
                    "symlink": tarfile.SYMTYPE,
                    "hardlink": tarfile.LNKTYPE,
                    "fifo": tarfile.FIFOTYPE,
                    "device": tarfile.CHRTYPE,
                    "dir": tarfile.DIRTYPE,
                }[kind]
                tinfo.linkname = target
                tf.addfile(tinfo)
    data = buf.getvalue()
    if fmt in ("tar.gz", "tgz"):
        import gzip

        data = gzip.compress(data, mtime=0)  # no time stamp: the same bytes every run
    if attack == "truncated":
        data = data[: rng.randrange(len(data) + 1)]
    elif attack == "garbage":
        data = rng.choice([b"", b"not an archive", rng.randbytes(512)])
    elif attack == "empty":
        data = {"zip": b"PK\x05\x06" + b"\0" * 18}.get(fmt, b"\0" * 1024)
    return f"fuzzpack.{fmt}", data, f"{fmt}{' under ' + top if top else ''} {attack}"
