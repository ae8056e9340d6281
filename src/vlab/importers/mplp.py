"""Importer for the MPLP Validation Lab (importers.md §3): its run folders and packs.

``vlab import mplp RUN_DIR [--repo ROOT]``. RUN_DIR is one upstream run folder
(Coregentis/MPLP-Validation-Lab at f845bde: ``data/runs/<id>`` — the arb-*-v0.3/v0.4
arbitration runs, the v05 producer runs, the mcp-*/pydantic-ai-* runs whose ``pack_root``
points into ``public/data/runs/<id>/pack``, the gf-* runs —, ``test-vectors/v0.5/<D>/<V>/<name>``,
``fixtures/packs/<name>`` and the other folders that hold a pack). ROOT is the upstream
checkout: a ``pack_root`` (bundle.manifest.json) or ``pack_path`` (input.pointer.json)
that leaves RUN_DIR is followed only into ROOT, never out of it.

Native layout (``native/mplp/``), fixed:

- every file of RUN_DIR at its path relative to RUN_DIR, byte for byte (placeholders and
  ``integrity/pack.sha256`` too: they stay native evidence, only the derived view leaves
  them out);
- ``_repo/<path relative to ROOT>``: every file of a pack root outside RUN_DIR.

Options recorded (never a machine path): ``pack_root``, the ROOT-relative folder of a pack
root outside RUN_DIR, or ``pack_dir``, the RUN_DIR-relative folder of one inside it (where
the written ``pack_root`` leads, e.g. ``../../../public/data/runs/<id>/pack`` seen from
``public/data/runs/<id>``).

Derived (a pure function of those bytes and that option):

- ``trace/events.ndjson``: one record per non-blank line of the run's event log (the
  manifest's ``trace``/``timeline``, else ``timeline/events.ndjson``, else
  ``trace/events.ndjson`` under the pack root; a placeholder log is passed over), upstream's
  fields as written plus vlab's names for two of them (``decision_outcome`` from
  ``outcome``/``result``, ``terminate_reason`` from ``termination_reason``, only when the
  event lacks them) and ``source``; upstream's own ``source`` becomes ``upstream_source``;
  a record without a string ``event_id`` (or one that does not parse) gets
  ``mplp-line-<native line>``, marked ``event_id_from``.
  Line N is upstream's ``line:N`` (upstream counts non-blank lines).
- ``artifacts/mplp/timeline.json``: the log's ``line``, ``event_id``, ``event_type`` and
  ``timestamp`` per record, for the ordering clauses of mplp-compat-1.3 (a ruleset
  expression reads a JSON artifact whole; an NDJSON log only one pointed record at a time).
- ``evidence_pointers.json``: upstream's pointers, every event locator addressing the log
  (upstream's resolver reads no other file), ``canonptr:v1:`` translated to
  ``event_id:`` by recomputing upstream's digest (lib/evidence/canonptr.ts); one that
  matches no event becomes ``event_id:<the canonptr>``, which resolves to nothing, so the
  producer's bug shows. Upstream's RQ-Dn-01 is vlab's RQ-Dn-01 (vlab's ruleset-1.1 took
  upstream's ERCs); upstream's ruleset-1.2 clauses CL-Dn-02/03 (requirements RQ-Dn-02/03,
  which mean something else in vlab) judge RQ-Dn-01's evidence, so each RQ-Dn-01 pointer
  is also written for RQ-MPLPDn-02 and RQ-MPLPDn-03.
- ``scenario_meta``: ``target_domains`` (the domains the run declares: bundle
  ``scenario_meta.domain``, a vector's ``domain``, else a ``dN`` word of the producer's
  scenario or of the run id, as upstream's own applicability reads run ids),
  ``upstream_ruleset`` (the upstream ruleset the run was recorded under) and vlab's flags.
- ``import.json``: upstream's verdicts and expectations (claims, never answers), the files
  left out of the derived view, and ``evidence.upstream_integrity``: every entry of every
  upstream ``integrity/sha256sums.txt`` (the pack root's and the run folder's, read as
  upstream's verifier reads them) checked against the native bytes, and every file the
  view is read from (the log, the files pointers name, the files that shape the view)
  checked to be listed. The CONTRACT gate turns each problem into a detail under every
  ruleset: evidence that breaks the seal refuses the pack, a claim that does or a file the
  sums do not list is an advisory (governance/importers/mplp.md B.9).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.timestamps import utc_micros
from vlab.importers.base import (
    EPOCH,
    JSON,
    Collected,
    Derived,
    Importer,
    ImportRefused,
    json_bytes,
    lines,
    load_json,
    native_path,
    ndjson_bytes,
    read_native,
    source,
)
from vlab.importers.base import scenario as base_scenario
from vlab.importers.mplp_js import JS_SPACE, canonptr_index
from vlab.pack.limits import unsafe_path_reason

SYSTEM = "mplp"
REPO = "_repo"  # native/mplp/_repo/<ROOT-relative path>: a pack root outside RUN_DIR
LOG = "trace/events.ndjson"
TIMELINE = "artifacts/mplp/timeline.json"
MAX_FILES = 1000  # upstream's own bound on a pack (lib/engine/types.ts MAX_FILE_COUNT)
MAX_BYTES = 50 * 1024 * 1024  # upstream's own bound on a pack (MAX_PACK_SIZE_BYTES)
EXPECTED = (
    "expected an MPLP Validation Lab run folder (bundle.manifest.json, manifest.json, "
    "vector.manifest.json, input.pointer.json or timeline/events.ndjson)"
)
MARKERS = (
    "bundle.manifest.json",
    "manifest.json",
    "vector.manifest.json",
    "input.pointer.json",
    "timeline/events.ndjson",
    "trace/events.ndjson",
    "pack/manifest.json",
    "pack/trace/events.ndjson",
)
BUNDLE = "bundle.manifest.json"
POINTERS = "evidence_pointers.json"
VECTOR = "vector.manifest.json"
PRODUCER = "producer-run.manifest.json"
VERDICT = "verdict.json"
INPUT_POINTER = "input.pointer.json"
SUMS = "integrity/sha256sums.txt"
PACK_HASH = "integrity/pack.sha256"
REPORTS = ("evaluation.report.json", "evaluate.report.json", "verify.report.json")
# Files kept only as claims (never evidence): upstream's seal failing on one of them is an
# advisory (decision 171); failing on anything else refuses the pack.
CLAIM_FILES = (VERDICT, *REPORTS)
# Upstream's placeholders (its v1.0.1 "link integrity" pass, af0fcb8, wrote them over or
# beside real evidence): recognised by their exact shapes, never by name alone.
PLACEHOLDER_EVENT = "Placeholder event"
PLACEHOLDER_VERDICT = "Placeholder generated for link integrity"
# Upstream requirement ids -> the mplp-compat-1.3 requirements judging the same evidence.
_RQ01 = re.compile(r"RQ-D([1-4])-01")
# A sums line as upstream's verifier reads it (lib/engine/verify.ts: /^([a-f0-9]{64})\s+(.+)$/,
# JavaScript's \s; ``.`` stops at a line terminator); sha256sum's upper case and ``*`` too.
_HASH_LINE = re.compile(f"([0-9a-fA-F]{{64}})[{JS_SPACE}]+\\*?([^\\n\\r\u2028\u2029]+)")
SUMS_PLACEHOLDER = "# Empty Integrity"  # the whole of upstream's placeholder sums file
_DOMAIN_WORD = re.compile(r"d([1-4])")
_RULESET = re.compile(r"(?:ruleset-)?(\d+\.\d+)(?:\.\d+)?")
MAX_CLAIM_DEPTH = 6


# -- collect: read RUN_DIR (and, through --repo, an outside pack root) ------------------------


def _walk(root: Path, what: str) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` (POSIX paths relative to it, sorted); a symlink
    or anything else that is not a plain file or folder is refused, never followed, and so
    are names a pack cannot hold as they are: not UTF-8, or the same text as another name
    once Unicode-normalized (NFC: one file on a normalizing file system)."""
    found: list[tuple[str, Path]] = []
    size = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):
            _utf8_name(base / name, what)
            if (base / name).is_symlink():
                raise ImportRefused(
                    _shown(base / name), f"a symlink in {what}; expected plain files"
                )
        dirs.sort()
        for name in sorted(files):
            path = base / name
            _utf8_name(path, what)
            if path.is_symlink() or not path.is_file():
                raise ImportRefused(str(path), f"not a plain file in {what}; expected plain files")
            found.append((path.relative_to(root).as_posix(), path))
            size += path.lstat().st_size
            if len(found) > MAX_FILES or size > MAX_BYTES:
                raise ImportRefused(
                    str(root),
                    f"more than {MAX_FILES} files or {MAX_BYTES} bytes; an MPLP pack holds "
                    "at most that many (upstream's MAX_FILE_COUNT, MAX_PACK_SIZE_BYTES)",
                )
    found.sort(key=lambda item: item[0].encode("utf-8"))
    seen: dict[str, str] = {}
    for rel, path in found:
        other = seen.setdefault(unicodedata.normalize("NFC", rel), rel)
        if other != rel:
            raise ImportRefused(
                str(path), f"the same name as {other} once Unicode-normalized (NFC) in {what}"
            )
    return found


def _utf8_name(path: Path, what: str) -> None:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportRefused(_shown(path), f"a file name that is not UTF-8 in {what}") from None


def _shown(path: Path) -> str:
    """A path as printable text (a name's undecodable bytes as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _nested_runs(rels: list[str]) -> list[str]:
    """Folders below the run folder that are run folders themselves (a container such as
    data/runs/v2 or test-vectors/cross-substrate/gf-01/<substrate>)."""
    present = set(rels)
    nested = set()
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        if not folder or folder == "pack" or name != "manifest.json":
            continue
        if f"{folder}/timeline/events.ndjson" in present or f"{folder}/{SUMS}" in present:
            nested.add(folder)
    return sorted(nested)


def _lenient_json(data: bytes) -> Any:
    try:
        return load_json(data)
    except (strictjson.StrictJSONError, ValueError, RecursionError):
        return None


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    if len(sources) != 1:
        raise UsageError("vlab import mplp takes one SOURCE: an upstream run folder")
    run = sources[0]
    if not run.is_dir():
        raise ImportRefused(str(run), f"not a folder; {EXPECTED}")
    repo_opt = options.get("repo")
    repo: Path | None = None
    if repo_opt is not None:
        repo = Path(repo_opt)
        if not repo.is_dir():
            raise UsageError(f"--repo {repo_opt}: no such folder")
        if not _inside(run.resolve(), repo.resolve()):
            raise ImportRefused(str(run), f"RUN_DIR is outside --repo {repo_opt}")
    files = _walk(run, "the run folder")
    rels = [rel for rel, _ in files]
    if not any(m in rels for m in MARKERS):
        raise ImportRefused(str(run), EXPECTED)
    nested = _nested_runs(rels)
    if nested:
        raise ImportRefused(
            str(run),
            f"holds {len(nested)} run folder(s) ({nested[0]}, ...); import each of them",
        )
    native: dict[str, bytes] = {}
    for rel, path in files:
        unsafe = unsafe_path_reason(native_path(SYSTEM, rel))
        if unsafe is not None or rel.split("/", 1)[0] == REPO:
            raise ImportRefused(str(path), f"not a name an imported pack can hold ({unsafe})")
        native[rel] = _read(path, "a file of the run folder", native)
    recorded: JSON = {}
    located = _pack_location(run, repo, native)
    if located is not None and located[0] == "pack_dir":
        recorded["pack_dir"] = located[1]
    elif located is not None:
        _, root, target = located
        for rel, path in _walk(target, "the pack root"):
            name = f"{REPO}/{root}/{rel}"
            unsafe = unsafe_path_reason(native_path(SYSTEM, name))
            if unsafe is not None:
                raise ImportRefused(str(path), f"not a name an imported pack can hold ({unsafe})")
            native[name] = _read(path, "a file of the pack root", native)
        recorded["pack_root"] = root
    return Collected(native, recorded)


def _read(path: Path, what: str, read: Mapping[str, bytes]) -> bytes:
    """One file, bounded (importers' ``read_native``), and everything read so far bounded
    by upstream's own pack size twice over (the run folder and a pack root), even when a
    file grows after it was listed."""
    data = read_native(path, what)
    if len(data) + sum(map(len, read.values())) > 2 * MAX_BYTES:
        raise ImportRefused(str(path), f"at most {2 * MAX_BYTES} bytes read for one run")
    return data


def _pack_location(
    run: Path, repo: Path | None, native: Mapping[str, bytes]
) -> tuple[str, str, Path] | None:
    """Where bundle.manifest.json's ``pack_root`` (else input.pointer.json's ``pack_path``)
    leads: ``("pack_dir", RUN_DIR-relative, folder)`` inside RUN_DIR, ``("pack_root",
    ROOT-relative, folder)`` outside it, None when there is none or it names no folder.
    Refused when it leaves ROOT, or leaves RUN_DIR and no ROOT was given."""
    pointer: tuple[str, str, Path] | None = None  # (file, as written, where it points)
    bundle = _lenient_json(native[BUNDLE]) if BUNDLE in native else None
    pack_root = bundle.get("pack_root") if isinstance(bundle, dict) else None
    if isinstance(pack_root, str) and pack_root.strip():
        pointer = (BUNDLE, pack_root, run / pack_root)
    else:
        inp = _lenient_json(native[INPUT_POINTER]) if INPUT_POINTER in native else None
        pack_path = inp.get("pack_path") if isinstance(inp, dict) else None
        if isinstance(pack_path, str) and pack_path.strip():
            if repo is None:
                raise ImportRefused(
                    str(run / INPUT_POINTER),
                    f"pack_path {pack_path!r} is relative to the upstream checkout: "
                    "give --repo ROOT",
                )
            pointer = (INPUT_POINTER, pack_path, repo / pack_path)
    if pointer is None:
        return None
    name, written, target = pointer
    lexical = Path(os.path.normpath(target))
    home = run.resolve()
    if _inside(lexical.resolve(), home):
        real = lexical.resolve()
        inner = real.relative_to(home).as_posix()
        return ("pack_dir", inner, real) if real.is_dir() and inner != "." else None
    if repo is None:
        raise ImportRefused(
            str(run / name),
            f"{'pack_root' if name == BUNDLE else 'pack_path'} {written!r} leaves RUN_DIR: "
            "give --repo ROOT (the upstream checkout it points into)",
        )
    real = lexical.resolve()
    if not _inside(real, repo.resolve()):
        raise ImportRefused(str(run / name), f"{written!r} leaves --repo {repo}")
    if not real.is_dir():
        return None  # names nothing: the derived view says so
    return "pack_root", real.relative_to(repo.resolve()).as_posix(), real


# -- derive: a pure function of the native bytes and the options ------------------------------


def _doc(native: Mapping[str, bytes], rel: str) -> Any:
    return _lenient_json(native[rel]) if rel in native else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def claim(value: Any, depth: int = 0) -> Any:
    """A parsed upstream value as strict, shallow JSON for import.json (fractions as their
    exact text, objects below ``MAX_CLAIM_DEPTH`` only named)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        if depth >= MAX_CLAIM_DEPTH:
            return "<object>"
        return {str(k): claim(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= MAX_CLAIM_DEPTH:
            return "<array>"
        return [claim(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<integer of {value.bit_length()} bits>"
    return value


class Layout:
    """Where the pack is inside the native files, and how upstream's paths map onto them."""

    def __init__(self, native: Mapping[str, bytes], options: Mapping[str, Any]) -> None:
        self.native = native
        bundle = _doc(native, BUNDLE)
        self.bundle: JSON = bundle if isinstance(bundle, dict) else {}
        written = self.bundle.get("pack_root")
        self.pack_root = written.strip().strip("/") if isinstance(written, str) else None
        outside, inside = options.get("pack_root"), options.get("pack_dir")
        self.root = ""
        if isinstance(outside, str) and outside:
            self.root = f"{REPO}/{outside}/"
            self.kind = f"pack root outside RUN_DIR (ROOT/{outside})"
        elif isinstance(inside, str) and inside and self._folder(inside):
            self.root = inside + "/"
            self.kind = f"pack root {inside}/ (pack_root {written!r})"
        elif self.pack_root and _normal(self.pack_root) is not None and self.pack_root != ".":
            self.kind = (
                f"pack_root {written!r} names no folder: the pack's files are at the run "
                "folder's root (upstream flattened pack/ there at 737bf26)"
            )
        elif self.pack_root and self.pack_root != ".":
            self.pack_root = None  # leads nowhere: upstream's loader finds no log there either
            self.kind = f"pack_root {written!r} names no folder; the run folder's files are read"
        else:
            self.kind = "pack at the run folder's root"

    def _folder(self, rel: str) -> bool:
        safe = _normal(rel)
        return safe is not None and any(p.startswith(safe + "/") for p in self.native)

    def find(self, written: Any, base: str | None = None) -> str | None:
        """The native file an upstream path names (relative to the pack root, to the run
        folder, or with the pack_root prefix that a flattened layout lost), or None."""
        if not isinstance(written, str):
            return None
        rel = _normal(written)
        if rel is None:
            return None
        roots = [self.root if base is None else base]
        candidates = [r + rel for r in roots]
        prefix = (self.pack_root or "") + "/"
        if self.pack_root and rel.startswith(prefix):
            candidates += [r + rel[len(prefix) :] for r in roots]
        candidates += [rel]
        return next((c for c in candidates if c in self.native), None)


def _normal(written: str) -> str | None:
    """A relative upstream path in normal form, or None when it leaves its folder."""
    if not written or written.startswith("/") or "\\" in written:
        return None
    path = posixpath.normpath(written)
    if path == "." or path.startswith("../") or path == "..":
        return None
    return path


def placeholder(rel: str, data: bytes) -> str | None:
    """The kind of upstream placeholder ``rel`` is, or None for real evidence."""
    name = rel.rsplit("/", 1)[-1]
    if rel.endswith(PACK_HASH):
        return "integrity/pack.sha256 (vlab computes the pack digest)"
    if rel.endswith(SUMS):
        if data.decode("utf-8", "replace").strip(JS_SPACE) == SUMS_PLACEHOLDER:
            return f"an integrity file that says only {SUMS_PLACEHOLDER!r}"
        return None
    if name.endswith(".ndjson"):
        records = [r for _, r, _ in lines(data) if not _blank(r)]
        if len(records) == 1:
            event = _lenient_json(records[0])
            payload = event.get("payload") if isinstance(event, dict) else None
            if isinstance(payload, dict) and payload.get("message") == PLACEHOLDER_EVENT:
                return "a log holding one placeholder event"
        return None
    if name.endswith(".json"):
        doc = _lenient_json(data)
        if doc == {} and "/artifacts/" in f"/{rel}":
            return "an empty artifact ({})"
        if isinstance(doc, dict) and doc.get("reason") == PLACEHOLDER_VERDICT:
            return "a placeholder verdict"
    return None


# -- the event log ----------------------------------------------------------------------------


def _trace(
    layout: Layout, manifest: Any, dropped: dict[str, str]
) -> tuple[str | None, list[str], list[str]]:
    """The native event log the view is built from, why others were passed over, and the
    other real logs it was chosen before (upstream integrity asks which one is sealed)."""
    passed: list[str] = []
    declared = []
    if isinstance(manifest, dict):
        # an upstream log is NDJSON: a manifest naming anything else names no log
        declared = [w for w in (manifest.get("trace"), manifest.get("timeline")) if _ndjson_name(w)]
    candidates = [*declared, "timeline/events.ndjson", "trace/events.ndjson"]
    seen: set[str] = set()
    chosen: str | None = None
    others: list[str] = []
    for base in (layout.root, ""):
        for written in candidates:
            rel = layout.find(written, base)
            if rel is None or rel in seen:
                continue
            seen.add(rel)
            if rel in dropped:
                if chosen is None:
                    passed.append(f"{native_path(SYSTEM, rel)} ({dropped[rel]})")
            elif chosen is None:
                chosen = rel
            else:
                others.append(rel)
    return chosen, passed, others


def _ndjson_name(written: Any) -> bool:
    return isinstance(written, str) and written.strip().endswith((".ndjson", ".jsonl"))


def _blank(raw: bytes) -> bool:
    """A line upstream's loader drops (``line.trim()`` is empty: JavaScript's white space,
    NBSP and U+FEFF included), so it takes no ``line:N``."""
    return not raw.decode("utf-8", "replace").strip(JS_SPACE)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# JSON.parse keeps the last of a repeated key; everything else as strict as strictjson.
_LAST_WINS = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)


def _event(raw: bytes) -> tuple[Any, str | None, list[str]]:
    """(the event as upstream's loader parses the line, why it does not parse, the keys
    that repeat: JSON.parse keeps the last value of each, so upstream does too)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 at byte {exc.start}", []
    repeated: list[str] = []
    try:
        value = strictjson.loads(raw)
    except strictjson.StrictJSONError as exc:
        if exc.code != "CONTRACT-DUPLICATE-KEY":
            return None, f"not JSON: {str(exc)[:160]}", []
        try:  # strictjson has checked its depth and size bounds before it met the key
            value = _LAST_WINS.decode(raw.decode("utf-8"))
        except (ValueError, RecursionError, ArithmeticError) as again:
            return None, f"not JSON: {str(again)[:160]}", []
        if strictjson.has_lone_surrogate(value):
            return None, "not JSON: a string holds a lone surrogate escape", []
        repeated = [exc.message[:160]]
    except (ValueError, RecursionError) as exc:
        return None, f"not JSON: {type(exc).__name__}", []
    if not isinstance(value, dict):
        return None, "not a JSON object", []
    return value, None, repeated


def _records(data: bytes, path: str) -> tuple[list[JSON], list[tuple[int, Any]], list[int]]:
    """Derived records (one per non-blank line), (derived line, upstream event) pairs for
    canonptr, and the native lines that did not parse."""
    parsed = [(number, *_event(raw)) for number, raw, _ in lines(data) if not _blank(raw)]
    # upstream's blank-line filter: its line:N counts non-blank lines
    taken = {e["event_id"] for _, e, _, _ in parsed if isinstance(e, dict) and _own_id(e)}
    records: list[JSON] = []
    events: list[tuple[int, Any]] = []
    damaged: list[int] = []
    for number, event, why, repeated in parsed:
        where = source(path, line=number)
        if why is not None:
            damaged.append(number)
            records.append(
                {
                    "event_id": _line_id(number, taken),
                    "event_id_from": "native line",
                    "source": where,
                    "unparseable": why,
                }
            )
            continue
        record: JSON = {}
        for key, value in event.items():
            record["upstream_source" if key == "source" else key] = claim(value)
        if not _own_id(event):
            # a log record needs an id (contract 1.2): one of its native line, marked
            if "event_id" in event:
                record["upstream_event_id"] = record.pop("event_id")
            record["event_id"] = _line_id(number, taken)
            record["event_id_from"] = "native line"
        outcome = next((event[k] for k in ("outcome", "result") if k in event), None)
        if "decision_outcome" not in event and outcome is not None:
            record["decision_outcome"] = claim(outcome)
        if "terminate_reason" not in event and "termination_reason" in event:
            record["terminate_reason"] = claim(event["termination_reason"])
        if repeated:
            record["upstream_repeated_key"] = f"{repeated[0]} (JSON.parse keeps the last value)"
        record["source"] = where
        records.append(record)
        events.append((len(records), event))
    return records, events, damaged


def _own_id(event: Mapping[str, Any]) -> bool:
    return isinstance(event.get("event_id"), str) and event["event_id"] != ""


def _line_id(number: int, taken: set[str]) -> str:
    """``mplp-line-<native line>``, or with a suffix when upstream's own ids hold that
    text already (vlab must not make two records one id)."""
    text, n = f"mplp-line-{number}", 1
    while text in taken:
        n += 1
        text = f"mplp-line-{number}-{n}"
    taken.add(text)
    return text


def _timeline(records: list[JSON]) -> JSON:
    return {
        "log": LOG,
        "events": [
            {
                "line": i,
                "event_id": r.get("event_id"),
                "event_type": r.get("event_type"),
                "timestamp": r.get("timestamp"),
            }
            for i, r in enumerate(records, 1)
        ],
    }


# -- pointers ---------------------------------------------------------------------------------


def _pointers(
    raw: Any,
    layout: Layout,
    trace_rel: str | None,
    canon: dict[str, tuple[int, Any]],
) -> tuple[list[JSON], list[JSON], set[str]]:
    """vlab's pointers, how each upstream pointer was translated, and the native files
    (other than the log) they point into."""
    doc = raw.get("pointers") if isinstance(raw, dict) else None
    if not isinstance(doc, list):
        return [], [], set()
    out: list[JSON] = []
    translated: list[JSON] = []
    targets: set[str] = set()
    for i, p in enumerate(doc):
        if not isinstance(p, dict):
            translated.append({"index": i, "skipped": "not a JSON object"})
            continue
        locator, artifact, note = _translate(p, layout, trace_rel, canon, i)
        if artifact.startswith(f"native/{SYSTEM}/"):
            targets.add(artifact[len(f"native/{SYSTEM}/") :])
        pointer: JSON = {
            "requirement_id": claim(p.get("requirement_id")),
            "artifact_path": artifact,
            "locator": locator,
            "status": claim(p.get("status")),
        }
        if note is not None:
            pointer["note"] = note
        out.append(pointer)
        translated.append(
            {
                "index": i,
                "upstream": {
                    "artifact_path": claim(p.get("artifact_path")),
                    "locator": claim(p.get("locator")),
                },
                "artifact_path": artifact,
                "locator": locator,
            }
        )
        rq = p.get("requirement_id")
        match = _RQ01.fullmatch(rq) if isinstance(rq, str) else None
        if match is not None:
            for n in ("02", "03"):
                out.append(
                    {
                        **pointer,
                        "requirement_id": f"RQ-MPLPD{match.group(1)}-{n}",
                        "note": f"upstream CL-D{match.group(1)}-{n} judges {rq}'s evidence",
                    }
                )
    return out, translated, targets


def _translate(
    p: Mapping[str, Any],
    layout: Layout,
    trace_rel: str | None,
    canon: dict[str, tuple[int, Any]],
    index: int,
) -> tuple[str, str, str | None]:
    """(locator, artifact_path, note) of one upstream pointer, resolved as upstream's
    lib/evidence/resolve.ts does: event_id, line, canonptr and every other locator it
    reads as a bare event id address the run's log, whatever artifact_path says;
    ``jsonptr:`` and ``file:`` address the file artifact_path names."""
    written = p.get("locator")
    text = written.strip(JS_SPACE) if isinstance(written, str) else ""
    found = layout.find(p.get("artifact_path"))
    written_path = p.get("artifact_path")
    normal = _normal(written_path) if isinstance(written_path, str) else None
    if found is not None and found == trace_rel:
        artifact = LOG
    elif found is not None:
        artifact = native_path(SYSTEM, found)
    elif normal is not None:
        artifact = native_path(SYSTEM, layout.root + normal)
    else:
        artifact = native_path(SYSTEM, f"unresolved-artifact-path/{index}")
    if unsafe_path_reason(artifact) is not None:
        artifact = native_path(SYSTEM, f"unresolved-artifact-path/{index}")
    kind, sep, value = text.partition(":")
    if sep and kind in ("jsonptr", "file") and (value.strip() or kind == "file"):
        return text, artifact, None
    # Everything else addresses an event of the log upstream loaded.
    elsewhere = None
    if artifact != LOG and written_path is not None:
        elsewhere = (
            f"artifact_path {str(written_path)[:80]!r} is not the log: upstream resolves "
            "the locator in the run's log whatever artifact_path says"
        )
    locator, note = _event_locator(text, kind, sep, value, canon, index)
    return locator, LOG, "; ".join(n for n in (note, elsewhere) if n) or None


def _event_locator(
    text: str, kind: str, sep: str, value: str, canon: dict[str, tuple[int, Any]], index: int
) -> tuple[str, str | None]:
    """(vlab locator, note) of an upstream locator that addresses an event of the log."""
    if text.startswith("canonptr:v1:"):
        hit = canon.get(text)
        if hit is not None and isinstance(hit[1], str) and hit[1]:
            return f"event_id:{hit[1]}", f"upstream {text}"
        why = "matches no event" if hit is None else "matches an event without an event_id"
        return (
            f"event_id:{text}",
            f"upstream {text} {why} of the log (digest recomputed as lib/evidence/canonptr.ts)",
        )
    if sep and kind == "event_id" and value.strip(JS_SPACE):
        return f"event_id:{value.strip(JS_SPACE)}", None
    if sep and kind == "line" and re.fullmatch(r"0*[1-9][0-9]*", value):
        return f"line:{value.lstrip('0')}", None
    if text.startswith("snapshot:"):
        return (
            f"event_id:{text}",
            "upstream snapshot: locator (upstream's loader reads no snapshots: it never resolves)",
        )
    if not text:
        return f"event_id:pointer-{index}-without-locator", "upstream pointer has no locator"
    return f"event_id:{text}", "upstream reads an unknown locator as a bare event_id"


# -- upstream integrity -----------------------------------------------------------------------


def _integrity(
    layout: Layout,
    dropped: Mapping[str, str],
    read: Mapping[str, bool],
    log: str | None,
    other_logs: Sequence[str],
) -> JSON:
    """Upstream's own sha256sums.txt files (the pack root's and the run folder's: every one
    present is checked, and a placeholder never hides a real one) against the native
    bytes, and every file the view reads against their lists. ``read`` maps each file the
    view is built from to whether it is evidence (a claim file only shapes). Never
    repaired: every problem is reported."""
    native = layout.native
    sums = [b + SUMS for b in dict.fromkeys((layout.root, "")) if b + SUMS in native]
    real = [rel for rel in sums if rel not in dropped]
    if not real:
        # nothing read (a placeholder is listed in left_out)
        return {"sha256sums": [], "status": "placeholder" if sums else "absent", "problems": []}
    problems: list[JSON] = []
    listed: dict[str, str] = {}  # native rel -> the sums file that lists it
    evidence = {rel for rel, is_evidence in read.items() if is_evidence}
    for rel in real:
        problems += _check_sums(layout, rel, evidence, listed)
    if log is not None and log not in listed:
        sealed = next((o for o in other_logs if o in listed), None)
        if sealed is not None:
            # upstream's own verifier refuses an unlisted file (INT-003); here a real,
            # sealed log would be passed over for one nobody sealed
            problems.append(
                {
                    "path": native_path(SYSTEM, log),
                    "effect": "refused",
                    "problem": f"{native_path(SYSTEM, log)}: the log the view is built from is "
                    f"not listed, while {native_path(SYSTEM, listed[sealed])} lists the log "
                    f"{native_path(SYSTEM, sealed)}",
                }
            )
    refused = {p.get("path") for p in problems if p["effect"] == "refused"}
    for target in sorted(set(read) - set(listed), key=lambda p: p.encode("utf-8")):
        if target in native and native_path(SYSTEM, target) not in refused:
            problems.append(
                {
                    "path": native_path(SYSTEM, target),
                    "effect": "advisory",
                    "problem": f"{native_path(SYSTEM, target)}: "
                    + ("evidence" if read[target] else "a claim the view reads")
                    + " that no sha256sums.txt lists (its integrity starts at vlab's seal)",
                }
            )
    broken = any(p["effect"] == "refused" for p in problems)
    return {
        "sha256sums": [native_path(SYSTEM, r) for r in real],
        "status": "broken" if broken else "partial" if problems else "verified",
        "problems": problems,
    }


def _check_sums(layout: Layout, rel: str, evidence: set[str], listed: dict[str, str]) -> list[JSON]:
    """One sums file, read as upstream's verifier reads it (the whole text trimmed as
    JavaScript trims, lines split on LF; a ``#`` line is a comment), every line checked:
    a line that is no ``<sha256>  <path>``, a listed file missing or with other bytes."""
    native = layout.native
    base = rel[: -len(SUMS)]
    where = native_path(SYSTEM, rel)
    problems: list[JSON] = []
    text = native[rel].decode("utf-8", "replace").strip(JS_SPACE)
    for number, line in enumerate(text.split("\n"), 1):
        entry = line.strip(JS_SPACE)
        if not entry or entry.startswith("#"):
            continue
        match = _HASH_LINE.fullmatch(entry)
        if match is None:
            problems.append(
                {
                    "line": number,
                    "effect": "refused",
                    "problem": f"{where} line {number}: not '<sha256>  <path>'",
                }
            )
            continue
        digest, written = match.group(1).lower(), match.group(2).strip(JS_SPACE)
        target = layout.find(written, base)
        if target is None:
            problems.append(
                {
                    "line": number,
                    "path": written,
                    "effect": "advisory"
                    if _is_claim(base + (_normal(written) or ""), evidence)
                    else "refused",
                    "problem": f"{where} line {number} lists {written[:80]}, which is not there",
                }
            )
            continue
        listed.setdefault(target, rel)
        actual = hashlib.sha256(native[target]).hexdigest()
        if actual != digest:
            problems.append(
                {
                    "line": number,
                    "path": native_path(SYSTEM, target),
                    "effect": "advisory" if _is_claim(target, evidence) else "refused",
                    "problem": f"{native_path(SYSTEM, target)}: sha256 {actual[:12]}... is not "
                    f"{digest[:12]}..., which {where} lists",
                    "sha256": actual,
                    "listed": digest,
                }
            )
    return problems


def _is_claim(rel: str, evidence: set[str]) -> bool:
    """Kept only as a claim: a claim file no pointer makes evidence."""
    return rel in CLAIM_FILES and rel not in evidence


# -- scenario ---------------------------------------------------------------------------------


def _domains(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str) and re.fullmatch(r"[Dd][1-4]", item.strip()):
            out.append(item.strip().upper())
    return sorted(set(out))


def _word_domains(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    words = re.split(r"[-_.\s]+", text.lower())
    found = [f"D{m.group(1)}" for w in words if (m := _DOMAIN_WORD.fullmatch(w))]
    return found[:1]


def _ruleset(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str):
            match = _RULESET.fullmatch(value.strip())
            if match is not None:
                return f"ruleset-{match.group(1)}"
    return None


def _earliest(records: list[JSON]) -> str | None:
    best: tuple[int, str] | None = None
    for r in records:
        stamp = r.get("timestamp")
        at = utc_micros(stamp)
        if at is not None and isinstance(stamp, str) and (best is None or at < best[0]):
            best = (at, stamp)
    return best[1] if best is not None else None


def derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    if not any(m in native for m in MARKERS) and not options.get("pack_root"):
        raise ImportRefused(native_path(SYSTEM, ""), EXPECTED)
    layout = Layout(native, options)
    notes: list[str] = [f"layout: {layout.kind}"]
    dropped = {
        rel: kind for rel, data in native.items() if (kind := placeholder(rel, data)) is not None
    }
    manifest_rel = layout.find("manifest.json")
    manifest = _doc(native, manifest_rel) if manifest_rel else None
    vector = _doc(native, VECTOR)
    producer = _doc(native, PRODUCER)
    verdict_rel = VERDICT if VERDICT in native and VERDICT not in dropped else None
    verdict = _doc(native, verdict_rel) if verdict_rel else None
    bundle = layout.bundle

    trace_rel, passed, other_logs = _trace(layout, manifest, dropped)
    for item in passed:
        notes.append(f"log passed over: {item}")
    if trace_rel is None:
        notes.append("no event log: the derived log is empty")
    trace_path = native_path(SYSTEM, trace_rel) if trace_rel else None
    records, events, damaged = (
        _records(native[trace_rel], trace_path) if trace_rel and trace_path else ([], [], [])
    )
    if damaged:
        notes.append(
            f"{len(damaged)} log line(s) do not parse (line {damaged[0]}, ...): kept, marked"
        )
    canon = canonptr_index(events)
    pointers, translated, targets = _pointers(_doc(native, POINTERS), layout, trace_rel, canon)
    unresolved = [
        t["upstream"]["locator"]
        for t in translated
        if "upstream" in t and str(t["locator"]).startswith("event_id:canonptr:")
    ]
    if unresolved:
        notes.append(
            f"{len(unresolved)} canonptr locator(s) match no event ({unresolved[0]}): "
            "left unresolvable, as upstream's producer wrote them"
        )
    if POINTERS not in native:
        notes.append("no evidence_pointers.json: every clause that needs a pointer fails")

    # Every file the view is read from (True: evidence; False: a claim that only shapes).
    read = dict.fromkeys(_shaping_files(native, layout, manifest_rel, dropped), True)
    read |= dict.fromkeys(([trace_rel] if trace_rel else []) + sorted(targets), True)
    if _ruleset(*_declared_rulesets(bundle, vector, producer)) is None and _ruleset(
        _recorded_ruleset(verdict)
    ):
        read.setdefault(VERDICT, False)  # its versions.ruleset names the upstream ruleset
    integrity = _integrity(layout, dropped, read, trace_rel, other_logs)
    if integrity["status"] == "broken":
        notes.append(
            f"upstream integrity broken ({len(integrity['problems'])} problem(s) in "
            f"{', '.join(integrity['sha256sums'])}): the pack is NOT_ADMISSIBLE"
        )
    elif integrity["status"] == "partial":
        notes.append(
            f"upstream's seal does not vouch for {len(integrity['problems'])} file(s) "
            "(a claim rewritten after sealing, or a file the view reads it does not list): "
            "advisory"
        )
    elif integrity["status"] in ("absent", "placeholder"):
        notes.append("upstream wrote no usable sha256sums.txt: integrity starts at vlab's seal")
    broken = {p.get("path") for p in integrity["problems"] if "listed" in p}
    # A recorded verdict rewritten after sealing stays a claim (for review) and shapes nothing.
    shaping = None if native_path(SYSTEM, VERDICT) in broken else verdict

    meta = bundle.get("scenario_meta")
    upstream_meta: JSON = meta if isinstance(meta, dict) else {}
    run_id = next(
        (
            r
            for r in (
                _text(bundle.get("run_id")),
                _text(vector.get("vector_id")) if isinstance(vector, dict) else None,
                _text(producer.get("run_id")) if isinstance(producer, dict) else None,
                _text(manifest.get("run_id")) if isinstance(manifest, dict) else None,
                _text(manifest.get("pack_id")) if isinstance(manifest, dict) else None,
            )
            if r is not None
        ),
        "run",
    )
    declared = _domains(upstream_meta.get("domain"))
    domains_from = "bundle.manifest.json scenario_meta.domain"
    if not declared and isinstance(vector, dict):
        declared, domains_from = _domains(vector.get("domain")), f"{VECTOR} domain"
    if not declared and isinstance(producer, dict):
        declared = _word_domains(producer.get("scenario"))
        domains_from = f"{PRODUCER} scenario"
    if not declared:
        declared, domains_from = _word_domains(run_id), "a dN word of the run id"
    if not declared:
        domains_from = "nothing: the run declares no D1-D4 domain"
    upstream_ruleset = _ruleset(
        *_declared_rulesets(bundle, vector, producer),
        _recorded_ruleset(shaping),
        manifest.get("ruleset_version") if isinstance(manifest, dict) else None,
    )
    covered = [f for f, d in (("budget_decision", "D1"), ("lifecycle", "D2")) if d in declared]
    for flag, domain in (("privileged_action", "D3"), ("termination_case", "D4")):
        value = upstream_meta.get(flag)
        if value is True or (not isinstance(value, bool) and domain in declared):
            covered.append(flag)
    scenario = base_scenario(*covered)
    scenario["target_domains"] = declared
    scenario["upstream_ruleset"] = upstream_ruleset

    claims = _claims(native, bundle, vector, producer, verdict, verdict_rel, upstream_meta)
    files = {LOG: ndjson_bytes(records), TIMELINE: json_bytes(_timeline(records))}
    created = _earliest(records)
    if created is None and isinstance(manifest, dict) and utc_micros(manifest.get("created_at")):
        created = manifest["created_at"]
    left_out = [
        {"path": native_path(SYSTEM, rel), "why": kind}
        for rel, kind in sorted(dropped.items(), key=lambda kv: kv[0].encode("utf-8"))
    ]
    if left_out:
        notes.append(f"{len(left_out)} placeholder file(s) left out of the derived view")
    return Derived(
        files=files,
        pointers=pointers,
        run_id=run_id,
        created_at=created if isinstance(created, str) else EPOCH,
        scenario_meta=scenario,
        claims=claims,
        evidence={
            "layout": layout.kind,
            "log": trace_path,
            "target_domains_from": domains_from,
            "left_out": left_out,
            "pointers": translated,
            "upstream_integrity": integrity,
        },
        notes=notes,
        derived_from=[
            {
                "path": LOG,
                "from": [trace_path] if trace_path else [],
                "rule": "one record per non-blank line, upstream's fields as written; "
                "decision_outcome from outcome/result and terminate_reason from "
                "termination_reason when absent; upstream's source is upstream_source",
            },
            {
                "path": TIMELINE,
                "from": [LOG],
                "rule": "line, event_id, event_type and timestamp of every derived record",
            },
            {
                "path": "evidence_pointers.json",
                "from": [native_path(SYSTEM, POINTERS)] if POINTERS in native else [],
                "rule": "canonptr:v1 -> event_id by upstream's digest; RQ-Dn-01 also as "
                "RQ-MPLPDn-02 and RQ-MPLPDn-03 (upstream's ruleset-1.2 clauses)",
            },
        ],
    )


def _shaping_files(
    native: Mapping[str, bytes],
    layout: Layout,
    manifest_rel: str | None,
    dropped: Mapping[str, str],
) -> list[str]:
    """The upstream files besides the log and the pointers' targets whose content decides
    the derived view: the layout, the pointers, the declared domains, flags and ruleset,
    the run id (evidence: upstream's seal must vouch for them as for the log)."""
    files = [BUNDLE, POINTERS, VECTOR, PRODUCER, manifest_rel]
    pack_root = layout.bundle.get("pack_root")
    if not (isinstance(pack_root, str) and pack_root.strip()):
        files.append(INPUT_POINTER)  # collect followed its pack_path
    return [f for f in files if f is not None and f in native and f not in dropped]


def _declared_rulesets(bundle: JSON, vector: Any, producer: Any) -> list[Any]:
    return [
        bundle.get("ruleset_ref"),
        vector.get("ruleset_ref") if isinstance(vector, dict) else None,
        producer.get("ruleset_ref") if isinstance(producer, dict) else None,
    ]


def _recorded_ruleset(verdict: Any) -> Any:
    versions = verdict.get("versions") if isinstance(verdict, dict) else None
    return versions.get("ruleset") if isinstance(versions, dict) else None


def _claims(
    native: Mapping[str, bytes],
    bundle: JSON,
    vector: Any,
    producer: Any,
    verdict: Any,
    verdict_rel: str | None,
    upstream_meta: JSON,
) -> JSON:
    """What upstream said about the run: its expectation, its recorded verdict, its pins."""
    expected: JSON | None = None
    if isinstance(vector, dict) and "expected_topline" in vector:
        expected = {
            "topline": claim(vector.get("expected_topline")),
            "reason_code": claim(vector.get("expected_reason_code")),
            "from": native_path(SYSTEM, VECTOR),
        }
    elif isinstance(producer, dict) and "expected_verdict" in producer:
        expected = {
            "topline": claim(producer.get("expected_verdict")),
            "reason_code": claim(producer.get("expected_reason_code")),
            "from": native_path(SYSTEM, PRODUCER),
        }
    recorded: JSON | None = None
    if isinstance(verdict, dict) and verdict_rel is not None:
        top = verdict.get("topline", verdict.get("status"))
        recorded = {
            "topline": claim(top),
            "reason_code": claim(verdict.get("reason_code")),
            "admission": claim(verdict.get("admission", verdict.get("admission_status"))),
            "domain_verdicts": claim(verdict.get("domain_verdicts")),
            "from": native_path(SYSTEM, verdict_rel),
        }
    reports = {
        native_path(SYSTEM, name): claim(_doc(native, name)) for name in REPORTS if name in native
    }
    return {
        "expected": expected,
        "verdict": recorded,
        "pins": {
            name: claim(bundle.get(name))
            for name in ("ruleset_ref", "protocol_pin", "schema_bundle_sha256")
            if name in bundle
        },
        "scenario_meta": claim(upstream_meta),
        "reports": reports,
    }


IMPORTERS: tuple[Importer, ...] = (
    Importer(
        system=SYSTEM,
        version=1,
        summary="MPLP Validation Lab run folder or pack (mplp-compat-1.3; CL-D1-01 ... CL-D4-01)",
        collect=collect,
        derive=derive,
        default_ruleset="mplp-compat-1.3",
        options={
            "repo": "the upstream checkout: a pack_root or pack_path leaving RUN_DIR is "
            "followed only into it",
        },
    ),
)
