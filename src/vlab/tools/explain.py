"""``vlab explain CODE``: what a reason or detail code means, where it comes from, and the
evidence that triggers it next to evidence that does not.

Everything said comes from data: the meaning from the registry (``reason_codes.yaml``) or
the ruleset that declares the code; which clauses emit it from the installed rulesets'
compiled clauses (a clause's codes, its checks' codes, what its domain checks ``emits``);
where the engine emits it and what a code pattern means from ``explanations.yaml``; the
examples from the golden vectors (``evidence_packs/``, in a source checkout): the vector
with the fewest codes that shows it, and the one nearest it (same group first) in which
the same clause passes (or, for an admission code, the pack is admitted). The search reads
only the vectors' ``expected.json`` and, for the two chosen, their pointers and the
records they point at; the same corpus always gives the same answer.

A code nothing knows is a usage error that names the closest known code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import vlab
from vlab.core.codes import closest, kind, registry
from vlab.core.errors import UsageError
from vlab.core.escape import human
from vlab.data import DATA
from vlab.pack.locators import parse_locator, resolve_jsonptr
from vlab.ruleset.compile import pattern_codes
from vlab.tools.corpus import EXPECTED, find_vectors

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog
    from vlab.ruleset.model import Clause, Ruleset

PLACEHOLDER = "<RQ>"  # how a pattern names its requirement id
SHOWN_CHARS = 200  # of a pointed record in an example
READ_BYTES = 1 << 20  # of an artifact read for an example
# The clause code a pattern is (``Codes`` field), by the pattern's prefix.
PATTERN_ROLES = {
    "REQ-FAIL-": "fail",
    "BUNDLE-POINTER-MISSING-": "pointer_missing",
    "EVAL-NOT-APPLICABLE-": "not_applicable",
    "EVAL-EVIDENCE-ABSENT-": "evidence_absent",
}
SECTIONS = ("engine", "patterns", "examples", "without_vector")


@lru_cache(maxsize=1)
def explanations() -> dict[str, dict[str, Any]]:
    """``explanations.yaml``: ``engine``, ``patterns``, ``examples``, ``without_vector``."""
    from ruamel.yaml import YAML

    data: Any = YAML(typ="safe", pure=True).load((DATA / "explanations.yaml").read_text("utf-8"))
    return {key: dict(data.get(key) or {}) for key in SECTIONS}


def pattern_prefixes() -> list[str]:
    """The prefixes of the per-requirement codes (as the ruleset compiler generates them)."""
    return sorted(code[: -len(PLACEHOLDER)] for code in pattern_codes({PLACEHOLDER}))


def default_corpus() -> Path | None:
    """The golden vectors of a source checkout (a wheel ships none)."""
    root = Path(vlab.__file__).resolve().parent.parent.parent / "evidence_packs"
    return root if root.is_dir() else None


# -- the public entry ---------------------------------------------------------------------


def explain(code: str, *, catalog: Catalog | None = None, corpus: Path | None = None) -> str:
    """The explanation of ``code`` (any case; a pattern such as ``REQ-FAIL-<RQ>`` too), as
    lines of text with every piece of data escaped. ``catalog`` defaults to the shipped
    rulesets plus ``VLAB_RULESETS_PATH``; ``corpus`` to the checkout's golden vectors."""
    if catalog is None:
        from vlab.tools.pool import catalog_for

        catalog = catalog_for(())
    wanted = code.strip().upper()
    if not wanted:
        raise UsageError("explain takes a code, e.g. REQ-FAIL-RQ-D1-01 or PIN-BUNDLE-MISSING")
    rulesets = _rulesets(catalog)
    prefix = _pattern_asked(wanted)
    if prefix is not None:
        return "\n".join(_explain_pattern(prefix, rulesets)) + "\n"
    meaning, declared_by = _meaning(wanted, rulesets)
    if meaning is None:
        raise UsageError(_unknown(code, wanted, rulesets))
    out = [human(wanted), f"  {_kind(wanted, declared_by)}: {human(meaning)}"]
    prefix = next((p for p in pattern_prefixes() if wanted.startswith(p)), None)
    if prefix is not None:
        rq = wanted[len(prefix) :]
        text = explanations()["patterns"].get(prefix, "")
        out.append(f"  pattern {prefix}{PLACEHOLDER}: {human(text.replace(PLACEHOLDER, rq))}")
    out += ["", "emitted by"]
    emitters = _emitters(wanted, rulesets)
    out += [f"  {line}" for line in emitters] or ["  nothing installed emits it"]
    out += _examples(wanted, rulesets, corpus if corpus is not None else default_corpus())
    return "\n".join(out) + "\n"


# -- meanings -----------------------------------------------------------------------------


def _rulesets(catalog: Catalog) -> list[Ruleset]:
    out = []
    for ruleset_id in catalog.ids():
        try:
            ruleset = catalog.get(ruleset_id)
        except UsageError:
            continue  # a ruleset that does not load emits nothing (``rulesets lint`` says why)
        if ruleset is not None:
            out.append(ruleset)
    return out


def _meaning(code: str, rulesets: list[Ruleset]) -> tuple[str | None, list[Ruleset]]:
    """(meaning, the rulesets that declare the code when the registry does not have it)."""
    reg = registry()
    found = reg["reason_codes"].get(code) or reg["detail_codes"].get(code)
    if found is not None:
        return found, []
    declared_by = [rs for rs in rulesets if code in rs.codes]
    return (declared_by[0].codes[code] if declared_by else None), declared_by


def _kind(code: str, declared_by: list[Ruleset]) -> str:
    if declared_by:
        return "declared by " + ", ".join(f"{rs.id} {rs.version}" for rs in declared_by)
    return "reason code" if kind(code) == "reason" else "detail code"


def _known_codes(rulesets: list[Ruleset]) -> set[str]:
    reg = registry()
    known = set(reg["reason_codes"]) | set(reg["detail_codes"])
    for rs in rulesets:
        known |= set(rs.codes)
    return known


def _unknown(given: str, wanted: str, rulesets: list[Ruleset]) -> str:
    message = (
        f"unknown code {human(given)!r}: not in the registry and declared by no installed ruleset"
    )
    prefix = next((p for p in pattern_prefixes() if wanted.startswith(p)), None)
    if prefix is not None:
        rq = wanted[len(prefix) :]
        message += f" ({prefix}{PLACEHOLDER}, and no installed ruleset has requirement {human(rq)})"
    best = closest(wanted, _known_codes(rulesets))
    return message + (f"; did you mean {best}?" if best else "")


def _pattern_asked(wanted: str) -> str | None:
    """The prefix when ``wanted`` names a pattern itself (``REQ-FAIL``, ``REQ-FAIL-``,
    ``REQ-FAIL-<RQ>``, ``REQ-FAIL-*``)."""
    for prefix in pattern_prefixes():
        if wanted in (prefix, prefix[:-1], prefix + PLACEHOLDER, prefix + "*"):
            return prefix
    return None


def _explain_pattern(prefix: str, rulesets: list[Ruleset]) -> list[str]:
    text = explanations()["patterns"].get(prefix, "")
    out = [f"{prefix}{PLACEHOLDER}", f"  pattern: {human(text)}", "", "codes of this pattern"]
    role = PATTERN_ROLES.get(prefix)
    rows = []
    for rs in rulesets:
        for c in rs.clauses:
            emitted = getattr(c.codes, role) if role else None
            if isinstance(emitted, str) and emitted.startswith(prefix):
                meaning, _ = _meaning(emitted, rulesets)
                rows.append(f"  {human(emitted)}  {rs.id} {human(c.clause_id)}: {human(meaning)}")
    return out + (rows or ["  no installed ruleset has one"])


# -- where it comes from ------------------------------------------------------------------


def _engine_emitter(code: str) -> str | None:
    table = explanations()["engine"]
    keys = [k for k in table if code.startswith(k)]
    return str(table[max(keys, key=len)]) if keys else None


def _emitters(code: str, rulesets: list[Ruleset]) -> list[str]:
    out = []
    engine = _engine_emitter(code)
    if engine is not None:
        out.append(human(engine))
    for rs in rulesets:
        documents = {
            c.get("clause_id"): c for c in rs.document.get("clauses", []) if isinstance(c, dict)
        }
        for clause in rs.clauses:
            roles = _roles(code, clause, documents.get(clause.clause_id) or {})
            if roles:
                where = f"{human(rs.id)} {human(rs.version)} {human(clause.clause_id)}"
                out.append(f"{where} ({human(clause.title)}): " + "; ".join(roles))
    return out


def _roles(code: str, clause: Clause, doc: dict[str, Any]) -> list[str]:
    """How one clause emits ``code`` (escaped text), if it does."""
    roles = []
    codes = clause.codes
    rq = human(clause.requirement_id)
    if codes.fail == code:
        roles.append("its reason when the pointed evidence breaks a check")
    if codes.pointer_missing == code:
        roles.append(f"its reason when no PRESENT pointer for {rq}; it needs {_needs(clause, doc)}")
    if codes.not_applicable == code:
        roles.append(f"its reason when applies_when is false: {human(doc.get('applies_when'))}")
    if codes.evidence_absent == code:
        roles.append(
            "its reason when no evidence is found and not_evaluated_when holds: "
            + human(doc.get("not_evaluated_when"))
        )
    doc_checks = doc.get("checks") or []
    aligned = len(doc_checks) == len(clause.checks)
    messages = []
    for i, check in enumerate(clause.checks):
        raw = doc_checks[i] if aligned and isinstance(doc_checks[i], dict) else {}
        tag = " (advisory)" if check.advisory else ""
        if check.code == code:
            messages.append(f'"{human(raw.get("message", ""))}"{tag}')
        if code in check.emits:
            by = ", ".join(check.calls) or "its findings expression"
            roles.append(f"a finding of {human(by)}{tag}")
    if messages:
        roles.append(("checks " if len(messages) > 1 else "check ") + ", ".join(messages))
    return roles


def _needs(clause: Clause, doc: dict[str, Any]) -> str:
    evidence = doc.get("evidence") if isinstance(doc.get("evidence"), dict) else {}
    assert isinstance(evidence, dict)
    kinds = [str(k) for k in evidence.get("locators") or sorted(clause.locators)]
    text = "locator " + (" or ".join(f"{k}:" for k in kinds) if kinds else "any")
    note = evidence.get("note")
    return human(text + (f" ({note})" if isinstance(note, str) and note else ""))


# -- examples from the golden vectors ------------------------------------------------------


@dataclass
class _Vector:
    id: str
    folder: Path
    expected: dict[str, Any]
    shown: set[Any] = field(default_factory=set)  # every code its expectation shows

    @property
    def group(self) -> str:
        return self.id.split("/", 1)[0]

    def where(self, code: str) -> list[str]:
        """``admission`` and/or the clause ids whose expectation shows ``code``."""
        adm = self.expected.get("admission") or {}
        out = []
        if adm.get("reason_code") == code or code in (adm.get("detail_codes") or []):
            out.append("admission")
        for clause_id, c in sorted((self.expected.get("clauses") or {}).items()):
            if c.get("reason_code") == code or code in (c.get("detail_codes") or []):
                out.append(clause_id)
        return out


@lru_cache(maxsize=4)
def _vectors(corpus: Path) -> tuple[_Vector, ...]:
    """The corpus's vectors by id, read once per process (``explain`` is one command)."""
    out = []
    for vector_id, folder in find_vectors(corpus):
        try:
            expected = json.loads((folder / EXPECTED).read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(expected, dict):
            continue
        v = _Vector(vector_id, folder, expected)
        adm = expected.get("admission") or {}
        v.shown = {adm.get("reason_code"), *(adm.get("detail_codes") or [])}
        for c in (expected.get("clauses") or {}).values():
            v.shown |= {c.get("reason_code"), *(c.get("detail_codes") or [])}
        v.shown.discard(None)
        out.append(v)
    return tuple(sorted(out, key=lambda v: v.id))


def _examples(code: str, rulesets: list[Ruleset], corpus: Path | None) -> list[str]:
    out = [""]
    data = explanations()
    if code in data["without_vector"]:
        return [*out, f"no golden vector can show it: {human(data['without_vector'][code])}"]
    if corpus is None:
        return [*out, "examples: the golden vectors (evidence_packs/) come with a source checkout"]
    vectors = {v.id: v for v in _vectors(corpus.resolve())}
    curated = data["examples"].get(code)
    if isinstance(curated, dict):
        trigger = vectors.get(str(curated.get("triggers")))
        passing = vectors.get(str(curated.get("passes")))
        where = "admission"
    else:
        trigger, passing, where = _search(code, list(vectors.values()))
    if trigger is None:
        return [*out, "no golden vector shows it"]
    by_id = {rs.id: rs for rs in rulesets}
    clause = _clause(by_id.get(str(trigger.expected.get("ruleset"))), where)
    out.append(f"evidence that triggers it: {human(_shown_path(corpus, trigger))}")
    out += _example(trigger, clause, corpus)
    out.append("")
    if passing is None:
        out.append("evidence that does not: no golden vector passes the same clause")
    else:
        out.append(f"evidence that does not: {human(_shown_path(corpus, passing))}")
        out += _example(passing, clause, corpus)
    return out


def _search(code: str, vectors: list[_Vector]) -> tuple[_Vector | None, _Vector | None, str]:
    """The vector with the fewest codes that shows ``code``, and the nearest one (same
    group first, then fewest codes) where the same clause passes or, for an admission
    code, the pack is admitted; ties go to the vector id."""
    showing = [v for v in vectors if code in v.shown]
    if not showing:
        return None, None, ""
    trigger = min(showing, key=lambda v: (len(v.shown), v.id))
    where = trigger.where(code)[0]
    ruleset = trigger.expected.get("ruleset")

    def passes(v: _Vector) -> bool:
        if code in v.shown or v.expected.get("shadow"):
            return False
        if where == "admission":  # any ruleset: a pack that names none is admitted by none
            return (v.expected.get("admission") or {}).get("status") == "ADMISSIBLE"
        clause = (v.expected.get("clauses") or {}).get(where) or {}
        return v.expected.get("ruleset") == ruleset and clause.get("status") == "PASS"

    candidates = [v for v in vectors if passes(v)]
    passing = min(
        candidates,
        key=lambda v: (
            v.expected.get("ruleset") != ruleset,
            v.group != trigger.group,
            len(v.shown),
            v.id,
        ),
        default=None,
    )
    return trigger, passing, where


def _clause(ruleset: Ruleset | None, where: str) -> Clause | None:
    if ruleset is None:
        return None
    return next((c for c in ruleset.clauses if c.clause_id == where), None)


def _shown_path(corpus: Path, v: _Vector) -> str:
    return f"{corpus.name}/{v.id}"


def _example(v: _Vector, clause: Clause | None, corpus: Path) -> list[str]:
    """The vector's description and, for a clause, the pack's pointers for its requirement
    and what each PRESENT one points at (and the scenario when the clause depends on it)."""
    out = [f"  {human(v.expected.get('description', ''))}"]
    if clause is None:
        return out
    pack = v.folder / "pack"
    if clause.applies_when is not None or clause.not_evaluated_when is not None:
        bundle = _json(pack / "bundle.manifest.json")
        scenario = bundle.get("scenario_meta") if isinstance(bundle, dict) else None
        out.append(f"  scenario_meta {_compact(scenario)}")
    doc = _json(pack / "evidence_pointers.json")
    raw = doc.get("pointers") if isinstance(doc, dict) else None
    pointers = [
        p
        for p in (raw if isinstance(raw, list) else [])
        if isinstance(p, dict) and p.get("requirement_id") == clause.requirement_id
    ]
    if not pointers:
        out.append(f"  no pointer for {human(clause.requirement_id)} in evidence_pointers.json")
    for p in pointers:
        out.append(f"  pointer {_compact(p)}")
        if p.get("status") == "PRESENT":
            out.append(f"    -> {_pointed(pack, p)}")
    return out


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes()[:READ_BYTES])
    except (OSError, ValueError):
        return None


def _compact(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    cut = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
    return human(cut)


def _pointed(pack: Path, pointer: dict[str, Any]) -> str:
    """What a pointer resolves to, shortly (an example's evidence, not a judgment)."""
    locator = parse_locator(str(pointer.get("locator", "")))
    path = pack / str(pointer.get("artifact_path", ""))
    try:
        if locator is None or not path.resolve().is_relative_to(pack.resolve()):
            raise OSError
        data = path.read_bytes()[:READ_BYTES]
    except (OSError, ValueError):
        return "(nothing readable)"
    text = data.decode("utf-8", "replace")
    if locator.kind in ("event_id", "line"):
        lines = text.splitlines()
        if locator.kind == "line":
            n = locator.line
            return _record(lines[n - 1]) if 0 < n <= len(lines) else "(no such line)"
        for line in lines:
            record = _loads(line)
            if isinstance(record, dict) and record.get("event_id") == locator.value:
                return _record(line)
        return "(no such event)"
    if locator.kind == "jsonptr":
        found, target = resolve_jsonptr(_loads(text), locator.value)
        return _compact(target) if found else "(no such member)"
    document = _loads(text)
    if document is not None:
        return _compact(document)
    return human(text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _record(line: str) -> str:
    record = _loads(line)
    return _compact(record) if record is not None else _compact(line)
