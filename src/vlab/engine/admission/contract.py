"""ADM-GATE-CONTRACT: the control files are valid under the pinned ruleset's schemas,
every pointer is well-formed and safe, and every other JSON/NDJSON artifact is strict."""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

from vlab.core.codes import closest
from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_CONTRACT
from vlab.engine.admission import imported
from vlab.engine.admission.context import ABSENT, BUNDLE, MANIFEST, POINTERS, GateContext
from vlab.engine.admission.model import Pointer
from vlab.engine.ruling import MAX_DETAILS
from vlab.pack.bulkscan import scan
from vlab.pack.limits import artifact_kind, is_event_log, is_native, unsafe_path_reason
from vlab.pack.locators import parse_locator
from vlab.pack.reader import PackAccessError
from vlab.pack.signatures import is_signature_path

NAME = GATE_CONTRACT
MAX_SCHEMA_ERRORS_PER_FILE = 10
# Schema errors are drawn lazily and only this many are ever held: the first ones in the
# validator's (deterministic) order are sorted and cut to the ten reported. A document with
# fewer errors than this reports exactly what a full sort would.
MAX_SCHEMA_ERRORS_SCANNED = 1000


def _schema_errors(
    ctx: GateContext, path: str, document: Any, schema: dict[str, Any]
) -> list[Detail]:
    assert ctx.result.pinned is not None  # CONTRACT runs against the pinned ruleset
    drawn = islice(
        ctx.result.pinned.validator(schema).iter_errors(document), MAX_SCHEMA_ERRORS_SCANNED
    )
    errors = sorted(
        drawn, key=lambda e: ([str(p) for p in e.absolute_path], e.validator, e.message)
    )
    details = []
    for err in errors[:MAX_SCHEMA_ERRORS_PER_FILE]:
        pointer = "".join(
            "/" + str(p).replace("~", "~0").replace("/", "~1") for p in err.absolute_path
        )
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        details.append(
            Detail(
                "CONTRACT-SCHEMA-INVALID",
                f"{pointer or '/'}: {message}",
                path,
                locator=f"jsonptr:{pointer}",
            )
        )
    return details


def run(ctx: GateContext) -> list[Detail]:
    ruleset = ctx.result.pinned
    assert ruleset is not None  # PIN passed
    details: list[Detail] = []
    manifest = ctx.control(MANIFEST, details)
    if manifest is not ABSENT:
        version = manifest.get("contract_version") if isinstance(manifest, dict) else None
        if isinstance(version, str) and version not in ruleset.contract_versions:
            details.append(
                Detail(
                    "CONTRACT-VERSION-NOT-ACCEPTED",
                    f"contract_version {version!r} is not accepted by {ruleset.id} "
                    f"(accepts {', '.join(ruleset.contract_versions)})",
                    MANIFEST,
                    locator="jsonptr:/contract_version",
                )
            )
        else:
            schema = ruleset.manifest_schemas.get(
                version if isinstance(version, str) else ruleset.contract_versions[-1],
                ruleset.manifest_schemas[ruleset.contract_versions[-1]],
            )
            details += _schema_errors(ctx, MANIFEST, manifest, schema)
    bundle = ctx.control(BUNDLE, details)
    if bundle is not ABSENT:
        details += _schema_errors(ctx, BUNDLE, bundle, ruleset.bundle_manifest_schema)
    pointers_doc = ctx.control(POINTERS, details)
    if pointers_doc is not ABSENT:
        too_many = _too_many_pointers(ctx, pointers_doc)
        invalid = too_many or _schema_errors(
            ctx, POINTERS, pointers_doc, ruleset.evidence_pointers_schema
        )
        details += invalid
        raw = pointers_doc.get("pointers") if isinstance(pointers_doc, dict) else None
        if not too_many and isinstance(raw, list):
            # Every entry the schema errors do not name is checked even when another breaks
            # the schema: a producer sees all its pointer problems at once, not by layers.
            named = {_entry(d.locator) for d in invalid}
            details += _pointers(ctx, [None if i in named else p for i, p in enumerate(raw)])
    details += _artifacts(ctx)
    if manifest is not ABSENT and not details:
        # Only a pack whose own files are sound is re-imported (the importer reads them).
        details += imported.check(
            ctx, manifest.get("contract_version") if isinstance(manifest, dict) else None
        )
    failed = any(not d.advisory for d in details)  # an import's advisories fail nothing
    details += unknown_requirements(ctx)  # advisories: they never fail the gate
    if not failed:
        assert isinstance(manifest, dict) and isinstance(bundle, dict)
        ctx.result.pack_id = manifest["pack_id"]
        ctx.result.contract_version = manifest["contract_version"]
        substrate = manifest.get("substrate")
        ctx.result.substrate = (
            substrate["type"]
            if manifest["contract_version"] != "1.0" and isinstance(substrate, dict)
            else "not_declared"
        )
        ctx.result.scenario = dict(bundle.get("scenario_meta") or {})
    return details


def _too_many_pointers(ctx: GateContext, document: Any) -> list[Detail]:
    """Each pointer costs a resolution and maybe a detail: their number is bounded
    before anything else looks at them (decision 66)."""
    bound = ctx.reader.limits.max_pointers
    raw = document.get("pointers") if isinstance(document, dict) else None
    if isinstance(raw, list) and len(raw) > bound:
        return [
            Detail(
                "CONTRACT-TOO-MANY-POINTERS",
                f"{len(raw)} pointers; at most {bound} are judged",
                POINTERS,
                locator="jsonptr:/pointers",
            )
        ]
    return []


_POINTER_TEXT = ("requirement_id", "artifact_path", "locator", "status")
_ENTRY = re.compile(r"jsonptr:/pointers/([0-9]+)(?:/|$)")


def _entry(locator: str | None) -> int | None:
    """The pointer entry a schema error is about (``jsonptr:/pointers/<i>...``), or None."""
    match = _ENTRY.match(locator or "")
    return int(match.group(1)) if match else None


def _pointers(ctx: GateContext, raw: list[Any]) -> list[Detail]:
    details: list[Detail] = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict) or not all(isinstance(p.get(k), str) for k in _POINTER_TEXT):
            continue  # the schema errors name it
        where = f"jsonptr:/pointers/{i}"
        locator = parse_locator(p["locator"])
        reason = unsafe_path_reason(p["artifact_path"])
        if reason is not None:
            details.append(
                Detail(
                    "CONTRACT-UNSAFE-PATH",
                    f"pointer {i}: artifact_path {reason}",
                    POINTERS,
                    locator=where + "/artifact_path",
                )
            )
        if locator is None:
            details.append(
                Detail(
                    "CONTRACT-LOCATOR-INVALID",
                    f"pointer {i}: {p['locator']!r} is not a well-formed locator",
                    POINTERS,
                    locator=where + "/locator",
                )
            )
        if reason is None and locator is not None:
            ctx.result.pointers.append(
                Pointer(
                    requirement_id=p["requirement_id"],
                    artifact_path=p["artifact_path"],
                    locator=locator,
                    status=p["status"],
                    content_hash=p.get("content_hash"),
                    position=i,
                )
            )
    return details


def unknown_requirements(ctx: GateContext) -> list[Detail]:
    """An advisory per pointer whose requirement_id no installed ruleset declares (a typo
    the clause would otherwise report only as "pointer missing"), naming the closest known
    id. Ids another installed ruleset declares stay silent. Suggestions are worked out for
    at most ``MAX_DETAILS`` distinct ids (a gate shows no more details than that)."""
    assert ctx.result.pinned is not None
    own = {c.requirement_id for c in ctx.result.pinned.clauses}
    strangers = [p for p in ctx.result.pointers if p.requirement_id not in own]
    if not strangers or ctx.known_requirements is None:
        return []
    known = ctx.known_requirements() | own
    suggestions: dict[str, str] = {}
    details = []
    for p in strangers:
        rid = p.requirement_id
        if rid in known:
            continue
        if rid not in suggestions:
            best = closest(rid, known) if len(suggestions) < MAX_DETAILS else None
            suggestions[rid] = f"; did you mean {best}?" if best else ""
        details.append(
            Detail(
                "POINTER-REQUIREMENT-UNKNOWN",
                f"{rid} is declared by no installed ruleset{suggestions[rid]}",
                POINTERS,
                locator=f"jsonptr:/pointers/{p.position}/requirement_id",
                advisory=True,
            )
        )
    return details


def _artifacts(ctx: GateContext) -> list[Detail]:
    """Every other JSON and NDJSON artifact must be strictly valid (native/ files are
    their importer's to parse, with their system's tolerance: importers.md §2). Files
    under integrity/signatures/ are AUTHENTICITY's alone: without a trust policy they are
    ignored (trust.md), so a malformed one never fails CONTRACT (SECURITY still applies)."""
    details: list[Detail] = []
    wanted: dict[str, set[str]] = {}
    for p in ctx.result.pointers:
        if p.locator.kind == "event_id":
            wanted.setdefault(p.artifact_path, set()).add(p.locator.value)
    limits = ctx.reader.limits
    for path in sorted(ctx.result.hashes, key=lambda p: p.encode("utf-8")):
        if is_signature_path(path):
            continue
        kind = artifact_kind(path) if not is_native(path) else "native"
        if kind == "json" and path not in (MANIFEST, BUNDLE, POINTERS):
            _, err = ctx.parse(path)
            if err is not None:
                details.append(Detail(err.code, err.message, path))
        elif kind == "ndjson":
            try:
                index, found = scan(
                    ctx.reader,
                    path,
                    event_log=is_event_log(path),
                    wanted_ids=wanted.get(path, set()),
                    max_depth=limits.max_depth,
                    max_values=limits.max_document_values,
                )
            except (PackAccessError, OSError) as exc:
                details.append(Detail("CONTRACT-FILE-UNREADABLE", str(exc), path))
                continue
            ctx.result.indexes[path] = index
            details += found
    return details
