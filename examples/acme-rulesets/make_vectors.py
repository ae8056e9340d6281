"""Build the golden vectors of acme-budget-1.0 from committed evidence_packs/ seeds.

    python examples/acme-rulesets/make_vectors.py [--out DIR]

Each vector is ``<case>/pack/`` plus ``<case>/expected.json``. A pack is a committed
ruleset-1.2 vector's pack, adapted the way a producer at ACME would write it: the budget
decision names its cost centre, the run says which cost centre it was booked against,
the pointers name ACME's requirements, the bundle pins acme-budget-1.0 and its schema
bundle digest; then it is sealed with ``vlab pack seal``. The expectation is written from
the case (the seed's expectation for the inherited clauses, the case's own for ACME's),
never from running the engine. The output is byte-for-byte reproducible
(tests/test_examples.py rebuilds it and compares).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEEDS = ROOT / "evidence_packs"
RULESET_ID = "acme-budget-1.0"
LOG = "trace/events.ndjson"
LEDGER = "artifacts/budget/spend.jsonl"
DECISION = "evt-budget-001"  # the seeds' D1 budget decision record
BUNDLE_OF_11 = "a1dec33f54b5d28c438e0e2cecc48caf0133beb2d85332191a420f20db9c381c"
PIN_FAIL = "ADM-GATE-PIN-FAIL"
ACME = ("CL-ACME-01", "CL-ACME-02")
Clause = dict[str, Any]


def passed(*locators: str) -> Clause:
    return {
        "status": "PASS",
        "reason_code": None,
        "detail_codes": [],
        "evidence_locators": [*locators],
    }


def failed(reason: str, codes: list[str], *locators: str) -> Clause:
    return {
        "status": "FAIL",
        "reason_code": reason,
        "detail_codes": codes,
        "evidence_locators": [*locators],
    }


CENTRE_OK = passed(f"event_id:{DECISION}")
CAP_OK = passed("file:")


@dataclass(frozen=True)
class Case:
    name: str
    seed: str  # a vector under evidence_packs/ (a ruleset-1.2 one)
    description: str
    cost_centre: str | None  # written into the budget decision record; None: left out
    booked: str | None  # scenario_meta.acme_cost_centre; None: the run does not say
    acme: dict[str, Clause] = field(default_factory=dict)  # expected CL-ACME-01/02
    ledger_pointer: bool = True  # an RQ-ACME-02 pointer to the spend ledger
    pin: str | None = None  # pin another schema bundle (not acme-budget-1.0's)
    not_admissible: tuple[str, list[str]] | None = None  # (reason code, detail codes)


CASES = [
    Case(
        "pass-cost-centre-booked",
        "r12-d1-03/pass-exact-decimal",
        "the budget decision charges CC-4711, the cost centre the run was booked against",
        cost_centre="CC-4711",
        booked="CC-4711",
        acme={"CL-ACME-01": CENTRE_OK, "CL-ACME-02": CAP_OK},
    ),
    Case(
        "pass-cost-centre-token-spelling",
        "r12-d1-03/pass-over-daily-denied",
        "cc_research is the booked CC-RESEARCH as a token; the cap denial replays",
        cost_centre="cc_research",
        booked="CC-RESEARCH",
        acme={"CL-ACME-01": CENTRE_OK, "CL-ACME-02": CAP_OK},
    ),
    Case(
        "pass-cost-centre-not-booked",
        "r12-d1-03/pass-per-call-equal-allowed",
        "the run names no booked cost centre: a known cost centre is enough",
        cost_centre="CC-4712",
        booked=None,
        acme={"CL-ACME-01": CENTRE_OK, "CL-ACME-02": CAP_OK},
    ),
    Case(
        "fail-cost-centre-missing",
        "r12-d1-03/pass-exact-decimal",
        "the budget decision names no cost centre",
        cost_centre=None,
        booked="CC-4711",
        acme={
            "CL-ACME-01": failed(
                "REQ-FAIL-RQ-ACME-01", ["X-ACME-COST-CENTRE-MISSING"], f"event_id:{DECISION}"
            ),
            "CL-ACME-02": CAP_OK,
        },
    ),
    Case(
        "fail-cost-centre-unknown",
        "r12-d1-03/pass-exact-decimal",
        "the budget decision charges CC-9999, which ACME does not have",
        cost_centre="CC-9999",
        booked=None,
        acme={
            "CL-ACME-01": failed(
                "REQ-FAIL-RQ-ACME-01", ["X-ACME-COST-CENTRE-UNKNOWN"], f"event_id:{DECISION}"
            ),
            "CL-ACME-02": CAP_OK,
        },
    ),
    Case(
        "fail-cost-centre-not-the-booked-one",
        "r12-d1-03/pass-exact-decimal",
        "the budget decision charges CC-4712, the run was booked against CC-4711",
        cost_centre="CC-4712",
        booked="CC-4711",
        acme={
            "CL-ACME-01": failed(
                "REQ-FAIL-RQ-ACME-01", ["X-ACME-COST-CENTRE-MISMATCH"], f"event_id:{DECISION}"
            ),
            "CL-ACME-02": CAP_OK,
        },
    ),
    Case(
        "fail-cap-charge-after-deny",
        "r12-d1-03/fail-charge-after-deny",
        "spending_cap@1 through CL-ACME-02: a charge carries the call_id of a denied check",
        cost_centre="CC-4711",
        booked="CC-4711",
        acme={
            "CL-ACME-01": CENTRE_OK,
            "CL-ACME-02": failed("REQ-FAIL-RQ-ACME-02", ["LEDGER-CHARGE-AFTER-DENY"], "file:"),
        },
    ),
    Case(
        "fail-cap-not-optional",
        "r12-d1-03/not-evaluated-no-spend-cap",
        "the run says no spend_cap, so CL-D1-03 does not apply; at ACME a run without a "
        "capped spend ledger fails",
        cost_centre="CC-4711",
        booked="CC-4711",
        ledger_pointer=False,
        acme={
            "CL-ACME-01": CENTRE_OK,
            "CL-ACME-02": failed("BUNDLE-POINTER-MISSING-RQ-ACME-02", ["POINTER-MISSING"]),
        },
    ),
    Case(
        "not-admissible-pins-bundle-of-1.1",
        "r12-d1-03/pass-exact-decimal",
        "the pack pins acme-budget-1.0 with ruleset-1.1's schema bundle digest",
        cost_centre="CC-4711",
        booked="CC-4711",
        pin=BUNDLE_OF_11,
        not_admissible=(PIN_FAIL, ["PIN-SCHEMA-BUNDLE-MISMATCH"]),
    ),
]


def _json(path: Path, value: Any) -> None:
    """JSON as the committed vectors write it (PackWriter.write_json)."""
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _name_cost_centre(log: Path, cost_centre: str | None) -> None:
    """Write the cost centre into the budget decision record; every other line stays as is."""
    lines = log.read_bytes().split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        record = json.loads(raw)
        if record.get("event_id") != DECISION:
            continue
        if cost_centre is not None:
            record["cost_centre"] = cost_centre
        else:
            record.pop("cost_centre", None)
        lines[i] = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        break
    else:
        raise SystemExit(f"{log}: no record {DECISION}")
    log.write_bytes(b"\n".join(lines))


def _seal(pack: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "vlab", "pack", "seal", str(pack)],
        check=True,
        capture_output=True,
    )


def build(case: Case, folder: Path, bundle_sha256: str, clause_ids: list[str]) -> None:
    seed = SEEDS / case.seed
    pack = folder / "pack"
    shutil.copytree(seed / "pack", pack)

    manifest = _read(pack / "manifest.json")
    manifest["pack_id"] = case.name
    _json(pack / "manifest.json", manifest)

    bundle = _read(pack / "bundle.manifest.json")
    bundle["run_id"] = f"run-acme-{case.name}"
    bundle["ruleset_ref"] = RULESET_ID
    bundle["schema_bundle_sha256"] = case.pin or bundle_sha256
    if case.booked is not None:
        bundle.setdefault("scenario_meta", {})["acme_cost_centre"] = case.booked
    _json(pack / "bundle.manifest.json", bundle)

    pointers = _read(pack / "evidence_pointers.json")
    pointers["pointers"].append(
        {
            "requirement_id": "RQ-ACME-01",
            "artifact_path": LOG,
            "locator": f"event_id:{DECISION}",
            "status": "PRESENT",
        }
    )
    if case.ledger_pointer:
        pointers["pointers"].append(
            {
                "requirement_id": "RQ-ACME-02",
                "artifact_path": LEDGER,
                "locator": "file:",
                "status": "PRESENT",
            }
        )
    _json(pack / "evidence_pointers.json", pointers)
    _name_cost_centre(pack / LOG, case.cost_centre)
    _seal(pack)
    _json(folder / "expected.json", expectation(case, _read(seed / "expected.json"), clause_ids))


def expectation(case: Case, seed: dict[str, Any], clause_ids: list[str]) -> dict[str, Any]:
    """The seed's expectation for the inherited clauses plus the case's for ACME's, with
    the spec's topline rule over them (FAIL if any fails, else PASS if any passes)."""
    exp: dict[str, Any] = {"description": case.description, "ruleset": RULESET_ID}
    if case.not_admissible is not None:
        reason, codes = case.not_admissible
        exp.update(
            topline="NOT_ADMISSIBLE",
            exit_code=2,
            admission={"status": "NOT_ADMISSIBLE", "reason_code": reason, "detail_codes": codes},
            clauses={
                cid: {
                    "status": "NOT_ADMISSIBLE",
                    "reason_code": reason,
                    "detail_codes": [],
                    "evidence_locators": [],
                }
                for cid in clause_ids
            },
        )
        return exp
    assert seed["ruleset"] == "ruleset-1.2" and seed["admission"]["status"] == "ADMISSIBLE", (
        case.seed
    )
    assert sorted(case.acme) == sorted(ACME), case.name
    clauses = {**seed["clauses"], **case.acme}
    assert list(clauses) == clause_ids, case.name
    statuses = {c["status"] for c in clauses.values()}
    topline = "FAIL" if "FAIL" in statuses else "PASS" if "PASS" in statuses else "NOT_EVALUATED"
    exp.update(
        topline=topline,
        exit_code={"PASS": 0, "FAIL": 1, "NOT_EVALUATED": 3}[topline],
        admission={"status": "ADMISSIBLE", "reason_code": None, "detail_codes": []},
        clauses=clauses,
    )
    return exp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "vectors")
    args = parser.parse_args(argv)
    out: Path = args.out

    from vlab.ruleset.catalog import Catalog

    # What `vlab rulesets show acme-budget-1.0 --rulesets-dir examples/acme-rulesets` prints.
    ruleset = Catalog(extra_dirs=[HERE]).get(RULESET_ID)
    assert ruleset is not None
    clause_ids = [c.clause_id for c in ruleset.clauses]
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for case in CASES:
        build(case, out / case.name, ruleset.schema_bundle_sha256, clause_ids)
    print(f"built {len(CASES)} vectors under {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
