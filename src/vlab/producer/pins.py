"""What a pack pins and points at: the schema-bundle digest of a ruleset, and evidence
pointers checked as the CONTRACT gate will check them.

    from vlab.producer import pointer, schema_bundle_sha256

    digest = schema_bundle_sha256("ruleset-1.1")       # 64 lowercase hex
    ptr = pointer("RQ-D1-01", "trace/events.ndjson", "event_id:evt-000001")

``schema_bundle_sha256`` is the one place the producer library reaches into the engine's
side: it asks the engine's own ruleset catalog (imported inside the function, never when
``vlab.producer`` is imported), so the digest is by construction the one
``vlab rulesets show ID`` prints and the PIN gate compares. pyproject.toml's import-linter
contract names this single import as its only exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlab.pack.limits import unsafe_path_reason
from vlab.pack.locators import parse_locator

POINTER_STATUSES = ("PRESENT", "ABSENT", "NOT_EVALUATED")


def schema_bundle_sha256(ruleset_id: str, *, rulesets_dirs: Iterable[Path] = ()) -> str:
    """The schema-bundle digest a pack pinning ``ruleset_id`` must carry in
    ``bundle.manifest.json`` (64 lowercase hex, no prefix): exactly the
    ``schema_bundle_sha256`` of ``vlab rulesets show ID --format json``.

    ``ruleset_id`` is a shipped ruleset, or one in ``VLAB_RULESETS_PATH`` or
    ``rulesets_dirs`` (as ``--rulesets-dir`` on the command line). An unknown id raises
    ``vlab.core.errors.UsageError`` naming the known ones; a ruleset that does not load
    raises ``vlab.core.errors.RulesetError`` (a ``UsageError``).
    """
    from vlab.core.errors import UsageError

    # The one exception to "the producer imports only vlab.core and vlab.pack" (see the
    # module docstring): imported here, so importing vlab.producer loads no engine code.
    from vlab.ruleset.catalog import Catalog, env_dirs

    catalog = Catalog(extra_dirs=[*env_dirs(), *rulesets_dirs])
    ruleset = catalog.get(ruleset_id)
    if ruleset is None:
        raise UsageError(
            f"unknown ruleset {ruleset_id!r} (known: {', '.join(catalog.ids()) or 'none'})"
        )
    return ruleset.schema_bundle_sha256


def pointer(
    requirement_id: str,
    artifact_path: str,
    locator: str,
    *,
    status: str = "PRESENT",
    content_hash: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One entry of ``evidence_pointers.json``: ``requirement_id``'s evidence is at
    ``locator`` (``event_id:<id>``, ``line:<N>``, ``jsonptr:<pointer>`` or ``file:``) in
    the pack-relative ``artifact_path``.

    Raises ``ValueError`` for what would make the pointers file contract-invalid: an
    unsafe path, a malformed locator, an unknown status, a ``content_hash`` that is not
    ``sha256:`` + 64 lowercase hex. (Whether the locator finds anything is the engine's
    to judge.)
    """
    if not requirement_id:
        raise ValueError("requirement_id must not be empty")
    reason = unsafe_path_reason(artifact_path)
    if reason is not None:
        raise ValueError(f"unsafe artifact_path {artifact_path!r}: {reason}")
    if parse_locator(locator) is None:
        raise ValueError(
            f"malformed locator {locator!r} (event_id:<id>, line:<N>, jsonptr:<pointer>, file:)"
        )
    if status not in POINTER_STATUSES:
        raise ValueError(f"status must be one of {', '.join(POINTER_STATUSES)}, not {status!r}")
    entry: dict[str, Any] = {
        "requirement_id": requirement_id,
        "artifact_path": artifact_path,
        "locator": locator,
        "status": status,
    }
    if content_hash is not None:
        digest = content_hash.removeprefix("sha256:")
        if (
            not content_hash.startswith("sha256:")
            or len(digest) != 64
            or digest.strip("0123456789abcdef")
        ):
            raise ValueError(f"content_hash must be sha256:<64 lowercase hex>: {content_hash!r}")
        entry["content_hash"] = content_hash
    if note is not None:
        entry["note"] = note
    return entry
