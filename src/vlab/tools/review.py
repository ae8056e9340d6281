"""``vlab review``: a Markdown dossier of one ruling for the people who approve rulesets.

The ruling is checked first (its digest must match its content). With a pack, every
evidence reference and every detail that points at a line is quoted from the pack and its
sha256 re-computed, so a reader sees the exact bytes the ruling relied on. Evidence is
streamed in the pack reader's chunks (only a bounded excerpt is kept, whatever the size of
the artifact); quotes and every string of the ruling are escaped (``vlab.core.escape``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError
from vlab.core.escape import human, md_code, md_fence, md_text
from vlab.engine.ruling import Ruling
from vlab.pack.reader import PackReader
from vlab.render.markdown import admission_markdown
from vlab.render.text import NO_ENDORSEMENT, metric_value
from vlab.ruleset.catalog import Catalog

MAX_QUOTE_BYTES = 2000
MAX_QUOTE_LINES = 12
RULING_KEYS = ("ruling_version", "ruleset", "pack", "admission", "clauses", "topline", "digest")


def _ruling_validator() -> Any:
    from vlab.core.schemas import validator
    from vlab.data import DATA

    return validator(json.loads((DATA / "ruling.schema.json").read_text("utf-8")))


class RulingEdited(UsageError):
    """The file is a ruling, but its digest does not match its content: it was edited
    after it was issued. ``vlab review`` exits 1 for it (not intact), not 64; to other
    callers it is a usage error like any unusable ruling file."""


def load_ruling(path: Path) -> Ruling:
    """A ruling whose digest matches its content, or a usage error saying what is wrong
    (``RulingEdited`` when only the digest is wrong)."""
    from vlab.core.canonical import CanonicalError
    from vlab.core.inputs import read_input
    from vlab.core.strictjson import DEFAULT_MAX_VALUES, shape, value_count_bound
    from vlab.engine.ruling import ruling_digest

    data = read_input(path, what="ruling")
    # Bounded like any document parsed whole (a ruling's own bound: decision 66).
    if (
        value_count_bound(data) > DEFAULT_MAX_VALUES
        and shape(data, 1 << 62, DEFAULT_MAX_VALUES)[1] > DEFAULT_MAX_VALUES
    ):
        raise UsageError(f"{path}: not a ruling (more than {DEFAULT_MAX_VALUES} JSON values)")
    try:
        ruling = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
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
        raise RulingEdited(
            f"{path}: the ruling's digest {ruling['digest']} does not match its content "
            f"({actual}): it was edited after it was issued"
        )
    return Ruling.from_json(ruling)


@dataclass(frozen=True)
class Excerpt:
    """What the dossier shows of some evidence bytes, computed in one streaming pass: their
    sha256 and size, and only their first ``MAX_QUOTE_BYTES`` bytes (memory stays bounded
    whatever the size of the artifact)."""

    sha256: str
    size: int
    head: bytes


class _Digest:
    """sha256, size and head of bytes fed in pieces."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0
        self._head = bytearray()

    def update(self, piece: bytes) -> None:
        self._hash.update(piece)
        self.size += len(piece)
        room = MAX_QUOTE_BYTES - len(self._head)
        if room > 0:
            self._head += piece[:room]

    def excerpt(self) -> Excerpt:
        return Excerpt("sha256:" + self._hash.hexdigest(), self.size, bytes(self._head))


SIGNATURES = "integrity/signatures/"  # signs the integrity file; never listed in it


class _Quoter:
    """Reads quoted evidence from a pack through the safe pack reader, streamed in the
    reader's chunks: no artifact is ever held whole (a ``file:`` reference to a 1 GB event
    log costs one chunk plus the quote)."""

    def __init__(self, reader: PackReader) -> None:
        self.reader = reader
        inventory = self.reader.inventory()
        self.refused = [f"{d.code} {d.artifact_path or ''}".strip() for d in inventory.refusals]
        self.files = [f.path for f in inventory.files]
        self._lines: dict[tuple[str, int], Excerpt | None] = {}

    def pack_digest(self) -> str | None:
        from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums

        if self.refused or not self.reader.has(SUMS_PATH):
            return None
        entries, problems = parse_sums(self.reader.read_bytes(SUMS_PATH))
        if problems:
            return None
        listed = {e.path: e.hexdigest for e in entries}
        # The digest of the integrity file alone says nothing of the files: every file is
        # hashed again (streamed), and any difference means the pack is not the one judged.
        actual = {
            path: self.reader.hash_file(path, None)[0]
            for path in self.files
            if path != SUMS_PATH and not path.startswith(SIGNATURES)
        }
        return pack_digest(listed) if actual == listed else None

    def line(self, path: str, number: int) -> Excerpt | None:
        """Physical line ``number`` of an NDJSON artifact (terminator and its ``\\r``
        excluded, as the ruling hashes it), or None when the pack has no such line."""
        from vlab.pack.limits import artifact_kind

        if self.refused or not self.reader.has(path) or artifact_kind(path) != "ndjson":
            return None
        key = (path, number)
        if key not in self._lines:
            try:
                self._lines[key] = self._find_line(path, number)
            except OSError:  # PackAccessError included: unreadable is not found
                self._lines[key] = None
        return self._lines[key]

    def _find_line(self, path: str, number: int) -> Excerpt | None:
        digest = _Digest()
        current = 1  # the line the next byte belongs to
        seen = False  # a byte of the wanted line was read (it exists even if empty)
        cr = False  # the wanted line's last byte so far is a held-back \r
        for block in self.reader.chunks(path):
            if current < number:
                newlines = block.count(b"\n")
                if current + newlines < number:  # the wanted line starts after this block
                    current += newlines
                    continue
            pos = 0
            while current < number:
                nl = block.find(b"\n", pos)
                if nl == -1:
                    break
                current, pos = current + 1, nl + 1
            if current < number:
                continue
            end = block.find(b"\n", pos)
            piece = block[pos:] if end == -1 else block[pos:end]
            seen = seen or bool(piece) or end != -1
            if piece:
                if cr:
                    digest.update(b"\r")
                cr = piece.endswith(b"\r")
                digest.update(piece[:-1] if cr else piece)
            if end != -1:
                return digest.excerpt()
        return digest.excerpt() if seen else None

    def target(self, path: str, locator: str) -> Excerpt | None:
        """The bytes a ``file:`` or ``jsonptr:`` reference is hashed over: a whole file is
        streamed; a JSON pointer needs its document parsed, which the SECURITY gate bounds
        (``max_document_bytes``)."""
        if self.refused or not self.reader.has(path):
            return None
        from vlab.core import strictjson
        from vlab.core.canonical import CanonicalError, canonical_bytes
        from vlab.pack.locators import resolve_jsonptr

        try:
            if locator == "file:":
                digest = _Digest()
                for block in self.reader.chunks(path):
                    digest.update(block)
                return digest.excerpt()
            if not locator.startswith("jsonptr:"):
                return None
            data = self.reader.read_bytes(path)
        except OSError:  # PackAccessError included
            return None
        try:
            found, value = resolve_jsonptr(strictjson.loads(data), locator[len("jsonptr:") :])
        except (strictjson.StrictJSONError, CanonicalError):
            return None
        if not found:
            return None
        try:
            target = canonical_bytes(value)
        except CanonicalError:
            return None
        digest = _Digest()
        digest.update(target)
        return digest.excerpt()


ESCAPE_NOTE = (
    r"  (shown escaped: `\\` is one backslash; `\n` `\r` `\t` `\xNN` `\uNNNN` `\UNNNNNNNN`"
    " stand for the control or format character with that code)"
)


@contextmanager
def _quoting(pack: Path) -> Iterator[_Quoter]:
    """A quoter of the pack at ``pack`` (a folder, or an archive unpacked for the block)."""
    from vlab.engine.pipeline import opened_pack

    if not pack.exists():
        raise UsageError(f"pack not found: {pack}")
    with opened_pack(pack) as reader:
        yield _Quoter(reader)


def _quote(ex: Excerpt) -> list[str]:
    """A fenced block of at most ``MAX_QUOTE_LINES`` lines of the excerpt, every line
    escaped (``human``): a quoted line can neither close the fence nor carry a control or
    bidi character; the fence is longer than any run of backticks in the quote."""
    raw = ex.head.decode("utf-8", "replace").split("\n")
    cut = ex.size > len(ex.head) or len(raw) > MAX_QUOTE_LINES
    raw = raw[:MAX_QUOTE_LINES]
    shown = [human(line) for line in raw]
    fence = md_fence("\n".join(shown))
    out = [f"  {fence}text", *("  " + line for line in shown), f"  {fence}"]
    if cut:
        out.insert(-1, f"  … ({ex.size} bytes in all; quote shortened)")
    if shown != raw:
        out.append(ESCAPE_NOTE)
    return out


@dataclass(frozen=True)
class Dossier:
    """A dossier and whether the pack given is the one the ruling judged: ``matches`` is
    None without a pack, False when the pack digest the ruling records is not the pack's
    (it differs, the pack has no valid integrity file, or the SECURITY gate refuses it),
    with the reason in ``problems``. Evidence that is missing or hashes otherwise is shown
    in the dossier (NOT FOUND, MISMATCH); it does not decide ``matches``."""

    text: str
    matches: bool | None
    problems: tuple[str, ...] = ()


def dossier(
    ruling: Ruling, pack: Path | None = None, ruleset_codes: dict[str, str] | None = None
) -> str:
    """The dossier's text (``review_ruling`` also says whether the pack matched)."""
    return review_ruling(ruling, pack, ruleset_codes).text


def review_ruling(
    ruling: Ruling, pack: Path | None = None, ruleset_codes: dict[str, str] | None = None
) -> Dossier:
    """The dossier; ``ruleset_codes`` gives the meanings of the codes the ruling's ruleset
    declares itself (engine codes come from the registry). ``pack``: a folder or an
    archive pack."""
    if pack is None:
        return _review_ruling(ruling, None, ruleset_codes)
    with _quoting(pack) as quoter:
        return _review_ruling(ruling, quoter, ruleset_codes)


def _review_ruling(
    ruling: Ruling, quoter: _Quoter | None, ruleset_codes: dict[str, str] | None
) -> Dossier:
    """The dossier of ``ruling``, its evidence quoted by ``quoter`` (None: no pack).

    A ruling file is data too (anyone can write one whose digest matches its content), so
    every string of it but the schema's enums (statuses, topline) is escaped: ``md_code``
    in code spans, ``md_text`` in running text, ``table=True`` inside the identity table.
    """
    from vlab.core.codes import meaning as engine_meaning

    def meaning(code: str) -> str:
        return md_text(engine_meaning(code) or (ruleset_codes or {}).get(code) or "unregistered")

    def cell(value: object) -> str:
        return md_code(value, table=True)

    problems: list[str] = []
    rs, pk = ruling.ruleset, ruling.pack
    reasons = ", ".join(cell(c) for c in ruling.reason_codes) or "none"
    out = [
        f"# Ruling dossier — {ruling.topline}",
        "",
        "## Identity",
        "",
        "| | |",
        "|---|---|",
        f"| ruleset | {cell(rs.id)} version {md_text(rs.version)}"
        + (" (shadow run: `--ruleset` override)" if rs.override else "")
        + " |",
        f"| ruleset digest | {cell(rs.sha256)} |",
        f"| pack | {cell(pk.pack_id)} (run {cell(pk.run_id)}) |",
        f"| pack digest | {cell(pk.digest)} |",
        f"| substrate (self-declared) | {md_text(pk.substrate)} |",
        f"| topline | **{ruling.topline}** |",
        f"| reason codes | {reasons} |",
        f"| ruling digest | {cell(ruling.digest)} (verified against its content) |",
    ]
    from vlab.render.text import clause_notes, ruling_notes

    notes = ruling_notes(ruling)  # --as-of and --waivers, when the ruling used them
    if notes:
        out += ["", *(f"- {md_text(n)}" for n in notes)]
    if quoter is not None:
        if quoter.refused:
            state = (
                "not read: the pack is refused by the SECURITY gate ("
                + ", ".join(md_text(r) for r in quoter.refused[:3])
                + ")"
            )
            problems.append("the pack is refused by the SECURITY gate")
        else:
            found = quoter.pack_digest()
            if found is not None and found == pk.digest:
                state = "matches the pack given"
            elif found is None:
                state = (
                    "DOES NOT MATCH the pack given (its files and its integrity file differ,"
                    " or it has none)"
                )
                problems.append("the pack's files do not match a valid integrity file")
            else:
                state = f"DOES NOT MATCH the pack given ({found})"
                problems.append(f"the pack's digest is {found}, the ruling's {pk.digest or 'none'}")
        out.append(f"| pack digest check | {state} |")
    out += admission_markdown(ruling.admission)
    for clause in ruling.clauses:
        out += ["", f"## {md_text(clause.clause_id)} — {md_text(clause.title or '')}", ""]
        out.append(
            f"- requirement: {md_code(clause.requirement_id)} (domain {md_text(clause.domain)})"
        )
        out.append(f"- status: **{clause.status}**")
        out += [f"- {md_text(note)}" for note in clause_notes(clause)]
        reason = clause.reason_code
        out.append(
            f"- reason code: {md_code(reason)} — {meaning(reason)}"
            if reason
            else "- reason code: none"
        )
        for key, value in sorted((clause.metrics or {}).items()):
            out.append(f"- metric {md_code(key)}: {md_text(metric_value(value))}")
        if clause.details:
            out += ["", "### Details", ""]
            for d in clause.details:
                where = ", ".join(
                    x
                    for x in (
                        md_code(d.artifact_path) if d.artifact_path else "",
                        md_code(d.locator) if d.locator else "",
                        f"line {d.line}" if d.line is not None else "",
                    )
                    if x
                )
                tag = " (advisory)" if d.advisory else ""
                out.append(f"- {md_code(d.code)}{tag} — {meaning(d.code)}")
                out.append(f"  - {md_text(d.message)}" + (f" ({where})" if where else ""))
                if quoter is not None and d.line is not None and d.artifact_path:
                    excerpt = quoter.line(d.artifact_path, d.line)
                    if excerpt is not None:
                        out.append(f"  - quoted line {d.line}, {md_code(excerpt.sha256)}:")
                        out += _quote(excerpt)
        if clause.evidence_refs:
            out += ["", "### Evidence relied on", ""]
            for ref in clause.evidence_refs:
                line = f" line {ref.line}" if ref.line is not None else ""
                out.append(
                    f"- {md_code(ref.artifact_path)} {md_code(ref.locator)}{line}: "
                    f"{md_code(ref.sha256)}"
                )
                if quoter is None:
                    continue
                excerpt = (
                    quoter.line(ref.artifact_path, ref.line)
                    if ref.line is not None
                    else quoter.target(ref.artifact_path, ref.locator)
                )
                if excerpt is None:
                    out.append("  - NOT FOUND in the pack given")
                    continue
                verdict = (
                    "verified"
                    if excerpt.sha256 == ref.sha256
                    else f"MISMATCH: the pack's bytes hash to {md_code(excerpt.sha256)}"
                )
                out.append(f"  - {verdict}; quoted:")
                out += _quote(excerpt)
    out += ["", "---", "", NO_ENDORSEMENT, ""]
    matches = None if quoter is None else not problems
    return Dossier("\n".join(out), matches, tuple(problems))


def _pack_state(quoter: _Quoter, digest: str | None) -> tuple[str, str | None]:
    """What the pack digest check found, and the problem when the pack is not the one."""
    if quoter.refused:
        return (
            "not read: the pack is refused by the SECURITY gate ("
            + ", ".join(quoter.refused[:3])
            + ")",
            "the pack is refused by the SECURITY gate",
        )
    found = quoter.pack_digest()
    if found is not None and found == digest:
        return "matches the pack given", None
    if found is None:
        return (
            "DOES NOT MATCH the pack given (its files and its integrity file differ, or it "
            "has none)",
            "the pack's files do not match a valid integrity file",
        )
    return (
        f"DOES NOT MATCH the pack given ({found})",
        f"the pack's digest is {found}, the ruling's {digest or 'none'}",
    )


def _quote_text(ex: Excerpt) -> str:
    """The excerpt as the HTML page quotes it: at most ``MAX_QUOTE_LINES`` lines, each
    escaped (``human``); HTML escaping is the template's."""
    raw = ex.head.decode("utf-8", "replace").split("\n")
    cut = ex.size > len(ex.head) or len(raw) > MAX_QUOTE_LINES
    shown = [human(line) for line in raw[:MAX_QUOTE_LINES]]
    if cut:
        shown.append(f"… ({ex.size} bytes in all; quote shortened)")
    return "\n".join(shown)


def _native_origins(quoter: _Quoter) -> dict[str, str]:
    """For an imported pack, what each derived artifact came from, as import.json's
    ``derived_from`` says it (native files and the importer's rule); empty otherwise."""
    from vlab.core import strictjson

    if quoter.refused or not quoter.reader.has("import.json"):
        return {}
    try:
        record = strictjson.loads(quoter.reader.read_bytes("import.json"))
    except (OSError, strictjson.StrictJSONError):
        return {}
    entries = record.get("derived_from") if isinstance(record, dict) else None
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        found = entry.get("from")
        sources: list[Any] = found if isinstance(found, list) else []
        rule = entry.get("rule")
        out[entry["path"]] = (
            "derived from "
            + (", ".join(human(x) for x in sources) or "no native file")
            + (f" by the importer's rule: {human(rule)}" if isinstance(rule, str) else "")
        )
    return out


def _where(d: Any) -> str:
    return " ".join(
        human(x)
        for x in (d.artifact_path, d.locator, f"line {d.line}" if d.line is not None else None)
        if x
    )


def html_model(
    ruling: Ruling,
    reader: PackReader,
    ruleset_codes: dict[str, str] | None = None,
    charts: dict[str, list[str]] | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The HTML dossier's model (every data string through ``human``) and the problems of
    the pack check; ``charts`` maps a clause id to the SVG figures drawn for it."""
    from vlab.core.codes import meaning as engine_meaning
    from vlab.render.html import shown, svg

    def meaning(code: str | None) -> str:
        if not code:
            return ""
        return human(engine_meaning(code) or (ruleset_codes or {}).get(code) or "unregistered")

    quoter = _Quoter(reader)
    native = _native_origins(quoter)
    rs, pk = ruling.ruleset, ruling.pack
    state, problem = _pack_state(quoter, pk.digest)
    identity = [
        (
            "ruleset",
            f"{shown(rs.id)} version {shown(rs.version)}"
            + (" (shadow run: --ruleset override)" if rs.override else ""),
        ),
        ("ruleset digest", shown(rs.sha256)),
        ("pack", shown(pk.pack_id)),
        ("run", shown(pk.run_id)),
        ("pack digest", shown(pk.digest)),
        ("pack digest check", state),
        ("substrate (self-declared)", shown(pk.substrate)),
        ("reason codes", ", ".join(human(c) for c in ruling.reason_codes) or "none"),
        ("ruling digest", f"{shown(ruling.digest)} (verified against its content)"),
    ]
    if ruling.as_of is not None:
        identity.append(("as of (waiver expiry judged at)", shown(ruling.as_of)))
    if ruling.waivers is not None:
        w = ruling.waivers
        identity.append(
            (
                "waivers",
                f"file {shown(w.sha256)}: {w.waived} FAIL clause(s) waived; applied "
                + (", ".join(human(x) for x in w.applied) or "none")
                + "; matched nothing: "
                + (", ".join(human(x) for x in w.unmatched) or "none")
                + "; expired: "
                + (", ".join(human(x) for x in w.expired) or "none"),
            )
        )
    trust = getattr(ruling, "trust", None)
    signers: list[tuple[str, str]] = []
    if isinstance(trust, dict):
        for s in trust.get("signers") or []:
            if isinstance(s, dict):
                rest = {k: v for k, v in sorted(s.items()) if k != "keyid"}
                signers.append(
                    (shown(s.get("keyid")), ", ".join(f"{k}: {human(v)}" for k, v in rest.items()))
                )
    adm = ruling.admission
    admission = {
        "status": adm.status,
        "reason": shown(adm.reason_code) if adm.reason_code else "",
        "meaning": meaning(adm.reason_code),
        "gates": [
            {
                "gate": shown(g.gate),
                "status": g.status,
                "omitted": g.details_omitted,
                "details": [
                    {
                        "code": shown(d.code),
                        "advisory": d.advisory,
                        "message": shown(d.message),
                        "where": _where(d),
                    }
                    for d in g.details
                ],
            }
            for g in adm.gates
        ],
    }
    clauses = []
    for c in ruling.clauses:
        details = []
        for d in c.details:
            quote = None
            if d.line is not None and d.artifact_path:
                ex = quoter.line(d.artifact_path, d.line)
                if ex is not None:
                    quote = {
                        "sha256": ex.sha256,
                        "text": _quote_text(ex),
                        "native": native.get(d.artifact_path, ""),
                    }
            details.append(
                {
                    "code": shown(d.code),
                    "advisory": d.advisory,
                    "meaning": meaning(d.code),
                    "message": shown(d.message),
                    "where": _where(d),
                    "line": d.line,
                    "quote": quote,
                }
            )
        evidence = []
        for ref in c.evidence_refs:
            ex = (
                quoter.line(ref.artifact_path, ref.line)
                if ref.line is not None
                else quoter.target(ref.artifact_path, ref.locator)
            )
            if ex is None:
                verdict, bad, quote_text = "NOT FOUND in the pack given", True, ""
            elif ex.sha256 == ref.sha256:
                verdict, bad, quote_text = "verified against the pack", False, _quote_text(ex)
            else:
                verdict = f"MISMATCH: the pack's bytes hash to {ex.sha256}"
                bad, quote_text = True, _quote_text(ex)
            evidence.append(
                {
                    "path": shown(ref.artifact_path),
                    "locator": shown(ref.locator),
                    "line": ref.line,
                    "sha256": shown(ref.sha256),
                    "verdict": verdict,
                    "bad": bad,
                    "quote": quote_text,
                    "native": native.get(ref.artifact_path, ""),
                }
            )
        waiver = c.waiver
        clauses.append(
            {
                "clause_id": shown(c.clause_id),
                "title": shown(c.title),
                "status": c.status,
                "requirement": shown(c.requirement_id),
                "domain": shown(c.domain),
                "reason": shown(c.reason_code) if c.reason_code else "",
                "meaning": meaning(c.reason_code),
                "severity": shown(c.severity) if c.severity else "",
                "waiver": (
                    f"waived by {human(waiver.id)} (approved by {human(waiver.approved_by)}, "
                    f"expires {human(waiver.expires)}): {human(waiver.reason)}; the clause "
                    "stays FAIL but decides neither the topline nor the exit status"
                    if waiver is not None
                    else ""
                ),
                "metrics": [
                    (human(k), human(metric_value(v))) for k, v in sorted((c.metrics or {}).items())
                ],
                "charts": [svg(x) for x in (charts or {}).get(c.clause_id, [])],
                "details": details,
                "omitted": c.details_omitted,
                "evidence": evidence,
            }
        )
    model = {
        "topline": ruling.topline,
        "identity": identity,
        "trust": signers,
        "no_endorsement": NO_ENDORSEMENT,
        "admission": admission,
        "clauses": clauses,
    }
    return model, () if problem is None else (problem,)


def review_html(
    ruling: Ruling, pack: Path, catalog: Catalog
) -> tuple[bytes, bool, tuple[str, ...]]:
    """The HTML dossier's bytes, whether the pack matched, and the problems if not. The
    charts come from the evidence: the pack is judged again under the ruling's ruleset
    and each domain check asked for its series (``vlab.engine.series``)."""
    from vlab.engine.pipeline import opened_pack
    from vlab.engine.series import clause_series
    from vlab.render.charts import charts_for
    from vlab.render.html import render_html

    ruleset = catalog.get(ruling.ruleset.id) if ruling.ruleset.id else None
    if not pack.exists():
        raise UsageError(f"pack not found: {pack}")
    with opened_pack(pack) as reader:
        series = clause_series(reader, catalog, ruleset)
    # A fresh reader for the quotes: the charts' judging sealed the first one.
    with opened_pack(pack) as reader:
        model, problems = html_model(
            ruling, reader, ruleset.codes if ruleset else None, charts_for(series)
        )
    return render_html(model), not problems, problems
