"""Generate governance/reason-codes.md from the registry (tests keep it in sync).

python -m scripts.reason_codes_doc [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from vlab.core.codes import registry

TARGET = Path(__file__).resolve().parent.parent / "governance" / "reason-codes.md"


def render() -> str:
    reg = registry()
    out = [
        "# Reason-code reference",
        "",
        "Generated from `src/vlab/data/reason_codes.yaml` by `scripts/reason_codes_doc.py`;",
        "do not edit by hand. Every code vlab can emit is here, and nothing else.",
        "",
        "## Reason codes (topline and clause)",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    out += [f"| `{c}` | {m} |" for c, m in sorted(reg["reason_codes"].items())]
    out += ["", "## Detail codes", ""]
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, meaning in sorted(reg["detail_codes"].items()):
        groups.setdefault(code.split("-")[0], []).append((code, meaning))
    for group, rows in groups.items():
        out += [f"### {group}", "", "| code | meaning |", "|---|---|"]
        out += [f"| `{c}` | {m.replace('|', '/')} |" for c, m in rows]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv[1:]:
        ok = TARGET.exists() and TARGET.read_text("utf-8") == text
        if not ok:
            print(f"{TARGET} is stale: run python -m scripts.reason_codes_doc", file=sys.stderr)
        raise SystemExit(0 if ok else 1)
    TARGET.write_text(text, "utf-8")
