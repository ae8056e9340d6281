"""Importer for runcap 0.6.0 (kirder24-code/ai-agent-manager; importers.md §3 runcap).

``vlab import runcap WORKTREE [--outcome ID]``: WORKTREE is the git work tree where runcap
ran. runcap keeps every run there; the importer takes one outcome (``--outcome``, default
the id ``.runcap/outcomes/latest`` names) and copies what judging it needs.

Native layout (under ``native/runcap/``; runcap's files at their paths in WORKTREE):

- ``.runcap/outcomes/<id>/receipt.json`` the outcome receipt, verbatim.
- ``.runcap/outcomes/latest.txt`` the bytes of ``.runcap/outcomes/latest`` (which outcome
  is the latest; a file without an ending cannot be held in a pack).
- ``.runcap/missions/<id>/mission.json`` the mission record: its ``startedAt`` and
  ``finishedAt`` say which gateway events are this outcome's.
- the mission policy that graded the run, verbatim, at its path: ``.runcap/<source>``
  (or ``<source>``) for the ``policy.source`` the receipt names, else the first of
  ``.runcap/mission.yaml``, ``.yml``, ``.json`` (runcap's own precedence).
- ``.runcap/gateway-events.jsonl`` the gateway ledger, verbatim (every run's events).
- ``observed/files.json`` (made by the importer at import time, for the latest outcome):
  the baseline commit the receipt names, and for every tracked file (the baseline tree and
  the index, runcap's store ``.runcap/`` left out) its git blob id at the baseline and in
  the work tree.
- ``protected/before/<path>.txt`` / ``protected/after/<path>.txt``: the bytes of each
  protected file at the baseline commit (``git cat-file``) and in the work tree (``.txt``
  is appended so that any file can be held in a pack). Protected: runcap's default set
  (tests, ``*.test.*``, ``*.spec.*``, every package.json, tsconfig, jest/vitest config),
  the policy's ``protect`` patterns, and the files the verify command names.

Which gateway events belong to the outcome: runcap 0.6.0 counts the ledger lines appended
while it ran (by position, never recorded); the ledger carries no mission id. The importer
takes the lines whose ``at`` lies within the mission's ``startedAt``..``finishedAt`` (the
ephemeral gateway lives only inside that window). Those give the LLM calls (2xx with
usage, as runcap counts them), the spend (the exact sum of ``cost.estimatedUsd``) and the
budget-guard decisions (429 ``budget_guard``).

The work tree is observed only for the latest outcome (an earlier outcome's work tree shows
a later run), and only when git can read the baseline commit; otherwise (and always in
addition) the changes are runcap's own mission record of the run: ``diffEvidence`` and its
before/after ``git diff --name-status`` snapshots. The derived receipt says which view it has
(``verification.observation``: work tree | mission record | none).

Git is asked only plumbing questions (``ls-tree``, ``ls-files``, ``cat-file``, with
fsmonitor off); work-tree files are read and hashed by the importer itself, so no filter,
hook or external diff of the repository ever runs.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.money import exact, fmt, money
from vlab.core.paths import PatternError, Work, matches, normalize_path
from vlab.domains import mission
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
    scenario,
    source,
)

SYSTEM = "runcap"
STORE = ".runcap"
OUTCOMES = f"{STORE}/outcomes"
LATEST = f"{OUTCOMES}/latest"
LATEST_COPY = f"{OUTCOMES}/latest.txt"
LEDGER = f"{STORE}/gateway-events.jsonl"
POLICY_NAMES = ("mission.yaml", "mission.yml", "mission.json")
RECEIPT_SCHEMA = "runcap.outcome-receipt/"
OBSERVED = "observed/files.json"
BEFORE = "protected/before/"
AFTER = "protected/after/"
COPY_ENDING = ".txt"
RECEIPT_OUT = "artifacts/mission/outcome_receipt.json"
POLICY_OUT = "artifacts/mission/policy.yaml"
LOG_OUT = "trace/events.ndjson"
# runcap's store and its legacy name: never a change of the mission's (runcap's filter).
STORE_FOLDERS = frozenset((".runcap", ".aim-control"))
_OID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_ID_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)
EVENT_RULE = (
    "the gateway ledger lines whose `at` lies within the mission's startedAt..finishedAt "
    "(runcap counts the lines appended while it ran, by position, and records neither)"
)


# -- collect: read WORKTREE, copy every byte read ----------------------------------------------


def collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    if len(sources) != 1:
        raise UsageError("vlab import runcap takes one WORKTREE (the git work tree runcap ran in)")
    root = sources[0]
    if not (root / OUTCOMES).is_dir():
        raise ImportRefused(
            str(root / OUTCOMES), "runcap's outcome store (.runcap/outcomes/<id>/receipt.json)"
        )
    native: dict[str, bytes] = {}
    latest = _read(root / LATEST)
    latest_id = None if latest is None else latest.decode("utf-8", "replace").strip()
    if latest is not None:
        native[LATEST_COPY] = latest
    given = options.get("outcome")
    if given is not None:
        outcome = str(given)
        if not _safe_id(outcome):
            raise UsageError(f"--outcome {outcome!r} is not an outcome id")
        chosen_by = "option"
    else:
        if latest_id is None:
            raise ImportRefused(
                str(root / LATEST), "the id of runcap's latest outcome (or give --outcome ID)"
            )
        outcome = latest_id
        if not _safe_id(outcome):
            raise ImportRefused(str(root / LATEST), "one outcome id")
        chosen_by = "latest"
    receipt_rel = f"{OUTCOMES}/{outcome}/receipt.json"
    data = _read(root / receipt_rel)
    if data is None:
        raise ImportRefused(str(root / receipt_rel), "runcap's outcome receipt")
    receipt = _receipt(data, str(root / receipt_rel))
    native[receipt_rel] = data
    mission_rel = f"{STORE}/missions/{outcome}/mission.json"
    for rel in (mission_rel, LEDGER):
        found = _read(root / rel)
        if found is not None:
            native[rel] = found
    policy_rel = _policy_rel(root, receipt)
    if policy_rel is not None:
        native[policy_rel] = read_native(root / policy_rel, "runcap's mission policy")
    recorded: JSON = {"outcome": outcome, "outcome_from": chosen_by, "policy": policy_rel}
    if outcome == latest_id:
        recorded.update(_observe(root, receipt, native.get(policy_rel or ""), policy_rel, native))
    else:
        # The work tree shows the state after a later run (or none): runcap's own mission
        # record of this run is the only view of what it changed.
        recorded.update(
            {
                "baseline_commit": _baseline(receipt),
                "observed": "not the latest outcome: the work tree shows a later state",
            }
        )
    return Collected(native, recorded)


def _safe_id(text: str) -> bool:
    return bool(text) and text not in (".", "..") and not _ID_UNSAFE.search(text)


def _read(path: Path) -> bytes | None:
    """A runcap file's bytes, None when runcap did not write it; one that is there but is
    not a regular file (a link, a FIFO, a folder) is refused, never read as absent."""
    if not (path.exists() or path.is_symlink()):
        return None
    return read_native(path, f"runcap's {path.name} as runcap writes it")


def _receipt(data: bytes, where: str) -> JSON | None:
    """The receipt (None: damaged, imported as it is); refused when it is JSON but not a
    runcap outcome receipt."""
    try:
        doc = load_json(data)
    except strictjson.StrictJSONError:
        return None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not (isinstance(schema, str) and schema.startswith(RECEIPT_SCHEMA)):
        raise ImportRefused(where, f"a runcap outcome receipt (schema {RECEIPT_SCHEMA}v0.x)")
    assert isinstance(doc, dict)
    return doc


def _policy_rel(root: Path, receipt: JSON | None) -> str | None:
    """The policy that graded the run: the one the receipt names, else runcap's first."""
    meta = receipt.get("policy") if receipt is not None else None
    named = meta.get("source") if isinstance(meta, dict) else None
    if isinstance(named, str) and named:
        base = posixpath.basename(named)
        if not _safe_id(base):
            return None
        candidates = [f"{STORE}/{base}", base]
    else:
        candidates = [f"{STORE}/{name}" for name in POLICY_NAMES]
    for rel in candidates:
        path = root / rel
        if path.is_file() and not path.is_symlink():
            return rel
    return None


# -- collect: what git and the work tree show ---------------------------------------------------


def _git(root: Path, *args: str) -> bytes | None:
    """A plumbing command's stdout (None: git failed or is absent). Nothing the repository
    configures can run: fsmonitor is off and only plumbing that reads objects is used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"
    try:
        done = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", *args],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _baseline(receipt: JSON | None) -> str | None:
    vi = receipt.get("verificationIntegrity") if receipt is not None else None
    contract = vi.get("contract") if isinstance(vi, dict) else None
    commit = contract.get("baselineCommit") if isinstance(contract, dict) else None
    return commit if isinstance(commit, str) and _OID.fullmatch(commit) else None


def _z_paths(out: bytes) -> list[str]:
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def _tree(root: Path, commit: str) -> dict[str, str] | None:
    """path -> blob id of the baseline commit's tree (top-level relative)."""
    out = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    if out is None:
        return None
    tree: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            tree[os.fsdecode(name)] = parts[2].decode("ascii")
    return tree


def _blob_id(data: bytes | None, algorithm: str) -> str | None:
    """The git blob id of a work-tree file's bytes (None: nothing there)."""
    if data is None:
        return None
    digest = hashlib.new(algorithm)
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


class _WorkTree:
    """A tracked path's bytes as they are on disk (a link: its target text, as git stores
    it); None when nothing is there, a folder is, or a folder on the way is a link (a path
    is never followed out of the work tree)."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.folders: dict[str, bool] = {"": True}

    def _plain_folder(self, rel: str) -> bool:
        known = self.folders.get(rel)
        if known is None:
            parent = rel.rpartition("/")[0]
            path = self.top / rel
            known = self._plain_folder(parent) and path.is_dir() and not path.is_symlink()
            self.folders[rel] = known
        return known

    def read(self, rel: str) -> bytes | None:
        if not self._plain_folder(rel.rpartition("/")[0]):
            return None
        path = self.top / rel
        try:
            if path.is_symlink():
                return os.fsencode(os.readlink(path))
            return read_native(path, "a protected file") if path.is_file() else None
        except OSError:
            return None


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _in_store(path: str) -> bool:
    return any(part in STORE_FOLDERS for part in path.split("/")[:-1])


def _packable(path: str) -> bool:
    """A path a pack can hold as a file name (no backslash, no control character)."""
    return normalize_path(path) == path and not re.search(r"[\\\x00-\x1f\x7f]", path)


def _observe(
    root: Path,
    receipt: JSON | None,
    policy: bytes | None,
    policy_rel: str | None,
    native: dict[str, bytes],
) -> JSON:
    """Blob ids of every tracked file before and after, and the protected files' bytes,
    into ``native``; what was observed goes into the options."""
    commit = _baseline(receipt)
    if commit is None:
        return {"baseline_commit": None, "observed": "no baseline commit in the receipt"}
    top = _git(root, "rev-parse", "--show-toplevel")
    prefix_out = _git(root, "rev-parse", "--show-prefix")
    tree = _tree(root, commit)
    index = _git(root, "ls-files", "-z", "--cached", "--full-name", ":/")
    if top is None or prefix_out is None or tree is None or index is None:
        return {"baseline_commit": commit, "observed": "git could not read the baseline commit"}
    fmt_out = _git(root, "rev-parse", "--show-object-format")
    algorithm = "sha256" if fmt_out is not None and fmt_out.strip() == b"sha256" else "sha1"
    toplevel = Path(os.fsdecode(top.rstrip(b"\n")))
    prefix = os.fsdecode(prefix_out.rstrip(b"\n"))
    tracked = {p for p in (*tree, *_z_paths(index)) if not _in_store(p)}
    paths = sorted((p for p in tracked if _utf8(p)), key=lambda p: p.encode("utf-8"))
    skipped = len(tracked) - len(paths)  # names a pack (JSON text) cannot hold
    protected = _protected_rule(receipt, policy, policy_rel, prefix)
    disk = _WorkTree(toplevel)
    files: list[list[Any]] = []
    for rel in paths:
        data = disk.read(rel)
        files.append([rel, tree.get(rel), _blob_id(data, algorithm)])
        if not protected(rel):
            continue
        if not _packable(rel):
            skipped += 1
            continue
        if rel in tree:
            blob = _git(root, "cat-file", "blob", tree[rel])
            if blob is not None:
                native[BEFORE + rel + COPY_ENDING] = blob
        if data is not None:
            native[AFTER + rel + COPY_ENDING] = data
    record = {
        "importer": "vlab import runcap: the work tree observed at import time",
        "baseline_commit": commit,
        "object_format": algorithm,
        "prefix": prefix,
        "files": files,
    }
    native[OBSERVED] = json_bytes(record)
    return {"baseline_commit": commit, "observed": "git", "unpackable": skipped}


class _Protected:
    """Which tracked paths are protected evidence (top-level relative)."""

    def __init__(self, patterns: list[str], named: set[str]) -> None:
        self.patterns = patterns
        self.named = named

    def __call__(self, path: str) -> bool:
        if path in self.named or mission.runcap_default_protected(path):
            return True
        for pattern in self.patterns:
            try:
                if matches(pattern, path, Work()):
                    return True
            except PatternError:
                continue
        return False


def _protected_rule(
    receipt: JSON | None, policy: bytes | None, policy_rel: str | None, prefix: str
) -> _Protected:
    patterns: list[str] = []
    commands: list[Any] = []
    if policy is not None:
        fmt_ = "json" if (policy_rel or "").endswith(".json") else "yaml"
        doc, _ = mission.parse_policy(policy, fmt_)
        verification = doc.get("verification") if doc is not None else None
        if isinstance(verification, dict):
            texts, _ = mission.pattern_texts(verification.get("protect"))
            patterns, _ = mission.pattern_forms(texts)
            commands.append(verification.get("command"))
    verify = receipt.get("verify") if receipt is not None else None
    if isinstance(verify, dict):
        commands.append(verify.get("command"))
    named: set[str] = set()
    for command in commands:
        for rel in mission.verifier_paths(command):
            full = normalize_path(prefix + rel)
            if full is not None:
                named.add(full)
    vi = receipt.get("verificationIntegrity") if receipt is not None else None
    contract = vi.get("contract") if isinstance(vi, dict) else None
    files = contract.get("verifierFiles") if isinstance(contract, dict) else None
    for rel in files if isinstance(files, list) else []:
        full = normalize_path(prefix + rel) if isinstance(rel, str) else None
        if full is not None:
            named.add(full)
    return _Protected(patterns, named)


# -- derive: a pure function of the native bytes and the options --------------------------------


def derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    with exact():
        return _derive(native, options)


def _derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    outcome = options.get("outcome")
    if not isinstance(outcome, str) or not _safe_id(outcome):
        raise ImportRefused(IMPORT_WHERE, "the runcap outcome id in options.outcome")
    receipt_rel = f"{OUTCOMES}/{outcome}/receipt.json"
    data = native.get(receipt_rel)
    if data is None:
        raise ImportRefused(native_path(SYSTEM, receipt_rel), "runcap's outcome receipt")
    receipt = _receipt(data, native_path(SYSTEM, receipt_rel))
    mission_rel = f"{STORE}/missions/{outcome}/mission.json"
    record = _json_or_none(native.get(mission_rel))
    run = record if isinstance(record, dict) else {}
    named = options.get("policy")
    policy_rel = named if isinstance(named, str) and named in native else None
    policy = native[policy_rel] if policy_rel is not None else None
    r = receipt or {}
    notes: list[str] = []
    if receipt is None:
        notes.append(f"{receipt_rel} is not valid JSON: judged as a receipt that shows nothing")
    window = _window(run)
    attributed = _attributed(native.get(LEDGER), window)
    spend = _spend(r, attributed, window is not None)
    observed = _observed(native, options)
    verification = _verification(r, observed, run)
    claimed = _claimed(r)
    disagreements = _disagreements(r, spend, claimed, verification, observed, policy)
    derived_receipt: JSON = {
        "derived_from": r.get("schema"),
        "policy_sha256": _policy_hash(r),
        "policy_format": "json" if str(policy_rel or "").endswith(".json") else "yaml",
        "spend": spend,
        "claimed": claimed,
        "verification": verification,
        "integrity_grade": _vi(r).get("status"),
        "verdict": _mapping(r.get("policy")).get("verdict"),
        "blocked_reasons": _mapping(r.get("policy")).get("reasons"),
        "disagreements": disagreements,
        "sources": {
            "receipt": native_path(SYSTEM, receipt_rel),
            "mission": native_path(SYSTEM, mission_rel) if mission_rel in native else None,
            "policy": native_path(SYSTEM, policy_rel) if policy_rel is not None else None,
            "ledger": native_path(SYSTEM, LEDGER) if LEDGER in native else None,
            "observed": native_path(SYSTEM, OBSERVED) if OBSERVED in native else None,
        },
    }
    files: dict[str, bytes] = {RECEIPT_OUT: json_bytes(_plain(derived_receipt))}
    if policy is not None:
        files[POLICY_OUT] = policy
    events = _events(run, mission_rel, attributed)
    files[LOG_OUT] = ndjson_bytes(_plain(events))
    notes += _notes(r, spend, claimed, verification, options, window, policy_rel)
    ledger_lines = [line for line, _ in attributed]
    return Derived(
        files=files,
        pointers=[
            {
                "requirement_id": "RQ-D5-01",
                "artifact_path": RECEIPT_OUT,
                "locator": "file:",
                "status": "PRESENT",
            }
        ],
        run_id=outcome,
        created_at=_created_at(r, run, attributed),
        scenario_meta=scenario("mission_policy"),
        claims=_plain(_claims(r)),
        evidence={
            "guarded": verification["guarded"],
            "baseline_commit": options.get("baseline_commit"),
            "observation": verification["observation"],
            "protected_files": len(verification.get("protected_files") or []),
            "gateway_event_rule": EVENT_RULE,
            "gateway_lines": ledger_lines,
            "disagreements": len(disagreements),
        },
        notes=notes,
        derived_from=[
            {
                "record": RECEIPT_OUT,
                "from": [
                    p
                    for p in (
                        native_path(SYSTEM, receipt_rel),
                        native_path(SYSTEM, mission_rel) if mission_rel in native else None,
                        native_path(SYSTEM, LEDGER) if LEDGER in native else None,
                        native_path(SYSTEM, OBSERVED) if OBSERVED in native else None,
                    )
                    if p is not None
                ],
            },
            *(
                [{"record": POLICY_OUT, "from": [native_path(SYSTEM, policy_rel)]}]
                if policy_rel is not None
                else []
            ),
            {"record": LOG_OUT, "from": [native_path(SYSTEM, LEDGER)], "lines": ledger_lines},
        ],
    )


IMPORT_WHERE = "import.json"


def _plain(value: Any) -> Any:
    """A value echoed from native JSON, as strict derived JSON: numbers no money bound holds
    as short text (an exponent, never a million digits), everything else as it is."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return fmt(value) if money(value) is not None else str(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    return value


def _json_or_none(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return load_json(data)
    except strictjson.StrictJSONError:
        return None


def _mapping(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _vi(receipt: JSON) -> JSON:
    return _mapping(receipt.get("verificationIntegrity"))


def _policy_hash(receipt: JSON) -> Any:
    """runcap's hex policy hash in vlab's ``sha256:<hex>`` form (anything else as it is)."""
    value = _mapping(receipt.get("policy")).get("hash")
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return "sha256:" + value
    return value


# -- time: which ledger lines are the outcome's ------------------------------------------------


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 time as runcap writes it (``Date.toISOString``), or None."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or ".0")[1:]
    micro = int((fraction + "000000")[:6])
    zone = m.group(8)
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
    except ValueError:
        return None
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 60 + int(zone[4:6]))
        moment -= timedelta(minutes=offset)
    return moment


def _window(run: JSON) -> tuple[datetime, datetime] | None:
    start, end = _instant(run.get("startedAt")), _instant(run.get("finishedAt"))
    return (start, end) if start is not None and end is not None and start <= end else None


def _attributed(
    ledger: bytes | None, window: tuple[datetime, datetime] | None
) -> list[tuple[int, JSON]]:
    """(line, event) of every ledger line within the window, read as runcap reads them
    (a line that is not JSON is skipped, as runcap's safeJson does)."""
    if ledger is None or window is None:
        return []
    out: list[tuple[int, JSON]] = []
    for number, raw, _ in lines(ledger):
        if not raw.strip():
            continue
        try:
            event = load_json(raw)
        except strictjson.StrictJSONError:
            continue
        if not isinstance(event, dict):
            continue
        at = _instant(event.get("at"))
        if at is not None and window[0] <= at <= window[1]:
            out.append((number, event))
    return out


def _js_truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") or isinstance(value, (dict, list))


def _is_call(event: JSON) -> bool:
    status = event.get("status")
    return (
        isinstance(status, int)
        and not isinstance(status, bool)
        and 200 <= status < 300
        and _js_truthy(event.get("usage"))
    )


def _is_guard(event: JSON) -> bool:
    return event.get("status") == 429 and event.get("truth") == "budget_guard"


def _event_cost(event: JSON) -> Decimal | None:
    cost = event.get("cost")
    return money(cost.get("estimatedUsd")) if isinstance(cost, dict) else None


def _spend(receipt: JSON, attributed: list[tuple[int, JSON]], windowed: bool) -> JSON:
    work = _mapping(receipt.get("work"))
    duration = money(work.get("agentDurationMs"))
    runtime = fmt(duration / 1000) if duration is not None else None
    if not windowed:
        return {
            "cost_usd": None,
            "llm_calls": None,
            "unpriced_calls": 0,
            "runtime_seconds": runtime,
            "budget_guard_tripped": False,
            "ledger_lines": [],
        }
    total = Decimal(0)
    calls = unpriced = 0
    for _, event in attributed:
        cost = _event_cost(event)
        if cost is not None:
            total += cost
        if _is_call(event):
            calls += 1
            if cost is None:
                unpriced += 1
    return {
        "cost_usd": fmt(total),
        "llm_calls": calls,
        "unpriced_calls": unpriced,
        "runtime_seconds": runtime,
        "budget_guard_tripped": any(_is_guard(e) for _, e in attributed),
        "ledger_lines": [line for line, _ in attributed],
    }


def _claimed(receipt: JSON) -> JSON:
    """What runcap's receipt says about its own spend and work."""
    cost = _mapping(receipt.get("cost"))
    work = _mapping(receipt.get("work"))
    checks = _vi(receipt).get("checks")
    return {
        "cost_usd": _money_text(cost.get("actualCostUsd")),
        "verified_outcome_cost_usd": _money_text(cost.get("verifiedOutcomeCostUsd")),
        "llm_calls": cost.get("llmCalls"),
        "budget_guard_tripped": cost.get("budgetGuardTripped"),
        "changed_files": work.get("changedFiles"),
        "checks": [
            {"id": c.get("id"), "ok": c.get("ok")}
            for c in (checks if isinstance(checks, list) else [])
            if isinstance(c, dict)
        ],
    }


def _money_text(value: Any) -> Any:
    number = money(value)
    return fmt(number) if number is not None else value


# -- what the importer observed ---------------------------------------------------------------


def _observed(native: Mapping[str, bytes], options: Mapping[str, Any]) -> JSON | None:
    """The observation (files.json and the protected copies), or None when there is none."""
    doc = _json_or_none(native.get(OBSERVED))
    if not isinstance(doc, dict) or doc.get("baseline_commit") != options.get("baseline_commit"):
        return None
    rows = doc.get("files")
    changed: list[str] = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and row[1] != row[2]:
            changed.append(row[0])
    protected: dict[str, dict[str, str | None]] = {}
    for rel in sorted(native, key=lambda p: p.encode("utf-8")):
        for side, prefix in (("before", BEFORE), ("after", AFTER)):
            if rel.startswith(prefix) and rel.endswith(COPY_ENDING):
                path = rel[len(prefix) : -len(COPY_ENDING)]
                entry = protected.setdefault(path, {"before": None, "after": None})
                entry[side] = rel
    files = []
    for path in sorted(protected, key=lambda p: p.encode("utf-8")):
        entry = protected[path]
        before, after = entry["before"], entry["after"]
        files.append(
            {
                "path": path,
                "sha256_before": _sha(native, before),
                "sha256_after": _sha(native, after),
                "before": native_path(SYSTEM, before) if before else None,
                "after": native_path(SYSTEM, after) if after else None,
            }
        )
    return {"changed": changed, "protected": files}


def _sha(native: Mapping[str, bytes], rel: str | None) -> str | None:
    return None if rel is None else "sha256:" + hashlib.sha256(native[rel]).hexdigest()


def _paths(value: Any) -> list[str]:
    return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []


def _name_status(text: Any) -> set[str]:
    """The paths of ``git diff --name-status`` output (runcap's snapshot), runcap's store
    left out as runcap leaves it out (a line naming ``.runcap/`` or ``.aim-control/``)."""
    if not isinstance(text, str):
        return set()
    found: set[str] = set()
    for line in text.split("\n"):
        if not line or ".runcap/" in line or ".aim-control/" in line:
            continue
        _, _, names = line.partition("\t")
        found.update(n for n in names.split("\t") if n)
    return found


def _recorded_changes(run: JSON) -> list[str] | None:
    """What runcap's mission record says the run changed: its diffEvidence and the files
    its after-snapshot lists that its before-snapshot did not (None: no record)."""
    before, after = _mapping(run.get("before")), _mapping(run.get("after"))
    if not run or not after:
        return None
    found = set(_paths(_mapping(run.get("diffEvidence")).get("changedFiles")))
    found |= _name_status(after.get("diffNameStatus")) - _name_status(before.get("diffNameStatus"))
    return sorted(found, key=lambda p: p.encode("utf-8"))


def _verification(receipt: JSON, observed: JSON | None, run: JSON) -> JSON:
    verify = _mapping(receipt.get("verify"))
    vi = receipt.get("verificationIntegrity")
    guarded = isinstance(vi, dict)
    contract = _mapping(_mapping(vi).get("contract"))
    clean = _mapping(_mapping(vi).get("cleanRoom"))
    claimed = _paths(_mapping(receipt.get("work")).get("changedFiles"))
    seen = observed["changed"] if observed is not None else None
    recorded = _recorded_changes(run)
    union = set(claimed) | set(seen or ()) | set(recorded or ())
    observation = (
        "work tree" if seen is not None else "mission record" if recorded is not None else "none"
    )
    out: JSON = {
        "passed": verify.get("passed") is True,
        "baseline_failed": contract.get("baselineVerifyPassed") is False,
        "clean_replay_passed": clean.get("passed") is True,
        "guarded": guarded,
        "baseline_commit": contract.get("baselineCommit"),
        # how the changes were seen: the importer's own look at the work tree against the
        # baseline commit, else runcap's mission record (its git snapshots of the run)
        "observation": observation,
        "protected_observed": observation != "none",
        "changed_files": sorted(union, key=lambda p: p.encode("utf-8")),
        "changed_files_observed": seen,
        "changed_files_recorded": recorded,
        "changed_files_claimed": claimed,
    }
    if observed is not None:
        out["protected_files"] = observed["protected"]
    return out


def _disagreements(
    receipt: JSON,
    spend: JSON,
    claimed: JSON,
    verification: JSON,
    observed: JSON | None,
    policy: bytes | None,
) -> list[JSON]:
    """Where the receipt's claims and the importer's observations differ (both kept)."""
    out: list[JSON] = []

    def differ(what: str, said: Any, seen: Any) -> None:
        out.append({"what": what, "receipt": said, "observed": seen})

    if spend["cost_usd"] is not None and money(claimed["cost_usd"]) != money(spend["cost_usd"]):
        differ("cost_usd", claimed["cost_usd"], spend["cost_usd"])
    if spend["llm_calls"] is not None and claimed["llm_calls"] != spend["llm_calls"]:
        differ("llm_calls", claimed["llm_calls"], spend["llm_calls"])
    if spend["cost_usd"] is not None and bool(claimed["budget_guard_tripped"]) != bool(
        spend["budget_guard_tripped"]
    ):
        differ(
            "budget_guard_tripped", claimed["budget_guard_tripped"], spend["budget_guard_tripped"]
        )
    recorded = verification["changed_files_recorded"]
    if recorded is not None and set(recorded) != set(verification["changed_files_claimed"]):
        differ(
            "changed_files (runcap's mission record)",
            verification["changed_files_claimed"],
            recorded,
        )
    if observed is not None:
        said = set(verification["changed_files_claimed"])
        seen = set(observed["changed"])
        if said != seen:
            differ(
                "changed_files",
                sorted(said, key=lambda p: p.encode("utf-8")),
                sorted(seen, key=lambda p: p.encode("utf-8")),
            )
        checks = {c["id"]: c["ok"] for c in claimed["checks"] if isinstance(c.get("id"), str)}
        for entry in observed["protected"]:
            moved = entry["sha256_before"] != entry["sha256_after"]
            for check_id in (
                f"verifier_file_unchanged:{entry['path']}",
                f"protected_path_untouched:{entry['path']}",
            ):
                if check_id in checks and checks[check_id] is moved:
                    differ(check_id, checks[check_id], not moved)
            if moved and not any(
                c in checks
                for c in (
                    f"verifier_file_unchanged:{entry['path']}",
                    f"protected_path_untouched:{entry['path']}",
                )
            ):
                differ(f"protected file {entry['path']} changed", None, True)
    claimed_hash = _policy_hash(receipt)
    if policy is not None:
        actual = "sha256:" + hashlib.sha256(policy).hexdigest()
        if claimed_hash != actual:
            differ("policy_sha256", claimed_hash, actual)
    return out


# -- the derived event log, claims and notes ----------------------------------------------------


def _events(run: JSON, mission_rel: str, attributed: list[tuple[int, JSON]]) -> list[JSON]:
    where = native_path(SYSTEM, mission_rel)
    ledger = native_path(SYSTEM, LEDGER)
    events: list[JSON] = []
    if isinstance(run.get("startedAt"), str):
        events.append(
            {
                "event_id": "runcap-mission-start",
                "event_type": "run.started",
                "timestamp": run.get("startedAt"),
                "source": source(where, jsonptr="/startedAt"),
            }
        )
    for line, event in attributed:
        status = event.get("status")
        base: JSON = {
            "event_id": f"runcap-gateway-{line}",
            "timestamp": _text(event.get("at")),
            "model": _text(event.get("model")),
            "status": status if isinstance(status, int) and not isinstance(status, bool) else None,
        }
        if _is_guard(event):
            guard = _mapping(event.get("guard"))
            events.append(
                {
                    **base,
                    "event_type": "budget.decision",
                    "decision_kind": "budget",
                    "decision_outcome": "deny",
                    "estimated_cost_usd": _money_text(guard.get("callEstimateUsd")),
                    "spent_usd": _money_text(guard.get("spentUsd")),
                    "cap_usd": _money_text(guard.get("capUsd")),
                    "source": source(ledger, line=line),
                }
            )
        else:
            cost = _event_cost(event)
            events.append(
                {
                    **base,
                    "event_type": "llm.call",
                    "cost_usd": fmt(cost) if cost is not None else None,
                    "counted": _is_call(event),
                    "source": source(ledger, line=line),
                }
            )
    if isinstance(run.get("finishedAt"), str):
        events.append(
            {
                "event_id": "runcap-mission-end",
                "event_type": "run.completed",
                "timestamp": run.get("finishedAt"),
                "exit_code": _plain(run.get("exitCode")),
                "source": source(where, jsonptr="/finishedAt"),
            }
        )
    return events


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _claims(receipt: JSON) -> JSON:
    """What runcap said about the run (kept for review, never an answer)."""
    cost = _mapping(receipt.get("cost"))
    vi = _vi(receipt)
    policy = _mapping(receipt.get("policy"))
    return {
        "schema": receipt.get("schema"),
        "outcome": receipt.get("outcome"),
        "integrity_grade": vi.get("status"),
        "violations": vi.get("violations"),
        "verdict": policy.get("verdict"),
        "reasons": policy.get("reasons"),
        "policy_hash": policy.get("hash"),
        "cost_usd": _money_text(cost.get("actualCostUsd")),
        "verified_outcome_cost_usd": _money_text(cost.get("verifiedOutcomeCostUsd")),
        "llm_calls": cost.get("llmCalls"),
        "budget_guard_tripped": cost.get("budgetGuardTripped"),
    }


def _notes(
    receipt: JSON,
    spend: JSON,
    claimed: JSON,
    verification: JSON,
    options: Mapping[str, Any],
    window: tuple[datetime, datetime] | None,
    policy_rel: Any,
) -> Iterator[str]:
    yield f"gateway events of this outcome: {EVENT_RULE}"
    if window is None:
        yield "no mission record with startedAt/finishedAt: no gateway event can be attributed"
    if not verification["guarded"]:
        yield "runcap ran without its verification guard: CL-D5-01 cannot pass such a run"
    if verification["observation"] == "mission record":
        yield (
            f"the work tree was not observed ({options.get('observed')}): the changes are "
            "runcap's mission record of the run (its git snapshots), no file is hashed"
        )
    elif verification["observation"] == "none":
        yield (
            f"the changes were not observed ({options.get('observed') or 'no observation'}) "
            "and there is no mission record: protected evidence cannot be shown unchanged"
        )
    skipped = options.get("unpackable")
    if isinstance(skipped, int) and skipped:
        yield f"{skipped} tracked path(s) have names a pack cannot hold: not observed"
    said, seen = money(claimed["cost_usd"]), money(spend["cost_usd"])
    if said is not None and seen is not None and said != seen:
        yield (
            f"runcap's receipt says the run cost {fmt(said)}, its own gateway ledger prices "
            f"{spend['llm_calls']} call(s) at {fmt(seen)} (derived spend is the ledger's)"
        )
    if policy_rel is None:
        yield "no mission policy found in the work tree"
    yield "untracked files are not observed (runcap does not see them either)"


def _created_at(receipt: JSON, run: JSON, attributed: list[tuple[int, JSON]]) -> str:
    """The earliest native timestamp (the mission's start, the receipt, an event)."""
    candidates = [run.get("startedAt"), receipt.get("generatedAt")]
    candidates += [event.get("at") for _, event in attributed]
    timed = [(m, c) for c in candidates if (m := _instant(c)) is not None and isinstance(c, str)]
    return min(timed)[1] if timed else EPOCH


IMPORTERS = (
    Importer(
        system=SYSTEM,
        version=1,
        summary="runcap 0.6.0 work tree: one outcome's receipt, policy, gateway ledger, "
        "protected files",
        collect=collect,
        derive=derive,
        options={"outcome": "the outcome id (default: the one .runcap/outcomes/latest names)"},
    ),
)


__all__ = ["IMPORTERS", "collect", "derive"]
