"""Load a ruleset YAML file: check it, resolve ``extends``, compile it, digest it.

Every problem is a ``RulesetError`` naming the file and line: unknown keys, duplicate
ids, unregistered codes, expressions that do not compile, unknown built-ins, tables,
domain checks or context names, and declared codes that differ from a domain check's.
``lint_ruleset`` returns all of them; ``load_ruleset`` raises the first.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlab.core.canonical import canonical_bytes
from vlab.core.errors import RulesetError, UsageError
from vlab.ruleset.compile import Compiler, Problems
from vlab.ruleset.model import Ruleset
from vlab.ruleset.source import Path_, Source, format_errors

RULESET_FILE = "ruleset.yaml"
ParentOf = Callable[[str], dict[str, Any]]


def lint_ruleset(path: Path, parent_of: ParentOf) -> list[RulesetError]:
    """Every load-time problem of one file: YAML, then all format errors, then every
    other problem (each clause, check, expression and code on its own)."""
    try:
        src = Source(path)
    except RulesetError as err:
        return [err]
    errors = format_errors(src)
    if errors:
        return errors
    problems = Problems(collect=True)
    try:
        _load(src, parent_of, problems)
    except RulesetError as err:
        problems.errors.append(err)
    return problems.errors


def load_ruleset(path: Path, parent_of: ParentOf) -> Ruleset:
    """Load ``path`` (a ruleset.yaml); ``parent_of(id)`` gives a parent's resolved document."""
    src = Source(path)
    errors = format_errors(src)
    if errors:
        raise errors[0]
    ruleset = _load(src, parent_of, Problems(collect=False))
    assert ruleset is not None
    return ruleset


def _load(src: Source, parent_of: ParentOf, problems: Problems) -> Ruleset | None:
    data = src.data
    parent = None
    if "extends" in data:
        if data["extends"] == data["id"]:
            raise src.error(("extends",), "a ruleset cannot extend itself")
        try:
            parent = parent_of(data["extends"])
        except RulesetError:
            raise
        except UsageError as exc:
            raise src.error(("extends",), str(exc)) from None
    doc = _resolve(src, parent)
    for key in ("contract_versions", "protocol_pins"):
        if not doc["accepts"].get(key):
            problems.add(src.error(("accepts",), f"accepts.{key} is required"))
    schemas = doc["schemas"]
    for key in ("bundle_manifest", "evidence_pointers"):
        if key not in schemas:
            problems.add(src.error(("schema_bundle",), f"schema_bundle.{key} is required"))
    for version in doc["accepts"].get("contract_versions", []):
        if version not in schemas["manifest"]:
            problems.add(
                src.error(
                    ("schema_bundle", "manifest"), f"no manifest schema for contract {version}"
                )
            )
    if int(data["format"]) < 2:
        for key in ("clauses", "clause_changes"):
            for i, c in enumerate(data.get(key, [])):
                for new in ("let", "pointers", "severity"):
                    if new in c:
                        problems.add(src.error((key, i, new), f"{new} needs format: 2"))
                for name, spec in c.get("metrics", {}).items():
                    if isinstance(spec, dict):
                        problems.add(
                            src.error((key, i, "metrics", name), "a metric object needs format: 2")
                        )
        if "codes" in data:
            problems.add(src.error(("codes",), "declared codes need format: 2"))
    built = build(src, doc, problems)
    return None if problems.errors else built


def _load_schema(src: Source, at: Path_, rel: str) -> dict[str, Any]:
    from vlab.core.strictjson import StrictJSONError, loads

    file = src.path.parent / rel
    try:
        doc = loads(file.read_bytes())
    except OSError as exc:
        raise src.error(at, f"schema file {rel}: {exc.strerror}") from None
    except StrictJSONError as exc:
        raise src.error(at, f"schema file {rel}: {exc.message}") from None
    if not isinstance(doc, dict):
        raise src.error(at, f"schema file {rel} is not a JSON object")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(doc)
    except SchemaError as exc:
        raise src.error(
            at, f"schema file {rel} is not a valid 2020-12 schema: {exc.message}"
        ) from None
    return doc


def _resolve(src: Source, parent: dict[str, Any] | None) -> dict[str, Any]:
    """The resolved document: parent + this file's changes, schemas inlined."""
    data = src.data
    doc: dict[str, Any] = (
        copy.deepcopy(parent)
        if parent is not None
        else {
            "accepts": {},
            "schemas": {"manifest": {}, "extra": {}},
            "tables": {},
            "clauses": [],
        }
    )
    for key in ("format", "id", "version", "status", "purpose"):
        doc[key] = data[key]
    doc.pop("extends", None)
    if "requires_signature" in data:  # only when said: other rulesets' digests are unchanged
        doc["requires_signature"] = data["requires_signature"]
    for key, value in data.get("accepts", {}).items():
        doc["accepts"][key] = list(value)
    bundle = data.get("schema_bundle", {})
    for version, rel in bundle.get("manifest", {}).items():
        doc["schemas"]["manifest"][version] = _load_schema(
            src, ("schema_bundle", "manifest", version), rel
        )
    for key in ("bundle_manifest", "evidence_pointers"):
        if key in bundle:
            doc["schemas"][key] = _load_schema(src, ("schema_bundle", key), bundle[key])
    for name, rel in bundle.get("extra", {}).items():
        doc["schemas"]["extra"][name] = _load_schema(src, ("schema_bundle", "extra", name), rel)
    for name, values in data.get("tables", {}).items():
        doc["tables"][name] = list(values)
    if "codes" in data:  # format 2: codes the ruleset declares (absent from 1.x documents)
        doc["codes"] = {**doc.get("codes", {}), **data["codes"]}

    by_id = {c["clause_id"]: c for c in doc["clauses"]}
    for i, change in enumerate(data.get("clause_changes", [])):
        target = by_id.get(change["clause_id"])
        if target is None:
            raise src.error(
                ("clause_changes", i, "clause_id"),
                f"clause_changes names {change['clause_id']!r}, which the parent lacks",
            )
        for key in (
            "title",
            "applies_when",
            "not_evaluated_when",
            "report",
            "let",
            "pointers",
            "severity",
        ):
            if key in change:
                target[key] = change[key]
        if "codes" in change:
            target["codes"] = {**target["codes"], **change["codes"]}
        if "metrics" in change:
            target["metrics"] = {**target.get("metrics", {}), **change["metrics"]}
        if "replace_checks" in change:
            target["checks"] = copy.deepcopy(change["replace_checks"])
        if "add_checks" in change:
            target["checks"] = target["checks"] + copy.deepcopy(change["add_checks"])
    for i, clause in enumerate(data.get("clauses", [])):
        if clause["clause_id"] in by_id:
            raise src.error(("clauses", i, "clause_id"), f"duplicate clause {clause['clause_id']}")
        by_id[clause["clause_id"]] = clause
        doc["clauses"].append(copy.deepcopy(clause))
    return doc


def schema_bundle_digest(schemas: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(schemas)).hexdigest()


def build(src: Source, doc: dict[str, Any], problems: Problems | None = None) -> Ruleset:
    """The ruleset of a resolved document (a compiled record's document too)."""
    compiler = Compiler(src, doc, problems or Problems(collect=False))
    clauses = compiler.clauses()
    try:
        digest = "sha256:" + hashlib.sha256(canonical_bytes(doc)).hexdigest()
    except ValueError as exc:
        raise src.error((), f"ruleset has no canonical JSON form: {exc}") from None
    schemas = doc["schemas"]
    return Ruleset(
        id=doc["id"],
        version=doc["version"],
        status=doc["status"],
        purpose=doc["purpose"],
        contract_versions=tuple(doc["accepts"].get("contract_versions", ())),
        protocol_pins=tuple(doc["accepts"].get("protocol_pins", ())),
        tables=compiler.tables,
        clauses=tuple(clauses),
        manifest_schemas=schemas["manifest"],
        bundle_manifest_schema=schemas.get("bundle_manifest", {}),
        evidence_pointers_schema=schemas.get("evidence_pointers", {}),
        extra_schemas=schemas["extra"],
        sha256=digest,
        schema_bundle_sha256=schema_bundle_digest(schemas),
        source=str(src.path),
        document=doc,
        format=compiler.format,
        codes=compiler.declared,
        requires_signature=doc.get("requires_signature") is True,
    )


def from_compiled(path: Path, record: dict[str, Any]) -> Ruleset:
    return build(Source.bare(path), record["document"])


# The compiled-ruleset cache lives in vlab.ruleset.compiled (re-exported for its script).
from vlab.ruleset.compiled import (  # noqa: E402
    COMPILED_FILE as COMPILED_FILE,
)
from vlab.ruleset.compiled import (  # noqa: E402
    compiled_record as compiled_record,
)
from vlab.ruleset.compiled import (  # noqa: E402
    fingerprint as fingerprint,
)
from vlab.ruleset.compiled import (  # noqa: E402
    read_compiled as read_compiled,
)
