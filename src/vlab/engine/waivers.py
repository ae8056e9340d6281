"""Waivers (rulesets-1.3 §5): an operator's signed-off exception for a FAIL clause.

``load_waivers`` reads the ``--waivers`` file (never the pack) under a strict schema; any
fault is a one-line usage error. ``apply_waivers`` is pure: the same ruling, waiver set
and ``as_of`` give the same ruling, so ``adjudicate`` and ``batch`` call it alike and the
clock is never read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from vlab.core.canonical import canonical_bytes
from vlab.core.errors import UsageError
from vlab.core.findings import Detail
from vlab.core.timestamps import utc_micros, utc_text
from vlab.core.vocabulary import FAIL, NOT_ADMISSIBLE
from vlab.engine.ruling import (
    ClauseRuling,
    ClauseWaiver,
    Ruling,
    WaiversSummary,
    topline,
)

# An advisory detail, like every advisory: in the clause's details, not in the ruling's
# reason codes (those are clause and admission reasons; decision 273).
WAIVER_EXPIRED = "WAIVER-EXPIRED"
MAX_WAIVERS_BYTES = 1 << 20  # an operator's file, but still bounded
_FIELDS = {
    "id",
    "clause_id",
    "rulesets",
    "ruleset_versions",
    "run_id",
    "pack_id",
    "reason",
    "approved_by",
    "expires",
}
_REQUIRED = ("clause_id", "reason", "approved_by", "expires")


@dataclass(frozen=True)
class Waiver:
    id: str
    clause_id: str
    rulesets: tuple[str, ...] | None  # ruleset ids (globs), or None: see ruleset_versions
    ruleset_versions: str | None  # a version range ("PEP 440 specifier set")
    selector: tuple[str, str]  # ("run_id" | "pack_id", glob)
    reason: str
    approved_by: str
    expires: str  # canonical UTC text

    def holds_for(self, ruling: Ruling) -> bool:
        rs = ruling.ruleset
        if self.rulesets is not None:
            if rs.id is None or not any(fnmatchcase(rs.id, g) for g in self.rulesets):
                return False
        elif self.ruleset_versions is not None:
            from packaging.specifiers import SpecifierSet
            from packaging.version import InvalidVersion, Version

            try:
                if rs.version is None or Version(rs.version) not in SpecifierSet(
                    self.ruleset_versions
                ):
                    return False
            except InvalidVersion:
                return False
        member, glob = self.selector
        value = ruling.pack.run_id if member == "run_id" else ruling.pack.pack_id
        return value is not None and fnmatchcase(value, glob)

    def expired_at(self, as_of: str) -> bool:
        return (utc_micros(self.expires) or 0) <= (utc_micros(as_of) or 0)


@dataclass(frozen=True)
class WaiverSet:
    sha256: str  # "sha256:" of the file's canonical content (decision 274)
    waivers: tuple[Waiver, ...]


def _fail(where: str, message: str) -> UsageError:
    return UsageError(f"--waivers: {where}: {message}")


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"{key} must be a non-empty string")
    return value


def _waiver(entry: Any, where: str) -> Waiver:
    if not isinstance(entry, dict):
        raise _fail(where, "a waiver must be a mapping")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise _fail(where, f"unknown member {unknown[0]!r}")
    for key in _REQUIRED:
        if key not in entry:
            raise _fail(where, f"missing {key}")
    if ("rulesets" in entry) == ("ruleset_versions" in entry):
        raise _fail(where, "name exactly one of rulesets or ruleset_versions")
    if ("run_id" in entry) == ("pack_id" in entry):
        raise _fail(where, "name exactly one of run_id or pack_id (a glob)")
    rulesets: tuple[str, ...] | None = None
    versions: str | None = None
    if "rulesets" in entry:
        ids = entry["rulesets"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise _fail(where, "rulesets must be a non-empty list of ruleset ids")
        rulesets = tuple(sorted(set(ids)))
    else:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        versions = _text(entry, "ruleset_versions", where)
        try:
            SpecifierSet(versions)
        except InvalidSpecifier:
            raise _fail(where, f"ruleset_versions is not a version range: {versions!r}") from None
    member = "run_id" if "run_id" in entry else "pack_id"
    glob = _text(entry, member, where)
    if glob.count("[") != glob.count("]"):
        raise _fail(where, f"{member} is not a valid glob: {glob!r}")
    expires = utc_text(entry["expires"])
    if expires is None:
        raise _fail(where, f"expires is not an RFC 3339 date-time: {entry['expires']!r}")
    fields = {
        "clause_id": _text(entry, "clause_id", where),
        "reason": _text(entry, "reason", where),
        "approved_by": _text(entry, "approved_by", where),
    }
    # Derived id: a digest of what the waiver says, so reordering the file keeps it.
    content: dict[str, Any] = {**fields, "expires": expires, member: glob}
    content["rulesets" if rulesets is not None else "ruleset_versions"] = (
        list(rulesets) if rulesets is not None else versions
    )
    wid = (
        _text(entry, "id", where)
        if "id" in entry
        else "W-" + hashlib.sha256(canonical_bytes(content)).hexdigest()[:12]
    )
    return Waiver(
        wid,
        fields["clause_id"],
        rulesets,
        versions,
        (member, glob),
        fields["reason"],
        fields["approved_by"],
        expires,
    )


def parse_waivers(data: bytes) -> WaiverSet:
    """The waiver set in ``data`` (YAML), or a one-line UsageError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if len(data) > MAX_WAIVERS_BYTES:
        raise _fail("file", f"larger than {MAX_WAIVERS_BYTES} bytes")
    try:
        # The base loader reads every scalar as text: a timestamp stays the text written.
        doc: Any = YAML(typ="base", pure=True).load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail("file", "not UTF-8") from None
    except (YAMLError, RecursionError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail("YAML", first) from None
    if not isinstance(doc, dict) or set(doc) != {"waivers"} or not isinstance(doc["waivers"], list):
        raise _fail("file", "must be a mapping with one member, waivers: a list")
    waivers = [_waiver(e, f"waiver {i + 1}") for i, e in enumerate(doc["waivers"])]
    ids = [w.id for w in waivers]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise _fail("file", f"waiver id {dup[0]!r} is given twice")
    canon = sorted((_canon(w) for w in waivers), key=lambda d: str(d["id"]))
    digest = "sha256:" + hashlib.sha256(canonical_bytes({"waivers": canon})).hexdigest()
    return WaiverSet(digest, tuple(sorted(waivers, key=lambda w: w.id)))


def _canon(w: Waiver) -> dict[str, Any]:
    return {
        "id": w.id,
        "clause_id": w.clause_id,
        "rulesets": list(w.rulesets) if w.rulesets is not None else None,
        "ruleset_versions": w.ruleset_versions,
        w.selector[0]: w.selector[1],
        "reason": w.reason,
        "approved_by": w.approved_by,
        "expires": w.expires,
    }


def load_waivers(path: str) -> WaiverSet:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_WAIVERS_BYTES + 1)
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_waivers(data)


def apply_waivers(ruling: Ruling, waivers: WaiverSet, as_of: str) -> Ruling:
    """``ruling`` with each unexpired matching waiver on its FAIL clause, the topline
    recomputed, and ``as_of``/``waivers`` recorded; sealed again if it was sealed."""
    applied: set[str] = set()
    expired: set[str] = set()
    clauses: list[ClauseRuling] = []
    admissible = ruling.admission.admissible
    for clause in ruling.clauses:
        # NOT_ADMISSIBLE (pack or clause) is never waivable; only a FAIL is.
        if not admissible or clause.status != FAIL or clause.status == NOT_ADMISSIBLE:
            clauses.append(clause)
            continue
        matching = [
            w for w in waivers.waivers if w.clause_id == clause.clause_id and w.holds_for(ruling)
        ]
        live = [w for w in matching if not w.expired_at(as_of)]
        for w in matching:
            if w.expired_at(as_of):
                expired.add(w.id)
        if live:
            w = live[0]  # waivers are in id order: the first is the one shown
            applied.add(w.id)
            clauses.append(
                replace(clause, waiver=ClauseWaiver(w.id, w.reason, w.approved_by, w.expires))
            )
        elif matching:
            note = Detail(
                WAIVER_EXPIRED,
                f"waiver {matching[0].id} expired at {matching[0].expires}",
                None,
                None,
                None,
                True,
            )
            clauses.append(replace(clause, details=(*clause.details, note)))
        else:
            clauses.append(clause)
    expired -= applied
    unmatched = {w.id for w in waivers.waivers} - applied - expired
    done = tuple(clauses)
    out = replace(
        ruling,
        clauses=done,
        topline=topline(admissible, done),
        as_of=as_of,
        waivers=WaiversSummary(
            waivers.sha256,
            tuple(sorted(applied)),
            tuple(sorted(unmatched)),
            tuple(sorted(expired)),
            sum(1 for c in done if c.waiver is not None),
        ),
    )
    return out.sealed() if ruling.digest is not None else out
