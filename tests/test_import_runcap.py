"""`vlab import runcap` on runcap 0.6.0's real work trees (fixtures/native/runcap): the
same tree imports to the same bytes from any folder, a folder that is not runcap's output
is refused (exit 65), damaged native bytes never crash, and on every case vlab's grade and
verdict equal runcap's own wherever runcap follows its README, and give the README's
answer, with the specific code, where it does not (rulesets-1.3.md §3)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, Runner
from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.domains import mission
from vlab.engine.pipeline import adjudicate
from vlab.importers import registry
from vlab.importers.api import import_pack
from vlab.importers.base import NATIVE, ImportRefused
from vlab.importers.build import derived_files
from vlab.pack.limits import artifact_kind
from vlab.pack.seal import seal
from vlab.ruleset.catalog import Catalog

if str(REPO) not in sys.path:  # the vector cases live in scripts/ (as under python -m pytest)
    sys.path.insert(0, str(REPO))
from scripts.vectors.cases_import_runcap import (
    FIXTURES,
    ROOT,
    outcome_id,
    rebuild,
)

D5 = "CL-D5-01"
CASES = sorted(p.name for p in (ROOT / FIXTURES).iterdir() if (p / "worktree").is_dir())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def worktree(tmp_path: Path, case: str) -> Path:
    """The case's git work tree, rebuilt as runcap left it (baseline commit included)."""
    tree = tmp_path / case
    shutil.copytree(ROOT / FIXTURES / case / "worktree", tree)
    rebuild(tree, case)
    return tree


def files_of(pack: Path) -> dict[str, bytes]:
    return {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted(pack.rglob("*"))
        if p.is_file()
    }


def clause(pack: Path, catalog: Catalog) -> dict[str, Any]:
    ruling = adjudicate(pack, catalog).to_json()
    assert ruling["admission"]["status"] == "ADMISSIBLE", ruling["admission"]
    found = next(c for c in ruling["clauses"] if c["clause_id"] == D5)
    assert isinstance(found, dict)
    return found


# -- reproducible, and only from runcap's output ------------------------------------------------


def test_the_same_work_tree_imports_to_the_same_bytes_from_any_folder(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path / "a", "forged-strong")
    import_pack("runcap", [tree], tmp_path / "p1", catalog=catalog)
    import_pack("runcap", [tree], tmp_path / "p2", catalog=catalog)
    moved = tmp_path / "elsewhere" / "deeper" / "copy"
    shutil.copytree(tree, moved, symlinks=True)  # .git included: the index's stat data is stale
    import_pack("runcap", [moved], tmp_path / "p3", catalog=catalog)
    first = files_of(tmp_path / "p1")
    assert first == files_of(tmp_path / "p2") == files_of(tmp_path / "p3")
    record = json.loads(first["import.json"])
    assert (
        record["options"]["baseline_commit"]
        == json.loads((ROOT / FIXTURES / "forged-strong" / "git.json").read_text("utf-8"))[
            "baseline_commit"
        ]
    )
    assert record["options"]["observed"] == "git"
    for path in first:
        if not path.startswith(("native/", "integrity/")):
            assert str(tmp_path).encode() not in first[path], path  # no machine path derived


def test_protected_files_before_and_after_are_copied_at_the_baseline_commit(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path, "cheat-test")
    import_pack("runcap", [tree], tmp_path / "pack", catalog=catalog)
    native = tmp_path / "pack" / NATIVE / "runcap"
    before = native / "protected/before/tests/sum.test.mjs.txt"
    after = native / "protected/after/tests/sum.test.mjs.txt"
    baseline = ROOT / FIXTURES / "cheat-test" / "baseline" / "tests" / "sum.test.mjs"
    assert before.read_bytes() == baseline.read_bytes()
    assert after.read_bytes() == (tree / "tests" / "sum.test.mjs").read_bytes()
    assert (native / "protected/before/package.json.txt").is_file()  # runcap's default set
    receipt = json.loads((tmp_path / "pack/artifacts/mission/outcome_receipt.json").read_bytes())
    protected = {e["path"]: e for e in receipt["verification"]["protected_files"]}
    assert (
        protected["tests/sum.test.mjs"]["sha256_before"]
        != protected["tests/sum.test.mjs"]["sha256_after"]
    )
    assert protected["package.json"]["sha256_before"] == protected["package.json"]["sha256_after"]
    assert receipt["verification"]["changed_files_observed"] == ["tests/sum.test.mjs"]


def test_the_policy_is_copied_byte_for_byte_and_its_hash_is_runcaps(
    tmp_path: Path, catalog: Catalog
) -> None:
    for case, name in (("honest-fix", "mission.yaml"), ("json-policy", "mission.json")):
        tree = worktree(tmp_path, case)
        pack = tmp_path / f"{case}-pack"
        import_pack("runcap", [tree], pack, catalog=catalog)
        policy = (tree / ".runcap" / name).read_bytes()
        assert (pack / "artifacts/mission/policy.yaml").read_bytes() == policy
        assert (pack / NATIVE / "runcap/.runcap" / name).read_bytes() == policy
        receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
        import hashlib

        assert receipt["policy_sha256"] == "sha256:" + hashlib.sha256(policy).hexdigest()
        assert receipt["policy_format"] == ("json" if name.endswith(".json") else "yaml")


def test_a_folder_that_is_not_runcaps_output_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README.md").write_text("not runcap\n")
    with pytest.raises(ImportRefused, match="outcome store"):
        import_pack("runcap", [plain], tmp_path / "p1", catalog=catalog)
    wrong = worktree(tmp_path, "honest-fix")
    receipt = wrong / ".runcap/outcomes" / outcome_id("honest-fix") / "receipt.json"
    receipt.write_text(json.dumps({"schema": "something-else/v1"}))
    with pytest.raises(ImportRefused, match="runcap outcome receipt"):
        import_pack("runcap", [wrong], tmp_path / "p2", catalog=catalog)
    with pytest.raises(ImportRefused, match="outcome receipt"):
        import_pack("runcap", [wrong], tmp_path / "p3", catalog=catalog, outcome="no-such-run")
    with pytest.raises(UsageError):
        import_pack("runcap", [wrong], tmp_path / "p4", catalog=catalog, outcome="../escape")
    assert not (tmp_path / "p1").exists() or not any((tmp_path / "p1").iterdir())


def test_the_command_line_exits_65_for_a_folder_that_is_not_runcaps(
    tmp_path: Path, vlab: Runner
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    proc = vlab("import", "runcap", plain, "--out", tmp_path / "pack", text=True)
    assert proc.returncode == 65, proc.stderr
    assert ".runcap/outcomes" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_without_its_git_history_the_changes_are_runcaps_mission_record(
    tmp_path: Path, catalog: Catalog
) -> None:
    # The fixture folder as committed (no .git of its own): nothing can be hashed against
    # the baseline, so the changes are those runcap's own mission record lists.
    for case, status in (("honest-fix", "PASS"), ("cheat-test", "FAIL")):
        tree = tmp_path / case
        shutil.copytree(ROOT / FIXTURES / case / "worktree", tree)
        pack = tmp_path / f"{case}-pack"
        import_pack("runcap", [tree], pack, catalog=catalog)
        record = json.loads((pack / "import.json").read_bytes())
        assert record["evidence"]["observation"] == "mission record"
        assert record["options"]["observed"] == "git could not read the baseline commit"
        assert clause(pack, catalog)["status"] == status
    # and with no mission record either, protected evidence cannot be shown unchanged
    bare = tmp_path / "bare"
    shutil.copytree(ROOT / FIXTURES / "honest-fix" / "worktree", bare)
    shutil.rmtree(bare / ".runcap" / "missions")
    pack = tmp_path / "bare-pack"
    import_pack("runcap", [bare], pack, catalog=catalog)
    found = clause(pack, catalog)
    assert [d["code"] for d in found["details"]][:1] == ["MISSION-VERIFIER-COMPROMISED"]
    assert "could not be observed" in found["details"][0]["message"]


def test_an_earlier_outcome_is_judged_by_its_own_record_not_the_later_work_tree(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path, "two-runs")
    first = outcome_id("two-runs", 0)
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog, outcome=first)
    assert not (pack / NATIVE / "runcap" / "observed").exists()
    receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
    assert receipt["verification"]["observation"] == "mission record"
    assert receipt["verification"]["changed_files"] == []  # the later fix is not this run's


MUTATIONS = {
    "empty": lambda b: b"",
    "half": lambda b: b[: len(b) // 2],
    "not-utf8": lambda b: b"\xff\xfe" + b[2:],
    "garbage": lambda b: b"\x00{[not json\n",
    "huge-number": lambda b: b'{"schema": "runcap.outcome-receipt/v0.3", "at": 1e999999}\n',
    "deep": lambda b: b"[" * 5000 + b"]" * 5000 + b"\n",
    "dup-keys": lambda b: b'{"a": 1, "a": 2}\n',
    "wrong-types": lambda b: (
        b'{"schema": "runcap.outcome-receipt/v0.3", "verify": [], "cost": "x", '
        b'"work": {"changedFiles": {}}, "verificationIntegrity": {"contract": 7}, '
        b'"startedAt": 5, "files": {"a": 1}}\n'
    ),
}


def test_damaged_native_bytes_derive_strictly_or_are_refused(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path, "forged-budget")
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog)
    importer = registry.get("runcap")
    assert importer is not None
    native = {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted((pack / NATIVE).rglob("*"))
        if p.is_file()
    }
    recorded = json.loads((pack / "import.json").read_bytes())["options"]
    judged = 0
    for path in native:
        for mutate in MUTATIONS.values():
            damaged = {**native, path: mutate(native[path])}
            try:
                files = derived_files(importer, damaged, recorded)
            except ImportRefused:
                continue
            for rel, data in files.items():
                if artifact_kind(rel) == "json":
                    strictjson.loads(data)
                elif artifact_kind(rel) == "ndjson":
                    for line in data.splitlines():
                        strictjson.loads(line)
            judged += 1
        target = pack / path
        original = target.read_bytes()
        target.write_bytes(MUTATIONS["half"](original))
        seal(pack)
        assert adjudicate(pack, catalog).admission.status in ("ADMISSIBLE", "NOT_ADMISSIBLE")
        target.write_bytes(original)
    seal(pack)
    assert adjudicate(pack, catalog).admission.status == "ADMISSIBLE"
    assert judged > 0


def test_an_edited_derived_receipt_is_not_admitted(tmp_path: Path, catalog: Catalog) -> None:
    tree = worktree(tmp_path, "cheat-test")
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog)
    path = pack / "artifacts/mission/outcome_receipt.json"
    doc = json.loads(path.read_bytes())
    doc["verification"]["protected_files"] = []
    doc["verification"]["changed_files"] = ["src/checkout/sum.mjs"]
    path.write_text(json.dumps(doc, indent=2) + "\n")
    seal(pack)
    ruling = adjudicate(pack, catalog).to_json()
    assert ruling["admission"]["status"] == "NOT_ADMISSIBLE"
    codes = [d["code"] for g in ruling["admission"]["gates"] for d in g["details"]]
    assert "CONTRACT-IMPORT-NOT-REPRODUCIBLE" in codes


# -- every case: vlab's grade and verdict vs runcap's own --------------------------------------

STRONG, WEAK, UNVERIFIED, COMPROMISED = (
    "VERIFIED_STRONG",
    "VERIFIED_WEAK",
    "UNVERIFIED",
    "VERIFIER_COMPROMISED",
)
# case -> (vlab's grade, vlab's verdict, the code that marks where vlab and runcap differ
# (None: runcap follows its README here, and vlab must agree with it)). runcap's own grade
# is its receipt's verificationIntegrity.status, its verdict `runcap ci`'s (the receipt's
# own policy.verdict for an outcome ci does not grade).
EXPECTED: dict[str, tuple[str, str, str | None]] = {
    "honest-fix": (STRONG, "PASS", None),
    "cheat-test": (COMPROMISED, "BLOCKED", None),
    "out-of-scope": (WEAK, "BLOCKED", None),
    "over-budget": (STRONG, "BLOCKED", None),
    "no-fix": (UNVERIFIED, "BLOCKED", None),
    "already-passing": (WEAK, "PASS", None),
    "tampered-failing": (UNVERIFIED, "BLOCKED", None),
    "too-many-calls": (STRONG, "BLOCKED", None),
    "over-time": (STRONG, "BLOCKED", None),
    "json-policy": (STRONG, "PASS", None),
    "two-runs": (STRONG, "PASS", None),
    "two-runs@first": (UNVERIFIED, "BLOCKED", None),
    # runcap trusts what its own documents say it should not:
    "forged-strong": (COMPROMISED, "BLOCKED", "MISSION-GRADE-INFLATED"),
    "forged-budget": (STRONG, "BLOCKED", "MISSION-OVER-BUDGET"),
    "policy-edited": (STRONG, "BLOCKED", "MISSION-POLICY-HASH-MISMATCH"),
    "no-guard": (WEAK, "BLOCKED", "MISSION-UNGUARDED"),
    "protect-glob": (COMPROMISED, "BLOCKED", "MISSION-VERIFIER-COMPROMISED"),
    "over-budget-unseen": (STRONG, "BLOCKED", "MISSION-OVER-BUDGET"),
    # runcap's prefix matching blocks its README's own example:
    "readme-policy": (STRONG, "PASS", "MISSION-RECEIPT-STRICTER"),
}


def runcap_said(case: str, first: bool) -> tuple[str | None, str | None]:
    """runcap's grade (the receipt) and verdict (`runcap ci`, else the receipt's)."""
    folder = ROOT / FIXTURES / case
    oid = outcome_id(case, 0 if first else -1)
    receipt = json.loads(
        (folder / "worktree/.runcap/outcomes" / oid / "receipt.json").read_text("utf-8")
    )
    grade = (receipt.get("verificationIntegrity") or {}).get("status")
    if first:
        return grade, (receipt.get("policy") or {}).get("verdict")
    log = (folder / "runcap.txt").read_text("utf-8")
    ci = log[log.rindex("$ runcap ci") :]
    verdict = re.findall(r"Mission verdict: (\w+)", ci)
    return grade, verdict[-1] if verdict else None


def test_every_case_has_an_expectation() -> None:
    assert sorted(k for k in EXPECTED if "@" not in k) == CASES


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_vlab_grade_and_verdict_against_runcaps_own(
    key: str, tmp_path: Path, catalog: Catalog
) -> None:
    case, _, which = key.partition("@")
    first = which == "first"
    tree = worktree(tmp_path, case)
    pack = tmp_path / "pack"
    options = {"outcome": outcome_id(case, 0)} if first else {}
    import_pack("runcap", [tree], pack, catalog=catalog, **options)
    found = clause(pack, catalog)
    codes = [d["code"] for d in found["details"]]
    receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
    policy, problems = mission.load_policy_v2(
        (pack / "artifacts/mission/policy.yaml").read_bytes(), receipt["policy_format"]
    )
    assert policy is not None, problems
    grade, _ = mission.recompute_v2(receipt, policy)
    verdict = "PASS" if found["status"] == "PASS" else "BLOCKED"
    want_grade, want_verdict, differs = EXPECTED[key]
    assert (grade, verdict) == (want_grade, want_verdict), codes
    runcap_grade, runcap_verdict = runcap_said(case, first)
    if differs is None:
        assert (grade, verdict) == (runcap_grade, runcap_verdict)
    else:
        assert (grade, verdict) != (runcap_grade, runcap_verdict)
        assert differs in codes
    if verdict == "PASS":
        assert not any(d["code"] in mission.BLOCKING_V2 for d in found["details"])


def test_the_outcomes_gateway_events_are_its_own(tmp_path: Path, catalog: Catalog) -> None:
    tree = worktree(tmp_path, "two-runs")
    for index, line in ((0, 1), (-1, 2)):
        pack = tmp_path / f"pack{index}"
        import_pack("runcap", [tree], pack, catalog=catalog, outcome=outcome_id("two-runs", index))
        receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
        assert receipt["spend"]["ledger_lines"] == [line]
        assert receipt["spend"]["llm_calls"] == 1
        events = [json.loads(x) for x in (pack / "trace/events.ndjson").read_bytes().splitlines()]
        calls = [e for e in events if e["event_type"] == "llm.call"]
        assert [e["source"]["line"] for e in calls] == [line]


def test_a_run_without_runcaps_guard_never_passes(tmp_path: Path, catalog: Catalog) -> None:
    tree = worktree(tmp_path, "no-guard")
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog)
    found = clause(pack, catalog)
    assert found["status"] == "FAIL"
    assert "MISSION-UNGUARDED" in [d["code"] for d in found["details"]]
    # even with the policy hash made right, the missing guard alone fails the clause
    receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
    policy = (pack / "artifacts/mission/policy.yaml").read_bytes()
    import hashlib

    receipt["policy_sha256"] = "sha256:" + hashlib.sha256(policy).hexdigest()
    found_codes = [
        f.code
        for f in mission.findings_v2(receipt, policy, receipt["policy_sha256"], "p")
        if not f.advisory
    ]
    assert found_codes == ["MISSION-UNGUARDED"]


def test_runcaps_zero_cost_is_kept_as_a_claim_and_the_ledger_prices_the_spend(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path, "honest-fix")
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog)
    record = json.loads((pack / "import.json").read_bytes())
    receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
    assert record["claims"]["cost_usd"] == "0"
    assert receipt["claimed"]["cost_usd"] == "0"
    assert receipt["spend"]["cost_usd"] == "0.000305"
    assert {"what": "cost_usd", "receipt": "0", "observed": "0.000305"} in receipt["disagreements"]
    assert found_metric(clause(pack, catalog)) == "0.000305"


def found_metric(found: dict[str, Any]) -> Any:
    return (found.get("metrics") or {}).get("verified_outcome_cost_usd")


def test_a_folder_replaced_by_a_link_is_never_followed_out_of_the_work_tree(
    tmp_path: Path, catalog: Catalog
) -> None:
    tree = worktree(tmp_path, "honest-fix")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sum.test.mjs").write_text("secret outside the work tree\n")
    shutil.rmtree(tree / "tests")
    (tree / "tests").symlink_to(outside, target_is_directory=True)
    pack = tmp_path / "pack"
    import_pack("runcap", [tree], pack, catalog=catalog)
    assert not any(b"secret outside" in data for data in files_of(pack).values())
    receipt = json.loads((pack / "artifacts/mission/outcome_receipt.json").read_bytes())
    entry = next(
        e for e in receipt["verification"]["protected_files"] if e["path"] == "tests/sum.test.mjs"
    )
    assert entry["sha256_after"] is None  # not there, as far as the work tree shows
    assert clause(pack, catalog)["status"] == "FAIL"
