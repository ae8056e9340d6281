"""What a worker does with a chunk of packs: judge each one, never raise.

``judge_chunk(chunk) -> list[Record]`` is the batch's one work function, top-level and
picklable, whatever the engine (the local pool, Dask). Each pack is opened with
``engine.pipeline.opened_pack`` and judged with ``judge`` under this process's catalog
(``tools.pool.catalog_for``); ``--waivers``/``--as-of`` are applied with ``apply_waivers``;
with ``--attest`` one signed bundle per pack is written. An exception in one pack makes
that pack's error record (one line), never the chunk's failure.

A results line is canonical JSON (RFC 8785) ``{"corpus": I, "path": P, "ruling": R}`` with
``R`` the canonical ruling, the bytes ``vlab adjudicate --format json`` prints (JCS is
compositional: the ruling's bytes inside the line are its own); a pack that could not be
judged is ``{"corpus": I, "error": E, "path": P}`` (decision 241).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from vlab.core.canonical import canonical_bytes
from vlab.tools.batch.engines import ERROR_CHARS

if TYPE_CHECKING:
    from vlab.engine.waivers import WaiverSet
    from vlab.pack.signatures import Signer
    from vlab.ruleset.catalog import Catalog
    from vlab.ruleset.model import Ruleset

# Tests only: "FILE" appends each judged pack's path to FILE (one line an attempt);
# "FILE:PATH:N" also ends the worker (os._exit) while PATH has been attempted at most N times;
# "FILE:PATH:pause" holds PATH's worker until FILE.go exists (at most PAUSE_LIMIT_S).
HOOK_ENV = "VLAB_TEST_BATCH_HOOK"
BUNDLE_SUFFIX = ".intoto.jsonl"
PAUSE_LIMIT_S = 120.0  # a liveness bound for the test pause, never reached by a passing test
NAME_BYTES = 200  # a bundle name longer than this is named by a digest of the path


@dataclass(frozen=True)
class Settings:
    """What every pack of a batch is judged with (read once, in the parent)."""

    rulesets_dirs: tuple[str, ...] = ()
    rulesets_path: str | None = None  # the parent's VLAB_RULESETS_PATH, applied in workers
    ruleset: str | None = None  # --ruleset: an id, or an absolute path to a ruleset
    waivers: WaiverSet | None = None
    as_of: str | None = None
    attest_dir: str | None = None  # absolute
    sign_key: str | None = None  # absolute path of the private key
    time_verified: str | None = None  # the VSAs' timeVerified (one for the batch)
    hook: str | None = None  # HOOK_ENV of the parent (tests)


@dataclass(frozen=True)
class Item:
    index: int  # position in the plan
    corpus: int
    rel: str
    shown: str  # rel as results show it
    path: str
    expect: str | None = None  # --resume: the kept ruling's pack digest (None: judge)


@dataclass(frozen=True)
class Chunk:
    settings: Settings
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Record:
    """One pack's outcome: its results line, and what the summary counts."""

    index: int
    line: bytes | None  # None when ``kept`` (the parent has the line)
    kept: bool = False
    topline: str | None = None
    clauses: tuple[tuple[str, str], ...] = ()  # (clause_id, status)
    reason_codes: tuple[str, ...] = ()
    error: str | None = None
    attestation: str | None = None  # bundle file name in --attest DIR


def error_line(corpus: int, shown: str, error: str) -> bytes:
    return canonical_bytes({"corpus": corpus, "error": error, "path": shown})


def ruling_line(corpus: int, shown: str, ruling_bytes: bytes) -> bytes:
    """The results line of a ruling: the canonical ruling's own bytes inside (keys in
    RFC 8785 order: corpus, path, ruling)."""
    head = canonical_bytes({"corpus": corpus, "path": shown})
    return head[:-1] + b',"ruling":' + ruling_bytes + b"}"


def bundle_name(corpus: int, rel: str) -> str:
    """The attestation bundle's file name of a pack: ``<corpus>-<path percent-encoded>``
    (``/`` too: one flat folder, no name can leave it), a leading dot encoded (no hidden
    files); a long path is named by its digest instead (decision 243)."""
    raw = rel.encode("utf-8", "surrogateescape")
    name = quote(raw, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > NAME_BYTES:
        name = "sha256-" + hashlib.sha256(raw).hexdigest()
    return f"{corpus}-{name}{BUNDLE_SUFFIX}"


def one_line(exc: BaseException) -> str:
    """An error record's line: the engines' ``Type: first line``, but vlab's own usage
    errors as their message alone (they are written for people)."""
    from vlab.core.errors import UsageError
    from vlab.tools.batch.engines import one_line as typed_line

    if not isinstance(exc, UsageError):
        return typed_line(exc)
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "")[:ERROR_CHARS]


# -- per process: the catalog, the override ruleset, the signer ---------------------------

_overrides: dict[tuple[Any, ...], Ruleset] = {}
_signers: dict[str, Signer] = {}


def _catalog(settings: Settings) -> Catalog:
    from vlab.ruleset.catalog import PATH_ENV
    from vlab.tools.pool import catalog_for

    # The parent's environment, not this worker's: a forkserver's workers inherit the
    # environment the server started with.
    if settings.rulesets_path is None:
        os.environ.pop(PATH_ENV, None)
    else:
        os.environ[PATH_ENV] = settings.rulesets_path
    return catalog_for(settings.rulesets_dirs)


def _override(settings: Settings, catalog: Catalog) -> Ruleset | None:
    if settings.ruleset is None:
        return None
    key = (settings.rulesets_path, settings.rulesets_dirs, settings.ruleset)
    if key not in _overrides:
        _overrides[key] = catalog.resolve(settings.ruleset)
    return _overrides[key]


def _signer(settings: Settings) -> Signer | None:
    if settings.sign_key is None or settings.attest_dir is None:
        return None
    if settings.sign_key not in _signers:
        from vlab.pack.signatures import key_signer

        _signers[settings.sign_key] = key_signer(Path(settings.sign_key))
    return _signers[settings.sign_key]


# -- the work function ----------------------------------------------------------------


def judge_chunk(chunk: Chunk) -> list[Record]:
    """Every pack of the chunk judged, in chunk order; never raises (an error in a pack
    is that pack's error record, an error before any pack is every pack's)."""
    try:
        catalog = _catalog(chunk.settings)
        override = _override(chunk.settings, catalog)
        signer = _signer(chunk.settings)
    except Exception as exc:  # every pack could not be judged, and why
        why = one_line(exc)
        return [Record(i.index, error_line(i.corpus, i.shown, why), error=why) for i in chunk.items]
    return [_one(item, chunk.settings, catalog, override, signer) for item in chunk.items]


def _one(
    item: Item,
    settings: Settings,
    catalog: Catalog,
    override: Ruleset | None,
    signer: Signer | None,
) -> Record:
    try:
        if item.expect is not None and current_digest(item.path, catalog) == item.expect:
            return Record(item.index, None, kept=True)
        _hook(settings.hook, item.rel)
        return _judged(item, settings, catalog, override, signer)
    except Exception as exc:  # one pack's failure never stops the others
        why = one_line(exc).replace(item.path, item.shown)  # no absolute path in results
        return Record(item.index, error_line(item.corpus, item.shown, why), error=why)


def _judged(
    item: Item,
    settings: Settings,
    catalog: Catalog,
    override: Ruleset | None,
    signer: Signer | None,
) -> Record:
    from vlab.engine.pipeline import judge, opened_pack
    from vlab.engine.ruling import sealed_json

    with opened_pack(Path(item.path)) as reader:  # sealed below, once
        ruling = judge(reader, catalog, override=override, digest=False).ruling
    if settings.waivers is not None and settings.as_of is not None:
        from vlab.engine.waivers import apply_waivers

        ruling = apply_waivers(ruling, settings.waivers, settings.as_of)
    ruling, ruling_bytes = sealed_json(ruling)
    attestation = None
    if signer is not None and settings.attest_dir is not None:
        from vlab.tools.attest import attestation_bundle

        assert settings.time_verified is not None
        attestation = bundle_name(item.corpus, item.rel)
        bundle = attestation_bundle(ruling, signer, settings.time_verified)
        write_whole(Path(settings.attest_dir) / attestation, bundle)
    return Record(
        item.index,
        ruling_line(item.corpus, item.shown, ruling_bytes),
        topline=ruling.topline,
        clauses=tuple((c.clause_id, c.status) for c in ruling.clauses),
        reason_codes=ruling.reason_codes,
        attestation=attestation,
    )


def write_whole(path: Path, data: bytes) -> None:
    """Write a file so that it is either absent or whole (a temporary name, then a rename):
    a worker killed mid-write leaves no torn bundle."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def current_digest(path: str, catalog: Catalog) -> str | None:
    """The pack digest the pack at ``path`` has now, by the SECURITY and INTEGRITY gates'
    own code (every file hashed, the sums checked), with nothing parsed or evaluated; None
    when those gates would refuse it (its ruling is then re-made: decision 245)."""
    from vlab.engine.admission import integrity, security
    from vlab.engine.admission.context import GateContext
    from vlab.engine.pipeline import opened_pack

    with opened_pack(Path(path)) as reader:
        ctx = GateContext(reader, catalog.get)
        if any(not d.advisory for d in security.run(ctx)):
            return None
        if integrity.run(ctx):
            return None
        return ctx.result.digest


def _hook(hook: str | None, rel: str) -> None:
    """Tests only (HOOK_ENV): count this attempt, and end the worker when told to."""
    if not hook:
        return
    target, _, rest = hook.partition(":")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, rel.encode("utf-8", "surrogateescape") + b"\n")
    finally:
        os.close(fd)
    if rest:
        name, _, times = rest.rpartition(":")
        if name == rel and times == "pause":
            import time

            limit = time.monotonic() + PAUSE_LIMIT_S
            while not os.path.exists(target + ".go") and time.monotonic() < limit:
                time.sleep(0.01)
        elif name == rel:
            attempts = Path(target).read_bytes().split(b"\n").count(name.encode("utf-8"))
            if attempts <= int(times):
                os._exit(17)
