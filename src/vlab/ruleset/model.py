"""The loaded, resolved form of a ruleset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Template:
    """A message with ``{expression}`` holes filled from the evaluation context."""

    parts: tuple[str, ...]  # alternating literal, expression, literal, ...
    compiled: tuple[Any, ...]  # compiled expressions for the odd parts


@dataclass(frozen=True)
class DomainCall:
    """A call of a versioned domain check: its id and, per declared argument, the
    compiled expression (``value``) or the literal table/schema name it receives."""

    check_id: str
    arguments: tuple[tuple[str, str, Any], ...]  # (name, kind, expression or name)


@dataclass(frozen=True)
class Check:
    code: str | None
    holds: Any | None  # compiled JMESPath: truthy when the check holds
    when: Any | None  # compiled JMESPath: the check only runs when truthy
    findings: Any | None  # compiled JMESPath returning a list of finding objects
    message: Template | None
    advisory: bool
    emits: tuple[str, ...]
    violation: bool = False  # failing it means the evidence was found and violates
    domain: DomainCall | None = None  # format 2: a versioned domain check
    calls: tuple[str, ...] = ()  # ids of the domain checks this check runs (either format)


@dataclass(frozen=True)
class Codes:
    fail: str
    pointer_missing: str
    not_applicable: str | None
    evidence_absent: str | None


@dataclass(frozen=True)
class Clause:
    clause_id: str
    requirement_id: str
    domain: str
    title: str
    applies_when: Any | None
    not_evaluated_when: Any | None
    locators: frozenset[str]
    stream: bool  # a file: NDJSON artifact is read through built-ins, never materialized
    report: str
    checks: tuple[Check, ...]
    codes: Codes
    # format 2 ``pointers: each``: every PRESENT pointer must hold, not just one
    each_pointer: bool = False
    # format 2 ``pointers: first``: only the first PRESENT pointer that resolves is judged
    first_pointer: bool = False
    metrics: tuple[tuple[str, Any], ...] = ()  # name -> compiled expression (PASS only)
    # format 2 ``measured: evaluated``: these metrics are measured on FAIL too
    metrics_evaluated: frozenset[str] = frozenset()
    # format 2: name -> compiled expression, evaluated once per clause in the base context
    lets: tuple[tuple[str, Any], ...] = ()
    # format 2 ``severity``: None when undeclared (it counts as medium, and the ruling
    # omits the member, so rulesets without severities keep their rulings' bytes)
    severity: str | None = None


@dataclass(frozen=True)
class Ruleset:
    id: str
    version: str
    status: str
    purpose: str
    contract_versions: tuple[str, ...]
    protocol_pins: tuple[str, ...]
    tables: dict[str, frozenset[str]]
    clauses: tuple[Clause, ...]
    manifest_schemas: dict[str, dict[str, Any]]  # contract version -> schema
    bundle_manifest_schema: dict[str, Any]
    evidence_pointers_schema: dict[str, Any]
    extra_schemas: dict[str, dict[str, Any]]
    sha256: str  # "sha256:<hex>"
    schema_bundle_sha256: str  # 64 hex, what packs pin
    source: str  # where it was loaded from, for messages only (never in a ruling)
    document: dict[str, Any] = field(repr=False)  # the resolved document that is digested
    format: int = 1
    codes: dict[str, str] = field(default_factory=dict)  # ruleset-declared code -> meaning
    requires_signature: bool = False  # AUTHENTICITY runs even without --trust (trust.md)
    _validators: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)

    def validator(self, schema: dict[str, Any]) -> Any:
        """A reusable 2020-12 validator for one of this ruleset's schemas."""
        key = id(schema)
        if key not in self._validators:
            from vlab.core.schemas import validator

            self._validators[key] = validator(schema)
        return self._validators[key]

    def domain_checks(self) -> list[str]:
        """The versioned domain checks this ruleset calls (sorted ids)."""
        return sorted({cid for c in self.clauses for ck in c.checks for cid in ck.calls})

    def summary(self) -> dict[str, Any]:
        """What ``vlab rulesets show --format json`` prints."""
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "purpose": self.purpose,
            "sha256": self.sha256,
            "schema_bundle_sha256": self.schema_bundle_sha256,
            "protocol_pins": list(self.protocol_pins),
            "contract_versions": list(self.contract_versions),
            "format": self.format,
            "domain_checks": self.domain_checks(),
            "declared_codes": {
                code: self.document["codes"][code]
                for code in sorted(self.document.get("codes", {}))
            },
            "tables": {name: sorted(values) for name, values in sorted(self.tables.items())},
            "clauses": [
                {
                    "clause_id": c.clause_id,
                    "requirement_id": c.requirement_id,
                    "domain": c.domain,
                    "title": c.title,
                    **({"severity": c.severity} if c.severity is not None else {}),
                }
                for c in self.clauses
            ],
        }
