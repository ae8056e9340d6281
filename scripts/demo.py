"""`make demo`: adjudicate a few bundled packs and show their rulings, then the corpus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOWN = [
    "starter/arb-d1-budget-pass-fixture",
    "starter/arb-d1-budget-fail-fixture",
    "d2-01/not-evaluated-partial-no-pointer",
    "admission/integrity-hash-mismatch",
]


def main() -> int:
    vlab = [sys.executable, "-m", "vlab"]
    for name in SHOWN:
        pack = ROOT / "evidence_packs" / name / "pack"
        print(f"\n$ vlab adjudicate evidence_packs/{name}/pack", flush=True)
        code = subprocess.run([*vlab, "adjudicate", str(pack)], check=False).returncode
        print(f"(exit {code})", flush=True)
    print("\n$ vlab regress evidence_packs --jobs 2", flush=True)
    return subprocess.run(
        [*vlab, "regress", str(ROOT / "evidence_packs"), "--jobs", "2"], check=False
    ).returncode


if __name__ == "__main__":
    raise SystemExit(main())
