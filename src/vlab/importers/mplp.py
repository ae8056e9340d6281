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
- ``evidence_pointers.json``: upstream's pointers, ``canonptr:v1:`` translated to
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
  left out of the derived view, and ``evidence.upstream_integrity``: every entry of
  upstream's own ``integrity/sha256sums.txt`` checked against the native bytes, and the
  evidence the view is built from checked to be listed. A problem there makes the pack
  NOT_ADMISSIBLE (mplp-compat-1.3's import schema refuses it at CONTRACT).
"""

from __future__ import annotations

import hashlib
import math
import os
import posixpath
import re
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
    source,
)
from vlab.importers.base import scenario as base_scenario
from vlab.pack.limits import unsafe_path_reason

SYSTEM = "mplp"
REPO = "_repo"  # native/mplp/_repo/<ROOT-relative path>: a pack root outside RUN_DIR
LOG = "trace/events.ndjson"
TIMELINE = "artifacts/mplp/timeline.json"
MAX_FILES = 1000  # upstream's own bound on a pack (lib/engine/types.ts MAX_FILE_COUNT)
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
_HASH_LINE = re.compile(r"([0-9a-fA-F]{64})[ \t]+\*?(.+)")
_DOMAIN_WORD = re.compile(r"d([1-4])")
_RULESET = re.compile(r"(?:ruleset-)?(\d+\.\d+)(?:\.\d+)?")
# canonptr v1 (upstream lib/evidence/canonptr.ts): decision kind -> domain, and the
# semantic fields each domain's digest covers.
CANON_DOMAINS = {
    "budget": "D1",
    "lifecycle": "D2",
    "authz": "D3",
    "terminate": "D4",
    "termination": "D4",
}
CANON_FIELDS = {
    "D1": ("outcome", "resource"),
    "D2": ("to_state",),
    "D3": ("outcome", "subject", "resource", "action"),
    "D4": ("termination_reason",),
}
MAX_CLAIM_DEPTH = 6


# -- collect: read RUN_DIR (and, through --repo, an outside pack root) ------------------------


def _walk(root: Path, what: str) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` (POSIX paths relative to it, sorted); a symlink
    or anything else that is not a plain file or folder is refused, never followed."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                raise ImportRefused(str(base / name), f"a symlink in {what}; expected plain files")
        dirs.sort()
        for name in sorted(files):
            path = base / name
            if path.is_symlink() or not path.is_file():
                raise ImportRefused(str(path), f"not a plain file in {what}; expected plain files")
            found.append((path.relative_to(root).as_posix(), path))
            if len(found) > MAX_FILES:
                raise ImportRefused(
                    str(root), f"more than {MAX_FILES} files; an MPLP pack holds at most that many"
                )
    return sorted(found, key=lambda item: item[0].encode("utf-8"))


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
        native[rel] = path.read_bytes()
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
            native[name] = path.read_bytes()
        if len(native) > 2 * MAX_FILES:
            raise ImportRefused(str(target), f"more than {MAX_FILES} files in the pack root")
        recorded["pack_root"] = root
    return Collected(native, recorded)


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
        text = data.decode("utf-8", "replace")
        if not any(_HASH_LINE.fullmatch(line.strip()) for line in text.splitlines()):
            return "an integrity file with no hash line ('# Empty Integrity')"
        return None
    if name.endswith(".ndjson"):
        records = [r for _, r, _ in lines(data) if r.strip()]
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


# -- canonptr v1 (upstream lib/evidence/canonptr.ts), recomputed exactly -------------------


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` / template-literal text of a parsed JSON value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return _js_number(float(value)) if abs(value) >= 10**21 else str(value)
    if isinstance(value, Decimal):
        return _js_number(float(value))
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


def _js_number(x: float) -> str:
    """ECMAScript Number::toString for a finite double (shortest round-trip digits)."""
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    digits, exponent = _shortest(abs(x))
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _shortest(x: float) -> tuple[str, int]:
    """(digits, exponent) with x == int(digits) * 10**exponent, digits shortest (repr's)."""
    text = repr(x)
    mantissa, _, exp = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    digits = (whole + fraction).lstrip("0") or "0"
    exponent = (int(exp) if exp else 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def _js_truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    return not (isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == 0)


def canonptr(event: Mapping[str, Any], seq: int) -> str | None:
    """upstream ``eventToCanonPtr``: ``canonptr:v1:<domain>:<kind>:<seq>:<digest>``."""
    kind = event.get("decision_kind")
    if not _js_truthy(kind):
        return None
    kind_text = js_string(kind)
    domain = CANON_DOMAINS.get(kind_text)
    if domain is None:
        return None
    fields: dict[str, Any] = {"decision_kind": kind}
    for name in CANON_FIELDS[domain]:
        if _js_truthy(event.get(name)):
            fields[name] = event[name]
    if domain == "D1" and "amount" in event:  # `event.amount !== undefined`
        fields["amount"] = event["amount"]
    text = "|".join(f"{k}:{js_string(fields[k])}" for k in sorted(fields))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"canonptr:v1:{domain}:{kind_text}:{seq:03d}:{digest}"


def canonptr_index(events: list[tuple[int, Any]]) -> dict[str, tuple[int, Any]]:
    """upstream ``extractCanonPtrsFromTrace``: canonptr -> (line, event_id), first wins."""
    out: dict[str, tuple[int, Any]] = {}
    seq = 0
    for line, event in events:
        if not isinstance(event, dict) or not _js_truthy(event.get("decision_kind")):
            continue
        ptr = canonptr(event, seq)
        if ptr is not None:
            out.setdefault(ptr, (line, event.get("event_id")))
            seq += 1
    return out


# -- the event log ----------------------------------------------------------------------------


def _trace(layout: Layout, manifest: Any, dropped: dict[str, str]) -> tuple[str | None, list[str]]:
    """The native event log the view is built from, and why others were passed over."""
    passed: list[str] = []
    declared = []
    if isinstance(manifest, dict):
        declared = [manifest.get("trace"), manifest.get("timeline")]
    candidates = [*declared, "timeline/events.ndjson", "trace/events.ndjson"]
    seen: set[str] = set()
    for base in (layout.root, ""):
        for written in candidates:
            rel = layout.find(written, base)
            if rel is None or rel in seen:
                continue
            seen.add(rel)
            if rel in dropped:
                passed.append(f"{native_path(SYSTEM, rel)} ({dropped[rel]})")
                continue
            return rel, passed
    return None, passed


def _event(raw: bytes) -> tuple[Any, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 at byte {exc.start}"
    try:
        value = strictjson.loads(text.strip().encode("utf-8"))
    except strictjson.StrictJSONError as exc:
        return None, f"not JSON: {str(exc)[:160]}"
    except (ValueError, RecursionError) as exc:
        return None, f"not JSON: {type(exc).__name__}"
    if not isinstance(value, dict):
        return None, "not a JSON object"
    return value, None


def _records(data: bytes, path: str) -> tuple[list[JSON], list[tuple[int, Any]], list[int]]:
    """Derived records (one per non-blank line), (derived line, upstream event) pairs for
    canonptr, and the native lines that did not parse."""
    records: list[JSON] = []
    events: list[tuple[int, Any]] = []
    damaged: list[int] = []
    for number, raw, _ in lines(data):
        if not raw.strip():
            continue  # upstream filters blank lines: its line:N counts non-blank ones
        event, why = _event(raw)
        where = source(path, line=number)
        if why is not None:
            damaged.append(number)
            records.append(
                {
                    "event_id": f"mplp-line-{number}",
                    "event_id_from": "native line",
                    "source": where,
                    "unparseable": why,
                }
            )
            continue
        assert isinstance(event, dict)
        record: JSON = {}
        for key, value in event.items():
            record["upstream_source" if key == "source" else key] = claim(value)
        if not isinstance(event.get("event_id"), str) or not event["event_id"]:
            # a log record needs an id (contract 1.2): one of its native line, marked
            if "event_id" in event:
                record["upstream_event_id"] = record.pop("event_id")
            record["event_id"] = f"mplp-line-{number}"
            record["event_id_from"] = "native line"
        outcome = next((event[k] for k in ("outcome", "result") if k in event), None)
        if "decision_outcome" not in event and outcome is not None:
            record["decision_outcome"] = claim(outcome)
        if "terminate_reason" not in event and "termination_reason" in event:
            record["terminate_reason"] = claim(event["termination_reason"])
        record["source"] = where
        records.append(record)
        events.append((len(records), event))
    return records, events, damaged


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
    lib/evidence/resolve.ts does: event_id, line and canonptr address the run's log
    whatever artifact_path says for canonptr; anything else is read as a bare event id."""
    written = p.get("locator")
    text = written.strip() if isinstance(written, str) else ""
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
    if text.startswith("canonptr:v1:"):
        hit = canon.get(text)
        if hit is not None and isinstance(hit[1], str) and hit[1]:
            return f"event_id:{hit[1]}", LOG, f"upstream {text}"
        why = "matches no event" if hit is None else "matches an event without an event_id"
        return (
            f"event_id:{text}",
            LOG,
            f"upstream {text} {why} of the log (digest recomputed as lib/evidence/canonptr.ts)",
        )
    if sep and kind in ("event_id", "line", "jsonptr", "file") and value.strip():
        if kind == "event_id":
            return f"event_id:{value.strip()}", artifact, None
        return text, artifact, None
    if text.startswith("snapshot:"):
        return (
            f"event_id:{text}",
            artifact,
            "upstream snapshot: locator (upstream's loader reads no snapshots: it never resolves)",
        )
    if not text:
        return (
            f"event_id:pointer-{index}-without-locator",
            artifact,
            "upstream pointer has no locator",
        )
    return f"event_id:{text}", artifact, "upstream reads an unknown locator as a bare event_id"


# -- upstream integrity -----------------------------------------------------------------------


def _integrity(layout: Layout, dropped: Mapping[str, str], evidence: set[str]) -> JSON:
    """Upstream's own sha256sums.txt against the native bytes, and the evidence the view
    is built from against the sums' list. Never repaired: every problem is reported."""
    native = layout.native
    chosen = None
    for base in dict.fromkeys((layout.root, "")):
        rel = base + SUMS
        if rel in native:
            chosen = (base, rel)
            break
    if chosen is None:
        return {"sha256sums": None, "status": "absent", "problems": []}
    base, rel = chosen
    if rel in dropped:
        return {"sha256sums": native_path(SYSTEM, rel), "status": "placeholder", "problems": []}
    problems: list[JSON] = []
    listed: set[str] = set()
    where = native_path(SYSTEM, rel)
    text = native[rel].decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
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
        digest, written = match.group(1).lower(), match.group(2).strip()
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
        listed.add(target)
        actual = hashlib.sha256(native[target]).hexdigest()
        if actual != digest:
            problems.append(
                {
                    "line": number,
                    "path": native_path(SYSTEM, target),
                    "effect": "advisory" if _is_claim(target, evidence) else "refused",
                    "problem": f"{native_path(SYSTEM, target)}: sha256 {actual[:12]}... is not "
                    f"{digest[:12]}..., which sha256sums.txt lists",
                    "sha256": actual,
                    "listed": digest,
                }
            )
    for target in sorted(evidence - listed, key=lambda p: p.encode("utf-8")):
        if target in native:
            problems.append(
                {
                    "path": native_path(SYSTEM, target),
                    "effect": "advisory",
                    "problem": f"{native_path(SYSTEM, target)}: evidence that "
                    "sha256sums.txt does not list (its integrity starts at vlab's seal)",
                }
            )
    refused = any(p["effect"] == "refused" for p in problems)
    return {
        "sha256sums": where,
        "status": "broken" if refused else "partial" if problems else "verified",
        "problems": problems,
    }


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

    trace_rel, passed = _trace(layout, manifest, dropped)
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

    evidence_files = ({trace_rel} if trace_rel else set()) | targets
    integrity = _integrity(layout, dropped, evidence_files)
    if integrity["status"] == "broken":
        notes.append(
            f"upstream integrity broken ({len(integrity['problems'])} problem(s) in "
            f"{integrity['sha256sums']}): the pack is NOT_ADMISSIBLE"
        )
    elif integrity["status"] == "partial":
        notes.append(
            f"upstream's seal does not vouch for {len(integrity['problems'])} file(s) "
            "(a claim rewritten after sealing, or evidence it does not list): advisory"
        )
    elif integrity["status"] in ("absent", "placeholder"):
        notes.append("upstream wrote no usable sha256sums.txt: integrity starts at vlab's seal")
    unsealed = {p.get("path") for p in integrity["problems"] if p["effect"] == "advisory"}
    # A recorded verdict rewritten after sealing stays a claim (for review) and shapes nothing.
    shaping = None if native_path(SYSTEM, VERDICT) in unsealed else verdict

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
        bundle.get("ruleset_ref"),
        vector.get("ruleset_ref") if isinstance(vector, dict) else None,
        producer.get("ruleset_ref") if isinstance(producer, dict) else None,
        (shaping.get("versions") or {}).get("ruleset")
        if isinstance(shaping, dict) and isinstance(shaping.get("versions"), dict)
        else None,
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
