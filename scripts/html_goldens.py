"""Regenerate the golden HTML dossiers: ``.venv/bin/python -m scripts.html_goldens``.

Each case is a golden vector's pack, judged and rendered as ``vlab review --out html=``
renders it; tests/test_html_dossier.py renders them again and compares the bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "html"
VECTORS = ROOT / "evidence_packs"

# name -> the vector whose pack it renders (relative to evidence_packs/)
CASES = {
    "d1-03-mismatch": "r12-d1-03/fail-allow-should-have-been-deny",
    "d1-03-pass": "r12-d1-03/pass-over-daily-denied",
    "d1-03-imported-hal0": "i13-hal0/checks-ignored-deny",
    "d1-04-matrix-3x4x5": "r12-d1-04/pass-matrix-3x4x5",
    "d1-04-dispatch-after-exhaustion": "r12-d1-04/fail-dispatch-after-exhaustion",
    "d1-02-overrun": "r12-d1-02/pass-declared-overrun",
    "d5-01-verifier-compromised": "r12-d5-01/fail-test-file-edited",
}


def pack_of(name: str) -> Path:
    return VECTORS / CASES[name] / "pack"


def render(name: str) -> bytes:
    """The dossier of one case, as ``vlab review RULING --pack PACK --out html=`` writes
    it (the ruling is made here, as ``vlab adjudicate`` makes it)."""
    from vlab.engine.pipeline import adjudicate
    from vlab.tools.pool import catalog_for
    from vlab.tools.review import review_html

    catalog = catalog_for(())
    pack = pack_of(name)
    ruling = adjudicate(pack, catalog)
    page, _, _ = review_html(ruling, pack, catalog)  # the page never names the pack's path
    return page


# The corpus dossier: `vlab diff CORPUS --from A --to B --out html=` (a verdict moves).
DIFF = ("diff-r12-d5-01", "evidence_packs/r12-d5-01", "ruleset-1.2", "ruleset-1.3")


def render_diff(out: Path) -> bytes:
    """The diff dossier, written by the command line itself (run from the repository)."""
    import subprocess

    name, corpus, a, b = DIFF
    target = out / f"{name}.html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "vlab",
            "diff",
            corpus,
            "--from",
            a,
            "--to",
            b,
            "--quiet",
            "--out",
            f"html={target}",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return target.read_bytes()


def main() -> int:
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        (GOLDEN / f"{name}.html").write_bytes(render(name))
        print(f"wrote tests/golden/html/{name}.html")
    with tempfile.TemporaryDirectory() as tmp:
        (GOLDEN / f"{DIFF[0]}.html").write_bytes(render_diff(Path(tmp)))
    print(f"wrote tests/golden/html/{DIFF[0]}.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
