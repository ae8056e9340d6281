"""What admission finds: the gates' results, the pointers, and what later stages read
(hashes, NDJSON indexes, parsed control files), all from bytes the gates already hashed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vlab.core.vocabulary import ADMISSIBLE, FAIL, NOT_ADMISSIBLE, PASS
from vlab.engine.ruling import GateRuling
from vlab.pack.locators import Locator
from vlab.pack.ndjson import NdjsonIndex
from vlab.ruleset.model import Ruleset

# A gate's result is the ruling's own record of it.
Gate = GateRuling


@dataclass(frozen=True)
class Pointer:
    requirement_id: str
    artifact_path: str
    locator: Locator
    status: str
    content_hash: str | None
    position: int  # index in evidence_pointers.json


@dataclass
class Admission:
    gates: list[Gate] = field(default_factory=list)
    pinned: Ruleset | None = None  # the ruleset ruleset_ref names, when installed
    run_id: str | None = None
    digest: str | None = None
    pack_id: str | None = None
    substrate: str | None = None
    contract_version: str | None = None
    scenario: dict[str, Any] = field(default_factory=dict)
    pointers: list[Pointer] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # path -> sha256 hex
    indexes: dict[str, NdjsonIndex] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)  # control files, parsed
    complete: bool = False  # every registered gate ran
    # {"policy_sha256", "signers"} when AUTHENTICITY ran (the ruling's ``trust``), else None
    trust: dict[str, Any] | None = None

    @property
    def admissible(self) -> bool:
        return self.complete and all(g.status == PASS for g in self.gates)

    @property
    def reason_code(self) -> str | None:
        for gate in self.gates:
            if gate.status == FAIL:
                return gate.gate + "-FAIL"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": ADMISSIBLE if self.admissible else NOT_ADMISSIBLE,
            "reason_code": self.reason_code,
            "gates": [g.to_json() for g in self.gates],
        }
