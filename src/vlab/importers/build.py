"""Every file of an imported pack outside ``native/`` and ``integrity/``, from the native
bytes and the recorded options alone. ``vlab import`` writes what this returns; the
CONTRACT gate calls it again on a sealed pack and compares byte for byte
(``CONTRACT-IMPORT-NOT-REPRODUCIBLE``), import.json included."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from vlab.core import strictjson
from vlab.importers.base import (
    IMPORT_FILE,
    JSON,
    NATIVE,
    Derived,
    Importer,
    ImportRefused,
    json_bytes,
)
from vlab.pack.limits import Limits, artifact_kind

CONTRACT_VERSION = "1.2"
PROTOCOL_VERSION = "1.0.0"
# Options every import records besides the importer's own: the pins and the run id.
PIN_OPTIONS = ("ruleset_ref", "protocol_pin", "schema_bundle_sha256")
_PACK_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pack_id(system: str, run_id: str) -> str:
    """``<system>-<run id>``, with every run of characters a pack id cannot hold as ``_``."""
    text = _PACK_ID_UNSAFE.sub("_", f"{system}-{run_id}").strip("_") or system
    return text[:200]


def derived_files(
    importer: Importer, native: Mapping[str, bytes], options: Mapping[str, Any]
) -> dict[str, bytes]:
    """pack path -> bytes for everything outside native/ and integrity/.

    ``native`` maps pack paths (``native/<system>/...``) to their bytes; ``options`` is
    import.json's ``options`` (the pins, ``run_id`` when given, the importer's own).
    Raises ``ImportRefused`` when the native bytes are not the system's output.
    """
    prefix = f"{NATIVE}/{importer.system}/"
    own = {path[len(prefix) :]: data for path, data in native.items() if path.startswith(prefix)}
    derived: Derived = importer.derive(own, options)
    run_id = options.get("run_id") or derived.run_id
    files = dict(derived.files)
    files["manifest.json"] = json_bytes(
        {
            "pack_id": pack_id(importer.system, run_id),
            "contract_version": CONTRACT_VERSION,
            "protocol_version": PROTOCOL_VERSION,
            "created_at": derived.created_at,
        }
    )
    files["bundle.manifest.json"] = json_bytes(
        {
            "run_id": run_id,
            "ruleset_ref": options.get("ruleset_ref"),
            "protocol_pin": options.get("protocol_pin"),
            "schema_bundle_sha256": options.get("schema_bundle_sha256"),
            "scenario_meta": derived.scenario_meta,
        }
    )
    files["evidence_pointers.json"] = json_bytes(
        {"pointers": [_hashed(p, files) for p in derived.pointers]}
    )
    record: JSON = {
        "importer": {"system": importer.system, "version": importer.version},
        "sources": [
            {"path": path, "sha256": "sha256:" + hashlib.sha256(native[path]).hexdigest()}
            for path in sorted(native, key=lambda p: p.encode("utf-8"))
        ],
        "options": dict(options),
        "claims": derived.claims,
        "evidence": derived.evidence,
        "notes": derived.notes,
        "derived_from": derived.derived_from,
    }
    files[IMPORT_FILE] = json_bytes(record)
    return files


def _hashed(pointer: JSON, files: Mapping[str, bytes]) -> JSON:
    """A ``file:`` pointer into a derived file carries the sha256 of its bytes."""
    data = files.get(pointer.get("artifact_path", ""))
    if pointer.get("locator") == "file:" and data is not None and "content_hash" not in pointer:
        return {**pointer, "content_hash": "sha256:" + hashlib.sha256(data).hexdigest()}
    return pointer


def refuse_inadmissible(
    files: Mapping[str, bytes], source: str, limits: Limits | None = None
) -> None:
    """``ImportRefused`` when a derived JSON document is one the CONTRACT gate would refuse
    under the default limits (bytes, values, depth: ``CONTRACT-DOCUMENT-TOO-LARGE``,
    ``CONTRACT-DEPTH-EXCEEDED``) or the pack holds more pointers than are judged: no pack
    of that source could be admitted, so none is written (decision 170's rule)."""
    limits = limits or Limits()
    for path in sorted(files, key=lambda p: p.encode("utf-8")):
        data = files[path]
        if artifact_kind(path) != "json":
            continue
        if len(data) > limits.max_document_bytes:
            why = f"{len(data)} bytes (at most {limits.max_document_bytes} are read whole)"
        else:
            depth, values = strictjson.shape(data, limits.max_depth, limits.max_document_values)
            if values > limits.max_document_values:
                why = f"more than {limits.max_document_values} JSON values (admission's bound)"
            elif depth > limits.max_depth:
                why = f"nesting deeper than {limits.max_depth} (admission's bound)"
            else:
                continue
        raise ImportRefused(source, f"a pack vlab can admit; its derived {path} would hold {why}")
    pointers = strictjson.loads(files["evidence_pointers.json"]).get("pointers", [])
    if len(pointers) > limits.max_pointers:
        raise ImportRefused(
            source,
            f"a pack vlab can admit; it would hold {len(pointers)} pointers "
            f"(at most {limits.max_pointers} are judged)",
        )
