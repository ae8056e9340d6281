"""Shared pieces of the human renderings: detail lines, absent values, the codes' meanings,
what a failing clause needs, and the statement.

Every string from the ruling's data is escaped by ``vlab.core.escape`` (``human`` for a
terminal or JUnit, ``md_text``/``md_code`` for Markdown); so is every string from the
registry or a ruleset (a meaning, an evidence note); only the words and punctuation
written here are raw.

A ruling names its ruleset by id and digest. What a failing clause needs (its locators and
evidence note) and the meaning of a code only that ruleset declares come from the
installed ruleset with that digest: its compiled record is read directly (no engine, no
expression compiled), else the catalog loads it. A ruling of a ruleset that is not
installed (or was edited since) shows the registry's meanings and the pointer the clause's
requirement needs, nothing guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from vlab.core.codes import meaning as registry_meaning
from vlab.core.errors import UsageError
from vlab.core.escape import human
from vlab.core.findings import Detail
from vlab.core.vocabulary import FAIL, NOT_ADMISSIBLE, NOT_EVALUATED, PASS, SKIPPED

if TYPE_CHECKING:
    from vlab.engine.ruling import ClauseRuling, RulesetRef, Ruling
    from vlab.ruleset.model import Ruleset

NO_ENDORSEMENT = (
    "This ruling says whether the evidence satisfies the declared ruleset. It is not a "
    "badge, rank or certification of the system that produced the run."
)
STYLE = {
    PASS: "green",
    FAIL: "red",
    NOT_EVALUATED: "yellow",
    NOT_ADMISSIBLE: "magenta",
    SKIPPED: "dim",
}
ABSENT = "—"  # an absent value (JSON null) in human output: never Python's None
ELLIPSIS = "…"
HASH_SHOWN = 12  # hex digits of a shortened hash
_HASH = re.compile(
    r"(?<![0-9A-Za-z])(sha256:)?([0-9a-f]{" + str(HASH_SHOWN) + r"})"
    r"[0-9a-f]{" + str(64 - HASH_SHOWN) + r"}(?![0-9A-Za-z])"
)
POINTER_MISSING = "BUNDLE-POINTER-MISSING-"

FindRuleset = Callable[[str], "Ruleset | None"]


def detail_line(d: Detail, esc: Callable[[object], str] = human) -> str:
    """``CODE (advisory): message [path locator line N]`` with each piece of data escaped
    by ``esc``; the brackets are the renderer's own."""
    where = " ".join(
        esc(x)
        for x in (d.artifact_path, d.locator, f"line {d.line}" if d.line is not None else None)
        if x
    )
    tag = " (advisory)" if d.advisory else ""
    return f"{esc(d.code)}{tag}: {esc(d.message)}" + (f" [{where}]" if where else "")


def metric_value(value: object) -> str:
    """A metric as the human renderings show it (``null`` for None), not yet escaped."""
    return "null" if value is None else str(value)


def shown(value: object, esc: Callable[[object], str] = human, absent: str = ABSENT) -> str:
    """``esc(value)``, or ``absent`` for None (an absent value is never shown as None)."""
    return absent if value is None else esc(value)


def short_hashes(text: str, ellipsis: str = ELLIPSIS) -> str:
    """Every sha256 in ``text`` (``sha256:`` and 64 hex digits, or the bare digits) cut to
    its first ``HASH_SHOWN`` digits and ``ellipsis``: a table stays readable, the JSON
    ruling keeps the full value."""
    return _HASH.sub(lambda m: (m.group(1) or "") + m.group(2) + ellipsis, text)


def codes_of(ruling: Ruling) -> list[str]:
    """Every reason and detail code of the ruling, once each, in the order a reader meets
    them: admission's reason, each gate's details, then each clause's reason and details."""
    seen: dict[str, None] = {}
    found = [ruling.admission.reason_code]
    found += [d.code for g in ruling.admission.gates for d in g.details]
    for c in ruling.clauses:
        found += [c.reason_code, *(d.code for d in c.details)]
    for code in found:
        if code is not None:
            seen.setdefault(code, None)
    return list(seen)


def _locator_list(kinds: list[str]) -> str:
    names = [f"{k}:" for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class Glossary:
    """What a ruling's codes mean and what its failing clauses need, from the registry and
    the ruleset the ruling names (looked up once, only when something needs it)."""

    def __init__(self, ruling: Ruling, find_ruleset: FindRuleset | None = None) -> None:
        self.ref = ruling.ruleset
        self.find_ruleset = find_ruleset
        self._document: dict[str, Any] | None = None
        self._looked_up = False

    def document(self) -> dict[str, Any] | None:
        """The resolved document of the ruling's ruleset (digest-checked), or None."""
        if not self._looked_up:
            self._looked_up = True
            self._document = ruleset_document(self.ref, self.find_ruleset)
        return self._document

    def meaning(self, code: str) -> str | None:
        """The registry's one-line meaning, else the meaning the ruling's ruleset declares
        (format 2 codes, or the pattern codes of its own requirements)."""
        found = registry_meaning(code)
        if found is not None:
            return found
        doc = self.document()
        if doc is None:
            return None
        declared = doc.get("codes") or {}
        if isinstance(declared.get(code), str):
            return str(declared[code])
        from vlab.ruleset.compile import pattern_codes

        requirements = {str(c.get("requirement_id")) for c in doc.get("clauses", [])}
        return pattern_codes(requirements).get(code)

    def needs(self, clause: ClauseRuling) -> str | None:
        """For a FAIL clause, what evidence would satisfy it: the pointer its requirement
        needs, the locators the clause takes and the ruleset's evidence note. Raw text
        (ruleset words included): the renderer escapes it."""
        if clause.status != FAIL:
            return None
        rq = clause.requirement_id
        evidence = self._evidence(clause.clause_id)
        kinds = [str(k) for k in evidence.get("locators") or []] if evidence else []
        note = evidence.get("note") if evidence else None
        how = f" (locator {_locator_list(kinds)})" if kinds else ""
        if (clause.reason_code or "").startswith(POINTER_MISSING):
            text = f"add to evidence_pointers.json a PRESENT pointer for {rq}{how}"
        else:
            text = f"a PRESENT pointer for {rq}{how} to evidence that passes every check"
        return text + (f"; the ruleset says: {note}" if isinstance(note, str) and note else "")

    def _evidence(self, clause_id: str) -> dict[str, Any] | None:
        doc = self.document()
        for c in doc.get("clauses", []) if doc else []:
            if isinstance(c, dict) and c.get("clause_id") == clause_id:
                evidence = c.get("evidence")
                return evidence if isinstance(evidence, dict) else None
        return None


# -- the ruleset a ruling names, without the engine ----------------------------------------

_documents: dict[tuple[str, str, str, str], dict[str, Any] | None] = {}


def ruleset_document(
    ref: RulesetRef, find_ruleset: FindRuleset | None = None
) -> dict[str, Any] | None:
    """The resolved document of the installed ruleset ``ref`` names, when its digest is
    ``ref.sha256`` (so what is shown is what judged), else None. ``find_ruleset`` (a
    caller's loaded catalog) is asked first; then the compiled records of the shipped
    rulesets and of ``VLAB_RULESETS_PATH``; then the catalog loads the YAML."""
    if ref.id is None or ref.sha256 is None:
        return None
    if find_ruleset is not None:
        try:
            ruleset = find_ruleset(ref.id)
        except (UsageError, OSError):  # a ruleset that does not load: no hint, no crash
            ruleset = None
        if ruleset is not None and ruleset.sha256 == ref.sha256:
            return ruleset.document
    from vlab.ruleset.catalog import PATH_ENV, default_root

    key = (ref.id, ref.sha256, str(default_root()), os.environ.get(PATH_ENV, ""))
    if key not in _documents:
        _documents[key] = _installed_document(ref.id, ref.sha256)
    return _documents[key]


def _folders(ruleset_id: str) -> Iterator[Any]:
    from vlab.ruleset.catalog import default_root, env_dirs

    for root in (default_root(), *env_dirs()):
        yield root / ruleset_id
        if root.name == ruleset_id:  # a folder named in VLAB_RULESETS_PATH may be the ruleset's
            yield root


def _installed_document(ruleset_id: str, sha256: str) -> dict[str, Any] | None:
    import hashlib

    from vlab.core.canonical import canonical_bytes
    from vlab.ruleset.catalog import Catalog, env_dirs
    from vlab.ruleset.compiled import read_compiled
    from vlab.ruleset.loader import RULESET_FILE

    for folder in _folders(ruleset_id):
        record = read_compiled(folder / RULESET_FILE)
        doc = record.get("document") if record else None
        if isinstance(doc, dict):
            try:
                digest = "sha256:" + hashlib.sha256(canonical_bytes(doc)).hexdigest()
            except ValueError:
                continue
            if digest == sha256:
                return doc
    try:
        ruleset = Catalog(extra_dirs=env_dirs()).get(ruleset_id)
    except UsageError:
        return None
    return ruleset.document if ruleset is not None and ruleset.sha256 == sha256 else None


def status_label(c: ClauseRuling) -> str:
    """A clause's status as a table cell: a waived FAIL says so (``FAIL (waived)``)."""
    return c.status + (" (waived)" if c.waiver is not None else "")


def clause_notes(c: ClauseRuling) -> list[str]:
    """Severity (when declared) and waiver lines of a clause, as plain human text."""
    out = [f"severity: {human(c.severity)}"] if c.severity is not None else []
    if c.waiver is not None:
        w = c.waiver
        out.append(
            f"waived by {human(w.id)} (approved by {human(w.approved_by)}, expires "
            f"{human(w.expires)}): {human(w.reason)}"
        )
    return out


def ruling_notes(ruling: Ruling) -> list[str]:
    """The ``--as-of`` and ``--waivers`` lines of a ruling (none without them)."""
    out = [f"as of: {human(ruling.as_of)}"] if ruling.as_of is not None else []
    w = ruling.waivers
    if w is not None:
        out.append(
            f"waivers {human(w.sha256)}: {w.waived} waived failure(s); applied "
            f"{', '.join(map(human, w.applied)) or 'none'}; unmatched "
            f"{', '.join(map(human, w.unmatched)) or 'none'}; expired "
            f"{', '.join(map(human, w.expired)) or 'none'}"
        )
    return out
