"""The CONTRACT gate's check of an imported pack (contract 1.2, importers.md §2): the
importer import.json names is run again on the pack's sealed ``native/`` bytes with the
recorded options, and every file outside ``native/`` and ``integrity/`` (import.json
included) must come out byte for byte. So a derived file cannot say what the native bytes
do not, and import.json's claims and evidence facts are the importer's, not an editor's."""

from __future__ import annotations

import hashlib
from typing import Any

from vlab.core.findings import Detail
from vlab.engine.admission.context import GateContext
from vlab.importers import registry
from vlab.importers.base import IMPORT_FILE, ImportRefused
from vlab.importers.build import CONTRACT_VERSION, derived_files
from vlab.pack.limits import is_native
from vlab.pack.reader import PackAccessError

INTEGRITY_PREFIX = "integrity/"
REFUSED = "CONTRACT-IMPORT-UPSTREAM-INTEGRITY"
UNSEALED = "CONTRACT-IMPORT-UPSTREAM-UNSEALED"
MAX_PROBLEMS = 20  # details named one by one; the rest are counted in one more


def check(ctx: GateContext, contract_version: Any) -> list[Detail]:
    """Findings for import.json: required in contract 1.2, reproduced whenever present."""
    if not ctx.reader.has(IMPORT_FILE):
        if contract_version == CONTRACT_VERSION:
            return [
                Detail(
                    "CONTRACT-FILE-MISSING",
                    f"{IMPORT_FILE} is missing (contract {CONTRACT_VERSION} requires it)",
                    IMPORT_FILE,
                )
            ]
        return []
    record, err = ctx.parse(IMPORT_FILE)
    if err is not None:
        return [Detail(err.code, err.message, IMPORT_FILE)]
    shape = _shape_problem(ctx, record)
    if shape is not None:
        return [shape]
    system, version = record["importer"]["system"], record["importer"]["version"]
    importer = registry.get(system, version)
    if importer is None:
        return [
            Detail(
                "CONTRACT-IMPORTER-UNKNOWN",
                f"no importer {system!r} version {version} (vlab imports "
                f"{', '.join(registry.systems())})",
                IMPORT_FILE,
                locator="jsonptr:/importer",
            )
        ]
    native: dict[str, bytes] = {}
    bound = ctx.reader.limits.max_document_bytes
    for path in sorted(ctx.result.hashes, key=lambda p: p.encode("utf-8")):
        if not is_native(path):
            continue
        if ctx.reader.size(path) > bound:
            return [
                Detail(
                    "CONTRACT-DOCUMENT-TOO-LARGE",
                    f"a native file over {bound} bytes is not re-imported",
                    path,
                )
            ]
        try:
            native[path] = ctx.reader.read_bytes(path)
        except (PackAccessError, OSError) as exc:
            return [Detail("CONTRACT-FILE-UNREADABLE", str(exc), path)]
    try:
        expected = derived_files(importer, native, record["options"])
    except ImportRefused as exc:
        return [_differs(IMPORT_FILE, f"{importer.system} refuses its native files: {exc}")]
    made = {p for p in ctx.result.hashes if not is_native(p) and not p.startswith(INTEGRITY_PREFIX)}
    for path in sorted(made | set(expected), key=lambda p: p.encode("utf-8")):
        if path not in expected:
            return [_differs(path, f"the {system} importer makes no {path}")]
        if path not in made:
            return [_differs(path, f"the {system} importer makes {path}; the pack lacks it")]
        if hashlib.sha256(expected[path]).hexdigest() != ctx.result.hashes[path]:
            return [_differs(path, f"{path} is not what the {system} importer makes of native/")]
    return _upstream_integrity(record)


def _upstream_integrity(record: dict[str, Any]) -> list[Detail]:
    """The system's own integrity record disagreed with its files (an importer reports it
    as import.json ``evidence.upstream_integrity.problems``; reproduction has just shown
    the native bytes say so): carried forward, never laundered (importers.md §3).

    A problem with the evidence the derived view is built from refuses the pack. A problem
    upstream's seal has only with a file kept as a claim (``"effect": "advisory"``: a
    recorded verdict rewritten after sealing, evidence the sums do not list) is an advisory
    on every ruling: the judged evidence is no less sealed than a pack with no upstream
    sums at all (decision 171)."""
    evidence = record.get("evidence")
    found = evidence.get("upstream_integrity") if isinstance(evidence, dict) else None
    problems = found.get("problems") if isinstance(found, dict) else None
    if not isinstance(problems, list):
        return []
    # Refusals first (a gate's advisories come after its failures), and at most
    # MAX_PROBLEMS named: a run of advisories can never push a refusal out of the ruling.
    order = sorted(range(len(problems)), key=lambda i: _advisory(problems[i]))
    details = [_problem(i, problems[i]) for i in order[:MAX_PROBLEMS]]
    left = order[MAX_PROBLEMS:]
    if left:
        quiet = _advisory(problems[left[0]])
        details.append(
            Detail(
                UNSEALED if quiet else REFUSED,
                f"{len(left)} more upstream integrity problem(s) in import.json",
                IMPORT_FILE,
                locator="jsonptr:/evidence/upstream_integrity/problems",
                advisory=quiet,
            )
        )
    return details


def _advisory(problem: Any) -> bool:
    return isinstance(problem, dict) and problem.get("effect") == "advisory"


def _problem(index: int, problem: Any) -> Detail:
    text = problem.get("problem") if isinstance(problem, dict) else problem
    quiet = _advisory(problem)
    return Detail(
        UNSEALED if quiet else REFUSED,
        str(text)[:200],
        IMPORT_FILE,
        locator=f"jsonptr:/evidence/upstream_integrity/problems/{index}",
        advisory=quiet,
    )


def _differs(path: str, message: str) -> Detail:
    return Detail("CONTRACT-IMPORT-NOT-REPRODUCIBLE", message, path)


def _shape_problem(ctx: GateContext, record: Any) -> Detail | None:
    """import.json against the pinned ruleset's schema when it ships one, and always the
    fields reproduction needs."""
    assert ctx.result.pinned is not None
    schema = ctx.result.pinned.extra_schemas.get("import_record")
    if schema is not None:
        error = next(iter(ctx.result.pinned.validator(schema).iter_errors(record)), None)
        if error is not None:
            where = "".join(f"/{p}" for p in error.absolute_path) or "/"
            return Detail(
                "CONTRACT-SCHEMA-INVALID",
                f"{where}: {error.message[:200]}",
                IMPORT_FILE,
                locator=f"jsonptr:{where if where != '/' else ''}",
            )
    importer = record.get("importer") if isinstance(record, dict) else None
    if (
        not isinstance(importer, dict)
        or not isinstance(importer.get("system"), str)
        or type(importer.get("version")) is not int
        or not isinstance(record.get("options"), dict)
    ):
        return Detail(
            "CONTRACT-SCHEMA-INVALID",
            "import.json needs importer {system, version} and options",
            IMPORT_FILE,
        )
    return None
