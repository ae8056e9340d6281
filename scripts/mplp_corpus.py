"""Import every MPLP Validation Lab run folder, judge it under mplp-compat-1.3, and compare
with upstream's recorded expectations.

    python -m scripts.mplp_corpus REPO --out DIR [--json FILE] [--table FILE]

REPO is a checkout of Coregentis/MPLP-Validation-Lab (f845bde was measured; CI has no
network, so the tests use the small committed corpus under fixtures/native/mplp/ only).
Every run folder is imported into DIR/<family>/<name> (or gets its one-line refusal), then
adjudicated (shadow packs go to DIR-shadow/). Upstream's recorded expectations are the 80
runs that carry one: the 40 test-vectors/v0.5 vectors (vector.manifest.json
expected_topline), the 24 v05 producer runs (producer-run.manifest.json expected_verdict)
and the 16 arb-* arbitration runs (verdict.json topline, the verdict each run was recorded
with; their ERCs' "Minimal Test Vectors"). A pack refused for its upstream integrity is
also judged in a shadow run (a copy of the run folder without upstream's sha256sums.txt,
judged by mplp-compat-1.3): a measurement of the rules alone, never a verdict. Each
disagreement is explained from the pack itself (upstream's defect, vlab's code).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from vlab.importers import import_pack
from vlab.importers.base import ImportRefused
from vlab.importers.mplp_js import canonptr
from vlab.ruleset.catalog import Catalog

RULESET = "mplp-compat-1.3"
FAMILIES = (
    ("data/runs", "*"),
    ("data/runs/v2", "*/*/*"),
    ("test-vectors/v0.5", "*/*/*"),
    ("fixtures/packs", "*"),
    ("public/data/runs", "*"),
)
EXPECTATION_FAMILIES = ("test-vectors/v0.5", "v05 producer runs", "arb v0.3", "arb v0.4")


def family(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if rel.startswith("data/runs/v2/"):
        return "data/runs/v2 runner runs"
    if rel.startswith("data/runs/"):
        if name.startswith("arb-") and name.endswith("-v0.3"):
            return "arb v0.3"
        if name.startswith("arb-") and name.endswith("-v0.4"):
            return "arb v0.4"
        if name.startswith("v05-"):
            return "v05 producer runs"
        if name.startswith(("mcp-", "pydantic-ai-")):
            return "data/runs pack_root runs"
        if name.startswith("gf-"):
            return "gf runs"
        return "data/runs other"
    return rel.split("/", 2)[0] + "/" + rel.split("/", 2)[1]


def run_folders(repo: Path) -> list[str]:
    found = []
    for base, pattern in FAMILIES:
        root = repo / base
        if not root.is_dir():
            continue
        for path in sorted(root.glob(pattern)):
            if path.is_dir():
                found.append(path.relative_to(repo).as_posix())
    return found


def _import(repo: Path, rel: str, out: Path, pin: str, catalog: Catalog) -> str | None:
    """None when imported, else the one-line refusal."""
    try:
        import_pack("mplp", [repo / rel], out, ruleset=pin, force=True, catalog=catalog, repo=repo)
    except ImportRefused as exc:
        return str(exc).replace(str(repo) + "/", "")
    return None


def _shadow_import(repo: Path, rel: str, out: Path, catalog: Catalog) -> str | None:
    """The run as if upstream had written no sums: a measurement, never a verdict."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / rel
        shutil.copytree(repo / rel, copy, symlinks=True)
        for sums in copy.rglob("sha256sums.txt"):
            sums.unlink()
        return _import(Path(tmp), rel, out, RULESET, catalog)


def _judge(pack: Path, catalog: Catalog, override: str | None = None) -> dict[str, Any]:
    from vlab.engine.pipeline import adjudicate

    ruling = adjudicate(
        pack, catalog, override=catalog.resolve(override) if override else None, digest=False
    )
    clauses = []
    for c in ruling.clauses:
        clauses.append(
            {
                "clause_id": c.clause_id,
                "status": c.status,
                "reason_code": c.reason_code,
                "details": [d.code for d in c.details],
                "messages": [d.message for d in c.details],
            }
        )
    gates = [
        {
            "gate": g.gate,
            "status": g.status,
            "details": [(d.code, d.message) for d in g.details if not d.advisory],
            "advisories": [d.code for d in g.details if d.advisory],
        }
        for g in ruling.admission.gates
    ]
    return {"topline": ruling.topline, "clauses": clauses, "gates": gates}


def _yardstick(repo: Path) -> dict[str, str]:
    """Upstream's recorded verdicts for the v0.15 yardstick runs (mcp-*, pydantic-ai-*):
    not expectations, but what upstream's own engine said (under its ruleset-1.3)."""
    path = repo / "public/_data/yardsticks/v0.15.0/yardstick-matrix.json"
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text("utf-8"))
    return {r["run_id"]: r["verdict"] for r in rows if isinstance(r, dict) and "run_id" in r}


def _import_record(pack: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((pack / "import.json").read_text("utf-8"))
    return record


def _expected(family_name: str, record: dict[str, Any]) -> tuple[str | None, str | None]:
    claims = record.get("claims") or {}
    if family_name in ("test-vectors/v0.5", "v05 producer runs"):
        exp = claims.get("expected") or {}
        return exp.get("topline"), exp.get("reason_code")
    if family_name in ("arb v0.3", "arb v0.4"):
        ver = claims.get("verdict") or {}
        return ver.get("topline"), ver.get("reason_code")
    return None, None


def _codes(judged: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for g in judged["gates"]:
        codes += [code for code, _ in g["details"]]
    for c in judged["clauses"]:
        if c["status"] == "FAIL":
            codes += [c["reason_code"], *c["details"]]
    for g in judged["gates"]:  # advisories last: they never decide a topline
        codes += g["advisories"]
    return list(dict.fromkeys(c for c in codes if c))


def explain(
    pack: Path, judged: dict[str, Any], expected: str, shadow: tuple[Path, dict[str, Any]] | None
) -> str:
    """The upstream defect behind a disagreement, read from the pack (or 'unexplained')."""
    record = _import_record(pack)
    integrity = (record.get("evidence") or {}).get("upstream_integrity") or {}
    problems = integrity.get("problems") or []
    refused = [p for p in problems if p.get("effect") == "refused"]
    if judged["topline"] == "NOT_ADMISSIBLE" and refused:
        first = refused[0]["problem"]
        problems = refused
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        text = f"upstream integrity: {first}{more}"
        if shadow is not None and shadow[1]["topline"] != expected:
            text += "; and on the rules alone: " + _rules(shadow[0], shadow[1])
        return text
    return _rules(pack, judged)


def _rules(pack: Path, judged: dict[str, Any]) -> str:
    bundle = json.loads((pack / "bundle.manifest.json").read_text("utf-8"))
    scenario = bundle.get("scenario_meta") or {}
    pointers = json.loads((pack / "evidence_pointers.json").read_text("utf-8"))["pointers"]
    reasons = []
    for c in judged["clauses"]:
        if c["status"] == "FAIL" and c["reason_code"] == "BUNDLE-POINTER-MISSING-RQ-D2-01":
            reasons.append(
                "the producer writes no RQ-D2-01 pointer (its lifecycle event has no "
                "decision_kind, so producers/*/run.mjs emits none)"
            )
        if c["status"] == "FAIL" and "POINTER-UNRESOLVABLE" in c["details"]:
            reasons.append(_canon_reason(pack, pointers))
    domains = scenario.get("target_domains") or []
    if "D3" in domains and scenario.get("privileged_action") is False:
        reasons.append(
            "bundle scenario_meta.privileged_action is false, copied from the template "
            "(scripts/generate-v04-packs.mjs:106); ERC D3 does not evaluate a non-privileged run"
        )
    return "; ".join(dict.fromkeys(reasons)) or "unexplained"


def _canon_reason(pack: Path, pointers: list[dict[str, Any]]) -> str:
    events = [
        json.loads(line)
        for line in (pack / "trace/events.ndjson").read_text("utf-8").splitlines()
        if line.strip()
    ]
    for p in pointers:
        loc = p["locator"]
        if not loc.startswith("event_id:canonptr:"):
            continue
        wanted = loc[len("event_id:") :]
        seq = 0
        for e in events:
            if not e.get("decision_kind"):
                continue
            ptr = canonptr(e, seq)
            if ptr is None:
                continue
            without = canonptr({k: v for k, v in e.items() if k != "amount"}, seq)
            if without == wanted and ptr != wanted:
                return (
                    f"the producer's canonptr {wanted} omits amount from the digest "
                    "(producers/*/run.mjs; lib/evidence/canonptr.ts includes it): it matches "
                    "no event"
                )
            seq += 1
        return f"canonptr {wanted} matches no event of the log"
    return "a pointer resolves to nothing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a checkout of Coregentis/MPLP-Validation-Lab")
    parser.add_argument("--out", type=Path, required=True, help="where the packs are written")
    parser.add_argument("--json", type=Path, help="write every result as JSON here")
    parser.add_argument("--table", type=Path, help="write the disagreement table (markdown)")
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    out: Path = args.out
    catalog = Catalog()
    yardstick = _yardstick(repo)
    results = []
    for rel in run_folders(repo):
        fam = family(rel)
        pack = out / fam.replace(" ", "-").replace("/", "_") / rel.rsplit("/", 1)[-1]
        refused = _import(repo, rel, pack, RULESET, catalog)
        row: dict[str, Any] = {"run": rel, "family": fam, "refused": refused}
        if refused is None:
            judged = _judge(pack, catalog)
            row["topline"] = judged["topline"]
            row["codes"] = _codes(judged)
            row["ruleset_1_1"] = _judge(pack, catalog, "ruleset-1.1")["topline"]
            exp, exp_code = _expected(fam, _import_record(pack))
            row["expected"], row["expected_reason"] = exp, exp_code
            shadowed = None
            if judged["topline"] == "NOT_ADMISSIBLE":
                shadow = out.with_name(out.name + "-shadow") / pack.relative_to(out)
                if _shadow_import(repo, rel, shadow, catalog) is None:
                    shadowed = (shadow, _judge(shadow, catalog, RULESET))
                    row["rules_only"] = shadowed[1]["topline"]
            if exp is not None and exp != judged["topline"]:
                row["explanation"] = explain(pack, judged, exp, shadowed)
            recorded = yardstick.get(rel.rsplit("/", 1)[-1])
            if recorded is not None and fam == "data/runs pack_root runs":
                row["yardstick"] = recorded
        results.append(row)
    report(results, args.table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    return 0


def report(results: list[dict[str, Any]], table: Path | None) -> None:
    primary = [r for r in results if not r["run"].startswith("data/runs/v2/")]
    imported = [r for r in primary if r["refused"] is None]
    print(f"run folders: {len(primary)} (+{len(results) - len(primary)} in data/runs/v2)")
    print(f"imported: {len(imported)}; refused with a reason: {len(primary) - len(imported)}")
    for r in results:
        if r["refused"] is not None:
            print(f"  refused {r['run']}: {r['refused']}")
    tops = Counter(r["topline"] for r in results if r["refused"] is None)
    print("toplines:", ", ".join(f"{k} {v}" for k, v in sorted(tops.items())))
    expected = [r for r in results if r.get("expected") is not None]
    agree = [r for r in expected if r["expected"] == r["topline"]]
    print(f"expectations: {len(expected)}; agree: {len(agree)}")
    old = [r for r in expected if r["expected"] == r["ruleset_1_1"]]
    print(f"agree when ruleset-1.1 judges the same packs (a shadow run): {len(old)}")
    rules = [r for r in expected if r["expected"] == r.get("rules_only", r["topline"])]
    print(f"agree on the rules alone (upstream integrity set aside): {len(rules)}")
    by_family = Counter(r["family"] for r in expected)
    agree_family = Counter(r["family"] for r in agree)
    for fam in EXPECTATION_FAMILIES:
        print(f"  {fam}: {agree_family[fam]}/{by_family[fam]}")
    yard = [r for r in results if "yardstick" in r]
    same = [r for r in yard if r["yardstick"] == r["topline"]]
    print(f"upstream's v0.15 yardstick verdicts (not expectations): {len(same)}/{len(yard)} agree")
    for r in yard:
        if r["yardstick"] != r["topline"]:
            print(f"  {r['run']}: yardstick {r['yardstick']}, vlab {r['topline']} {r['codes'][:3]}")
    lines = [
        "| run | upstream expects | vlab (mplp-compat-1.3) | rules alone | vlab's codes "
        "| upstream defect that explains it |",
        "|---|---|---|---|---|---|",
    ]
    for r in expected:
        if r["expected"] == r["topline"]:
            continue
        codes = ", ".join(f"`{c}`" for c in r["codes"][:4])
        lines.append(
            f"| {r['run']} | {r['expected']} | {r['topline']} | {r.get('rules_only', '')} "
            f"| {codes} | {r.get('explanation', '')} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if table is not None:
        table.write_text(text, "utf-8")


if __name__ == "__main__":
    sys.exit(main())
