"""``vlab review``: a Markdown dossier of one ruling for the people who approve rulesets.

The ruling is checked first (its digest must match its content). With a pack, every
evidence reference and every detail that points at a line is quoted from the pack and its
sha256 re-computed, so a reader sees the exact bytes the ruling relied on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError
from vlab.engine.ruling import Ruling
from vlab.render.markdown import admission_markdown
from vlab.render.text import NO_ENDORSEMENT, safe, safe_or_none

MAX_QUOTE_BYTES = 2000
MAX_QUOTE_LINES = 12
RULING_KEYS = ("ruling_version", "ruleset", "pack", "admission", "clauses", "topline", "digest")


def _ruling_validator() -> Any:
    from vlab.core.schemas import validator
    from vlab.data import DATA

    return validator(json.loads((DATA / "ruling.schema.json").read_text("utf-8")))


def load_ruling(path: Path) -> Ruling:
    """A ruling whose digest matches its content, or a usage error saying what is wrong."""
    from vlab.core.canonical import CanonicalError
    from vlab.engine.ruling import ruling_digest

    try:
        ruling = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"ruling not found: {path}") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise UsageError(f"{path}: not a ruling (not JSON: {str(exc)[:200]})") from None
    if not isinstance(ruling, dict) or any(k not in ruling for k in RULING_KEYS):
        raise UsageError(f"{path}: not a ruling (missing {', '.join(RULING_KEYS)})")
    errors = sorted(_ruling_validator().iter_errors(ruling), key=lambda e: list(map(str, e.path)))
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "(top level)"
        raise UsageError(f"{path}: not a ruling: {where}: {errors[0].message[:200]}")
    try:
        actual = ruling_digest(ruling)
    except CanonicalError as exc:
        raise UsageError(f"{path}: not a ruling (no canonical JSON form: {exc})") from None
    if actual != ruling["digest"]:
        raise UsageError(
            f"{path}: the ruling's digest {ruling['digest']} does not match its content "
            f"({actual}): it was edited after it was issued"
        )
    return Ruling.from_json(ruling)


class _Quoter:
    """Reads quoted evidence from a pack through the safe pack reader."""

    def __init__(self, pack: Path) -> None:
        from vlab.pack.reader import PackReader

        if not pack.is_dir():
            raise UsageError(f"pack not found: {pack}")
        self.reader = PackReader(pack)
        inventory = self.reader.inventory()
        self.refused = [f"{d.code} {d.artifact_path or ''}".strip() for d in inventory.refusals]
        self._lines: dict[str, bytes | None] = {}

    def pack_digest(self) -> str | None:
        from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums

        if self.refused or not self.reader.has(SUMS_PATH):
            return None
        entries, problems = parse_sums(self.reader.read_bytes(SUMS_PATH))
        return None if problems else pack_digest({e.path: e.hexdigest for e in entries})

    def line(self, path: str, number: int) -> bytes | None:
        """Physical line ``number`` of an artifact, found by streaming (bounded memory)."""
        from vlab.pack.limits import artifact_kind

        if self.refused or not self.reader.has(path) or artifact_kind(path) != "ndjson":
            return None
        key = f"{path}\0{number}"
        if key not in self._lines:
            self._lines[key] = self._find_line(path, number)
        return self._lines[key]

    def _find_line(self, path: str, number: int) -> bytes | None:
        from vlab.pack.ndjson import physical_lines

        for current, raw in physical_lines(self.reader, path):
            if current == number:
                return raw
        return None

    def target(self, path: str, locator: str) -> bytes | None:
        """The bytes a jsonptr:/file: reference is hashed over."""
        if self.refused or not self.reader.has(path):
            return None
        from vlab.core import strictjson
        from vlab.core.canonical import CanonicalError, canonical_bytes
        from vlab.pack.locators import resolve_jsonptr

        data = self.reader.read_bytes(path, limit=self.reader.limits.max_file_bytes)
        if locator == "file:":
            return data
        try:
            found, value = resolve_jsonptr(strictjson.loads(data), locator[len("jsonptr:") :])
            return canonical_bytes(value) if found else None
        except (strictjson.StrictJSONError, CanonicalError):
            return None


def _quote(data: bytes) -> list[str]:
    text = safe(data[:MAX_QUOTE_BYTES].decode("utf-8", "replace"))
    lines = text.split("\n")
    cut = len(data) > MAX_QUOTE_BYTES or len(lines) > MAX_QUOTE_LINES
    shown = lines[:MAX_QUOTE_LINES]
    out = ["  ```text", *("  " + line for line in shown)]
    if cut:
        out.append(f"  … ({len(data)} bytes in all; quote shortened)")
    out.append("  ```")
    return out


def _sha(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def dossier(
    ruling: Ruling, pack: Path | None = None, ruleset_codes: dict[str, str] | None = None
) -> str:
    """The dossier; ``ruleset_codes`` gives the meanings of the codes the ruling's ruleset
    declares itself (engine codes come from the registry)."""
    from vlab.core.codes import meaning as engine_meaning

    def meaning(code: str) -> str | None:
        return engine_meaning(code) or (ruleset_codes or {}).get(code)

    quoter = _Quoter(pack) if pack is not None else None
    rs = ruling.ruleset
    pk = {k: safe_or_none(v) for k, v in ruling.pack.to_json().items()}
    reasons = ", ".join(f"`{c}`" for c in ruling.reason_codes) or "none"
    out = [
        f"# Ruling dossier — {ruling.topline}",
        "",
        "## Identity",
        "",
        "| | |",
        "|---|---|",
        f"| ruleset | `{rs.id}` version {rs.version}"
        + (" (shadow run: `--ruleset` override)" if rs.override else "")
        + " |",
        f"| ruleset digest | `{rs.sha256}` |",
        f"| pack | `{pk['pack_id']}` (run `{pk['run_id']}`) |",
        f"| pack digest | `{pk['digest']}` |",
        f"| substrate (self-declared) | {pk['substrate']} |",
        f"| topline | **{ruling.topline}** |",
        f"| reason codes | {reasons} |",
        f"| ruling digest | `{ruling.digest}` (verified against its content) |",
    ]
    if quoter is not None:
        if quoter.refused:
            state = (
                "not read: the pack is refused by the SECURITY gate ("
                + ", ".join(quoter.refused[:3])
                + ")"
            )
        else:
            found = quoter.pack_digest()
            state = (
                "matches the pack given"
                if found is not None and found == pk["digest"]
                else f"DOES NOT MATCH the pack given ({found})"
            )
        out.append(f"| pack digest check | {state} |")
    out += admission_markdown(ruling.admission)
    for clause in ruling.clauses:
        out += ["", f"## {clause.clause_id} — {clause.title or ''}", ""]
        out.append(f"- requirement: `{clause.requirement_id}` (domain {clause.domain})")
        out.append(f"- status: **{clause.status}**")
        reason = clause.reason_code
        out.append(
            f"- reason code: `{reason}` — {meaning(reason) or 'unregistered'}"
            if reason
            else "- reason code: none"
        )
        for key, value in sorted((clause.metrics or {}).items()):
            out.append(f"- metric `{key}`: {value if value is not None else 'null'}")
        if clause.details:
            out += ["", "### Details", ""]
            for d in clause.details:
                where = ", ".join(
                    x
                    for x in (
                        f"`{d.artifact_path}`" if d.artifact_path else "",
                        f"`{d.locator}`" if d.locator else "",
                        f"line {d.line}" if d.line is not None else "",
                    )
                    if x
                )
                tag = " (advisory)" if d.advisory else ""
                out.append(f"- `{d.code}`{tag} — {meaning(d.code) or 'unregistered'}")
                out.append(f"  - {safe(d.message)}" + (f" ({safe(where)})" if where else ""))
                if quoter is not None and d.line is not None and d.artifact_path:
                    data = quoter.line(d.artifact_path, d.line)
                    if data is not None:
                        out.append(f"  - quoted line {d.line}, `{_sha(data)}`:")
                        out += _quote(data)
        if clause.evidence_refs:
            out += ["", "### Evidence relied on", ""]
            for ref in clause.evidence_refs:
                line = f" line {ref.line}" if ref.line is not None else ""
                out.append(f"- `{ref.artifact_path}` `{ref.locator}`{line}: `{ref.sha256}`")
                if quoter is None:
                    continue
                data = (
                    quoter.line(ref.artifact_path, ref.line)
                    if ref.line is not None
                    else quoter.target(ref.artifact_path, ref.locator)
                )
                if data is None:
                    out.append("  - NOT FOUND in the pack given")
                    continue
                verdict = (
                    "verified"
                    if _sha(data) == ref.sha256
                    else (f"MISMATCH: the pack's bytes hash to `{_sha(data)}`")
                )
                out.append(f"  - {verdict}; quoted:")
                out += _quote(data)
    out += ["", "---", "", NO_ENDORSEMENT, ""]
    return "\n".join(out)
