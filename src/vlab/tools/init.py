"""``vlab pack init DIR --ruleset ID [--run-id ID]``: a minimal pack skeleton to fill in.

``init_pack`` writes, into a new or empty folder:

- ``manifest.json``: ``pack_id`` (the folder's name), the newest contract version the
  ruleset accepts (1.1 before 1.0), ``created_at`` (the current UTC time: a pack is being
  made here, no ruling reads it);
- ``bundle.manifest.json``: the pins -- ``ruleset_ref``, the ruleset's first protocol pin,
  its ``schema_bundle_sha256`` -- the ``run_id`` and an empty ``scenario_meta``;
- ``trace/events.ndjson``: an empty event log; ``evidence_pointers.json``: no pointers;
- ``NOTES.md``: what each clause of the ruleset needs (requirement id, locators, the
  ruleset's evidence note, when it applies, what its checks test), from the ruleset model.
  It is an allowed text artifact, so it is sealed and judged with the pack (no clause
  reads it).

Sealed as it is, the skeleton is admissible; its ruling is what an empty run earns: every
applicable clause FAILs with ``BUNDLE-POINTER-MISSING-<RQ>`` (a clause that applies only
when a ``scenario_meta`` key says so is NOT_EVALUATED), so the topline is FAIL until the
evidence NOTES.md describes is added. The same ruleset always gives the same NOTES.md.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlab.core.errors import UsageError
from vlab.core.escape import md_code, md_text

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog
    from vlab.ruleset.model import Ruleset

NOTES = "NOTES.md"
EVENT_LOG = "trace/events.ndjson"
# Contract versions a skeleton may claim, preferred first (1.2 is for imported packs).
CONTRACTS = ("1.1", "1.0")
_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_TABLE_REF = re.compile(r"in_table\(\s*'([^']+)'")
LOCATOR_FORMS = {
    "event_id": "event_id:<event_id>",
    "line": "line:<N>",
    "jsonptr": "jsonptr:/<path>",
    "file": "file:",
}


def pack_id_for(folder: Path) -> str:
    """A valid ``pack_id`` from a folder's name (other characters become ``-``)."""
    name = _ID_CHARS.sub("-", folder.resolve().name).strip("-")[:200]
    return name or "pack"


def init_pack(
    path: Path,
    ruleset_id: str,
    run_id: str | None = None,
    *,
    catalog: Catalog | None = None,
    created_at: str | None = None,
) -> list[str]:
    """Write the skeleton of a pack pinning ``ruleset_id`` at ``path``; returns the
    pack-relative files written, in writing order.

    ``run_id`` defaults to the pack id (the folder's name). ``catalog`` defaults to the
    shipped rulesets plus ``VLAB_RULESETS_PATH``; ``created_at`` to the current UTC time.
    Raises ``UsageError`` for an existing file or non-empty folder at ``path`` (nothing is
    written), an unknown ruleset (naming the known ones) or an empty ``run_id``.
    """
    if catalog is None:
        from vlab.ruleset.catalog import Catalog, env_dirs

        catalog = Catalog(extra_dirs=env_dirs())
    ruleset = catalog.get(ruleset_id)
    if ruleset is None:
        known = ", ".join(catalog.ids()) or "none"
        raise UsageError(f"unknown ruleset {ruleset_id!r} (known: {known})")
    if run_id is not None and not run_id.strip():
        raise UsageError("--run-id must not be empty")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise UsageError(f"not a folder: {path}")
    if path.is_dir() and any(path.iterdir()):
        raise UsageError(f"refusing to write into a folder that is not empty: {path}")

    pack_id = pack_id_for(path)
    contract = next((v for v in CONTRACTS if v in ruleset.contract_versions), None)
    contract = contract or (ruleset.contract_versions[0] if ruleset.contract_versions else "1.1")
    protocol = ruleset.protocol_pins[0] if ruleset.protocol_pins else "1.0.0"
    stamp = created_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    files: list[tuple[str, bytes]] = [
        (
            "manifest.json",
            _json(
                {
                    "pack_id": pack_id,
                    "contract_version": contract,
                    "protocol_version": protocol,
                    "created_at": stamp,
                }
            ),
        ),
        (
            "bundle.manifest.json",
            _json(
                {
                    "run_id": run_id if run_id is not None else pack_id,
                    "ruleset_ref": ruleset.id,
                    "protocol_pin": protocol,
                    "schema_bundle_sha256": ruleset.schema_bundle_sha256,
                    "scenario_meta": {},
                }
            ),
        ),
        ("evidence_pointers.json", _json({"pointers": []})),
        (EVENT_LOG, b""),
        (NOTES, notes(ruleset, path.name or pack_id).encode("utf-8")),
    ]
    for rel, data in files:
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return [rel for rel, _ in files]


def _json(value: Any) -> bytes:
    """As ``PackWriter.write_json`` writes a document (indented, a final newline)."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- NOTES.md ---------------------------------------------------------------------------------


def notes(ruleset: Ruleset, folder: str) -> str:
    """NOTES.md for a pack under ``ruleset``: what to add, then one section per clause."""
    docs = {c.get("clause_id"): c for c in ruleset.document.get("clauses", [])}
    scenario = ruleset.bundle_manifest_schema.get("properties", {}).get("scenario_meta", {})
    keys = sorted(scenario.get("properties", {}))
    lines = [
        f"# What this pack needs under {md_text(ruleset.id)} {md_text(ruleset.version)}",
        "",
        f"Written by `vlab pack init`. {md_text(ruleset.purpose)}",
        "",
        "To be judged PASS, every clause below that applies needs a pointer in "
        "`evidence_pointers.json` to a record that passes its checks:",
        "",
        "```json",
        '{"pointers": [',
        '  {"requirement_id": "RQ-…", "artifact_path": "trace/events.ndjson",',
        '   "locator": "event_id:evt-000001", "status": "PRESENT"}',
        "]}",
        "```",
        "",
        "- events go in `trace/events.ndjson`, one JSON object a line, each with a unique "
        "`event_id` (`vlab.producer.EventLog` writes them); receipts, ledgers and policies "
        "under `artifacts/`;",
        "- a clause whose applicability depends on the run is switched by "
        "`scenario_meta` in `bundle.manifest.json`"
        + (f" (keys this ruleset knows: {', '.join(md_code(k) for k in keys)})" if keys else "")
        + ";",
        "- keep the pins in `bundle.manifest.json` as written (`vlab rulesets show "
        f"{md_text(ruleset.id)}` prints them);",
        f"- then {md_code('vlab pack seal ' + folder)} and "
        f"{md_code('vlab adjudicate ' + folder)}; "
        "`vlab explain CODE` says what a code in the ruling means.",
        "",
        "Sealed as written, the pack is admissible, and every clause that applies FAILs "
        "with `BUNDLE-POINTER-MISSING-<requirement>` until its pointer is added.",
    ]
    for clause in ruleset.clauses:
        lines += ["", *_clause_notes(ruleset, clause, docs.get(clause.clause_id, {}))]
    return "\n".join(lines) + "\n"


def _clause_notes(ruleset: Ruleset, clause: Any, doc: dict[str, Any]) -> list[str]:
    evidence = doc.get("evidence", {}) if isinstance(doc.get("evidence"), dict) else {}
    forms = ", ".join(md_code(LOCATOR_FORMS.get(k, f"{k}:")) for k in sorted(clause.locators))
    applies = doc.get("applies_when")
    not_evaluated = doc.get("not_evaluated_when")
    out = [
        f"## {md_text(clause.clause_id)}: {md_text(clause.title)}",
        "",
        f"- requirement: {md_code(clause.requirement_id)} (the pointer's `requirement_id`)",
        f"- locators it accepts: {forms or 'none'}",
    ]
    if evidence.get("note"):
        out.append(f"- evidence: {md_text(evidence['note'])}")
    if applies:
        out.append(
            f"- applies when {_expr(applies)}; otherwise NOT_EVALUATED"
            + (f" ({md_code(clause.codes.not_applicable)})" if clause.codes.not_applicable else "")
        )
    else:
        out.append("- applies to every run")
    if not_evaluated:
        out.append(f"- NOT_EVALUATED when {_expr(not_evaluated)}")
    out.append(f"- without a pointer: FAIL {md_code(clause.codes.pointer_missing)}")
    checks = [_check_note(c) for c in doc.get("checks", []) if isinstance(c, dict)]
    if checks:
        out.append("- what is checked, in order:")
        out += [f"  - {text}" for text in checks]
    tables = sorted(set(_TABLE_REF.findall(json.dumps(doc.get("checks", [])))))
    for name in tables:
        if name in ruleset.tables:
            values = ", ".join(md_code(v) for v in sorted(ruleset.tables[name]))
            out.append(f"- table {md_code(name)}: {values}")
    return out


def _expr(text: Any) -> str:
    """An expression as one code span (its line breaks and indentation as single spaces)."""
    return md_code(" ".join(str(text).split()))


def _check_note(check: dict[str, Any]) -> str:
    """One check as one line: what must hold (or what is called), and its code."""
    if check.get("domain_check"):
        what = f"domain check {md_code(check['domain_check'])}"
    elif check.get("findings"):
        what = f"findings of {_expr(check['findings'])}"
    elif check.get("holds"):
        what = f"holds: {_expr(check['holds'])}"
    else:
        what = "a check"
    if check.get("when"):
        what += f" (only when {_expr(check['when'])})"
    codes = [check["code"]] if check.get("code") else list(check.get("emits") or [])
    if codes:
        what += " → " + ", ".join(md_code(c) for c in codes)
    if check.get("advisory"):
        what += " (advisory: never fails the clause)"
    return what
