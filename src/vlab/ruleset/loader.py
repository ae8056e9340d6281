"""Load a ruleset YAML file: check it, resolve ``extends``, compile it, digest it.

Every problem is a ``RulesetError`` naming the file and line: unknown keys, duplicate
ids, unregistered codes, expressions that do not compile, unknown built-ins or tables.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from vlab.builtins.functions import (
    BUILTIN_NAMES,
    JMESPATH_OWN,
    SCHEMA_ARGUMENTS,
    TABLE_ARGUMENTS,
    normalize_token,
)
from vlab.core.canonical import canonical_bytes
from vlab.core.codes import is_registered
from vlab.core.errors import RulesetError, UsageError
from vlab.data import DATA
from vlab.ruleset.model import Check, Clause, Codes, Ruleset, Template

RULESET_FILE = "ruleset.yaml"
_HOLE = re.compile(r"\{([^{}]+)\}")

Path_ = tuple[Any, ...]


class _Source:
    """One YAML file: its data and where each value sits."""

    def __init__(self, path: Path) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        self.path = path
        self.name = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesetError(self.name, None, f"cannot read ruleset: {exc}") from None
        yaml = YAML(typ="safe", pure=True)
        try:
            node = yaml.compose(text)
        except MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise RulesetError(self.name, line, f"YAML: {exc.problem}") from None
        except (YAMLError, RecursionError, ValueError) as exc:
            raise RulesetError(self.name, 1, f"YAML: {str(exc).splitlines()[0]}") from None
        self.lines: dict[Path_, int] = {}
        if node is not None:
            # Plain data only: anchors/aliases (and so alias bombs and cycles) and non-scalar
            # keys are refused before anything walks the document.
            self._visited: set[int] = set()
            try:
                self._map(node, ())
            except RecursionError:
                raise RulesetError(self.name, 1, "the ruleset nests too deeply") from None
        try:
            self.data: Any = YAML(typ="safe", pure=True).load(text)
        except MarkedYAMLError as exc:  # e.g. a duplicate key, at its line
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise RulesetError(self.name, line, f"YAML: {exc.problem}") from None
        except (YAMLError, RecursionError, ValueError) as exc:
            raise RulesetError(self.name, 1, f"YAML: {str(exc).splitlines()[0]}") from None

    @classmethod
    def bare(cls, path: Path) -> _Source:
        """A source known only by name (a compiled ruleset: nothing to point into)."""
        src = cls.__new__(cls)
        src.path, src.name, src.data, src.lines = path, str(path), None, {}
        src._visited = set()
        return src

    def _map(self, node: Any, at: Path_) -> None:
        line = node.start_mark.line + 1
        if id(node) in self._visited:
            raise RulesetError(self.name, line, "YAML anchors and aliases are not allowed")
        self._visited.add(id(node))
        self.lines[at] = line
        if node.id == "mapping":
            for key, value in node.value:
                if key.id != "scalar":
                    raise RulesetError(
                        self.name, key.start_mark.line + 1, "mapping keys must be plain scalars"
                    )
                here = (*at, key.value)
                self._map(value, here)
                # An error about a key points at the key's own line.
                self.lines[here] = key.start_mark.line + 1
        elif node.id == "sequence":
            for i, item in enumerate(node.value):
                self._map(item, (*at, i))

    def line(self, at: Path_) -> int | None:
        while at:
            if at in self.lines:
                return self.lines[at]
            at = at[:-1]
        return self.lines.get(())

    def error(self, at: Path_, message: str) -> RulesetError:
        return RulesetError(self.name, self.line(at), message)


@lru_cache(maxsize=1)
def _format_validator() -> Any:
    from vlab.core.schemas import validator

    return validator(json.loads((DATA / "ruleset-format.schema.json").read_text("utf-8")))


def format_errors(src: _Source) -> list[RulesetError]:
    """Every violation of the ruleset format, each with its line."""
    if not isinstance(src.data, dict):
        return [src.error((), "a ruleset must be a YAML mapping")]
    out = []
    for err in sorted(
        _format_validator().iter_errors(src.data),
        key=lambda e: (src.line(tuple(e.absolute_path)) or 0, list(map(str, e.absolute_path))),
    ):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        at = tuple(err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for key in extra:
                out.append(src.error((*at, key), f"unknown key {key!r} in {where}"))
            continue
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        out.append(src.error(at, f"{where}: {message}"))
    return out


def lint_ruleset(path: Path, parent_of: Callable[[str], dict[str, Any]]) -> list[RulesetError]:
    """Every load-time problem lint can find: YAML, then all format errors, then the rest."""
    try:
        src = _Source(path)
    except RulesetError as err:
        return [err]
    errors = format_errors(src)
    if errors:
        return errors
    try:
        load_ruleset(path, parent_of)
    except RulesetError as err:
        return [err]
    return []


def _check_format(src: _Source) -> None:
    if not isinstance(src.data, dict):
        raise src.error((), "a ruleset must be a YAML mapping")
    errors = sorted(
        _format_validator().iter_errors(src.data),
        key=lambda e: (src.line(tuple(e.absolute_path)) or 0, list(map(str, e.absolute_path))),
    )
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            at = (*tuple(err.absolute_path), extra[0]) if extra else tuple(err.absolute_path)
            raise src.error(at, f"unknown key {extra[0]!r} in {where}" if extra else err.message)
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        raise src.error(tuple(err.absolute_path), f"{where}: {message}")


def _load_schema(src: _Source, at: Path_, rel: str) -> dict[str, Any]:
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


def _resolve(src: _Source, parent: dict[str, Any] | None) -> dict[str, Any]:
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

    by_id = {c["clause_id"]: c for c in doc["clauses"]}
    for i, change in enumerate(data.get("clause_changes", [])):
        target = by_id.get(change["clause_id"])
        if target is None:
            raise src.error(
                ("clause_changes", i, "clause_id"),
                f"clause_changes names {change['clause_id']!r}, which the parent lacks",
            )
        for key in ("title", "applies_when", "not_evaluated_when", "report"):
            if key in change:
                target[key] = change[key]
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


def _compile_expression(
    src: _Source,
    at: Path_,
    text: str,
    tables: dict[str, frozenset[str]],
    schemas: frozenset[str] = frozenset(),
) -> Any:
    try:
        parsed = jmespath.compile(text)
    except JMESPathError as exc:
        raise src.error(at, f"expression does not compile: {exc}") from None
    except (RecursionError, ValueError) as exc:
        raise src.error(at, f"expression does not compile: {type(exc).__name__}") from None

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "function_expression":
            name = node.get("value")
            if name not in BUILTIN_NAMES and name not in JMESPATH_OWN:
                raise src.error(at, f"unknown built-in {name!r} in {text!r}")
            children = node.get("children") or []
            for kind, known, positions in (
                ("table", tables, TABLE_ARGUMENTS.get(name, ())),
                ("schema", schemas, SCHEMA_ARGUMENTS.get(name, ())),
            ):
                for i in positions:
                    arg = children[i] if i < len(children) else None
                    if not (isinstance(arg, dict) and arg.get("type") == "literal"):
                        raise src.error(at, f"{name}() needs a literal {kind} name in {text!r}")
                    if arg.get("value") not in known:
                        raise src.error(at, f"unknown {kind} {arg.get('value')!r} in {text!r}")
        for child in node.get("children", []):
            walk(child)

    try:
        walk(parsed.parsed)
    except RecursionError:
        raise src.error(at, "expression nests too deeply") from None
    return parsed


def _compile_template(
    src: _Source,
    at: Path_,
    text: str,
    tables: dict[str, frozenset[str]],
    schemas: frozenset[str] = frozenset(),
) -> Template:
    parts = tuple(_HOLE.split(text))
    compiled = tuple(
        _compile_expression(src, at, parts[i], tables, schemas) for i in range(1, len(parts), 2)
    )
    return Template(parts=parts, compiled=compiled)


def _registered(src: _Source, at: Path_, code: str) -> str:
    if src.data is not None and not is_registered(code):
        raise src.error(at, f"code {code!r} is not in the reason-code registry")
    return code


def _compile(src: _Source, doc: dict[str, Any]) -> tuple[dict[str, frozenset[str]], list[Clause]]:
    # Errors in inherited parts point at the child's clause list; inherited parts were
    # already checked when the parent loaded.
    tables = {
        name: frozenset(normalize_token(v) for v in values)
        for name, values in doc["tables"].items()
    }
    schema_names = frozenset(doc["schemas"]["extra"])
    clauses: list[Clause] = []
    for ci, c in enumerate(doc["clauses"]):
        at: Path_ = ("clauses", ci)
        if at not in src.lines:
            at = ("clause_changes",)

        def expr(where: Path_, text: str) -> Any:
            return _compile_expression(src, where, text, tables, schema_names)

        checks: list[Check] = []
        for k, ck in enumerate(c["checks"]):
            cat = (*at, "checks", k)
            checks.append(
                Check(
                    code=_registered(src, (*cat, "code"), ck["code"]) if "code" in ck else None,
                    holds=expr((*cat, "holds"), ck["holds"]) if "holds" in ck else None,
                    when=expr((*cat, "when"), ck["when"]) if "when" in ck else None,
                    findings=expr((*cat, "findings"), ck["findings"]) if "findings" in ck else None,
                    message=_compile_template(
                        src, (*cat, "message"), ck["message"], tables, schema_names
                    )
                    if "message" in ck
                    else None,
                    advisory=bool(ck.get("advisory", False)),
                    violation=bool(ck.get("violation", False)),
                    emits=tuple(
                        _registered(src, (*cat, "emits", i), e)
                        for i, e in enumerate(ck.get("emits", []))
                    ),
                )
            )
        codes = c["codes"]
        if "applies_when" in c and "not_applicable" not in codes:
            raise src.error((*at, "codes"), "applies_when needs codes.not_applicable")
        if "not_evaluated_when" in c and "evidence_absent" not in codes:
            raise src.error((*at, "codes"), "not_evaluated_when needs codes.evidence_absent")
        clauses.append(
            Clause(
                clause_id=c["clause_id"],
                requirement_id=c["requirement_id"],
                domain=c["domain"],
                title=c["title"],
                applies_when=expr((*at, "applies_when"), c["applies_when"])
                if "applies_when" in c
                else None,
                not_evaluated_when=expr((*at, "not_evaluated_when"), c["not_evaluated_when"])
                if "not_evaluated_when" in c
                else None,
                locators=frozenset(c["evidence"]["locators"]),
                stream=bool(c["evidence"].get("stream", False)),
                report=c.get("report", "first"),
                checks=tuple(checks),
                metrics=tuple(
                    (name, expr((*at, "metrics", name), text))
                    for name, text in c.get("metrics", {}).items()
                ),
                codes=Codes(
                    fail=_registered(src, (*at, "codes", "fail"), codes["fail"]),
                    pointer_missing=_registered(
                        src, (*at, "codes", "pointer_missing"), codes["pointer_missing"]
                    ),
                    not_applicable=_registered(
                        src, (*at, "codes", "not_applicable"), codes["not_applicable"]
                    )
                    if "not_applicable" in codes
                    else None,
                    evidence_absent=_registered(
                        src, (*at, "codes", "evidence_absent"), codes["evidence_absent"]
                    )
                    if "evidence_absent" in codes
                    else None,
                ),
            )
        )
    seen_rq: dict[str, str] = {}
    for cl in clauses:
        if cl.requirement_id in seen_rq:
            raise src.error(
                ("clauses",), f"{cl.clause_id} and {seen_rq[cl.requirement_id]} share a requirement"
            )
        seen_rq[cl.requirement_id] = cl.clause_id
    return tables, clauses


def schema_bundle_digest(schemas: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(schemas)).hexdigest()


def load_ruleset(path: Path, parent_of: Callable[[str], dict[str, Any]]) -> Ruleset:
    """Load ``path`` (a ruleset.yaml); ``parent_of(id)`` gives a parent's resolved document."""
    src = _Source(path)
    _check_format(src)
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
            raise src.error(("accepts",), f"accepts.{key} is required")
    schemas = doc["schemas"]
    for key in ("bundle_manifest", "evidence_pointers"):
        if key not in schemas:
            raise src.error(("schema_bundle",), f"schema_bundle.{key} is required")
    for version in doc["accepts"]["contract_versions"]:
        if version not in schemas["manifest"]:
            raise src.error(
                ("schema_bundle", "manifest"), f"no manifest schema for contract {version}"
            )
    return _build(src, doc)


def _build(src: _Source, doc: dict[str, Any]) -> Ruleset:
    tables, clauses = _compile(src, doc)
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
        contract_versions=tuple(doc["accepts"]["contract_versions"]),
        protocol_pins=tuple(doc["accepts"]["protocol_pins"]),
        tables=tables,
        clauses=tuple(clauses),
        manifest_schemas=schemas["manifest"],
        bundle_manifest_schema=schemas["bundle_manifest"],
        evidence_pointers_schema=schemas["evidence_pointers"],
        extra_schemas=schemas["extra"],
        sha256=digest,
        schema_bundle_sha256=schema_bundle_digest(schemas),
        source=str(src.path),
        document=doc,
    )


# -- compiled rulesets: the checked, resolved document, cached beside the YAML ------------
#
# Loading YAML and re-running every load-time check costs more than the rest of a small
# adjudication, so ``scripts/compile_rulesets.py`` writes ``ruleset.compiled.json``. It is
# used only while its fingerprint (every input byte: the YAML, its schemas, the parent's
# fingerprint, the registry, the format schema) still matches; otherwise the YAML is loaded.

COMPILED_FILE = "ruleset.compiled.json"
_FINGERPRINT_SALT = b"vlab-ruleset-compiled/1\0"


def fingerprint(path: Path, parent_fingerprint: str | None) -> str:
    digest = hashlib.sha256(_FINGERPRINT_SALT)
    schema_dir = path.parent / "schemas"
    inputs = [path, *(sorted(schema_dir.glob("*.json")) if schema_dir.is_dir() else [])]
    for name, data in [
        *((f.relative_to(path.parent).as_posix(), f.read_bytes()) for f in inputs),
        ("registry", (DATA / "reason_codes.yaml").read_bytes()),
        ("format", (DATA / "ruleset-format.schema.json").read_bytes()),
        ("parent", (parent_fingerprint or "").encode()),
    ]:
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def read_compiled(path: Path) -> dict[str, Any] | None:
    """The compiled record beside ``path`` (a ruleset.yaml), if there is one."""
    from vlab.core.strictjson import StrictJSONError, loads

    try:
        record = loads((path.parent / COMPILED_FILE).read_bytes())
    except (OSError, StrictJSONError):
        return None
    return record if isinstance(record, dict) else None


def from_compiled(path: Path, record: dict[str, Any]) -> Ruleset:
    return _build(_Source.bare(path), record["document"])


def compiled_record(ruleset: Ruleset, fp: str, extends: str | None) -> bytes:
    record = {
        "compiled_format": 1,
        "id": ruleset.id,
        "extends": extends,
        "fingerprint": fp,
        "document": ruleset.document,
    }
    return canonical_bytes(record) + b"\n"
