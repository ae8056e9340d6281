"""Compiled rulesets: the checked, resolved document, cached beside the YAML.

Loading YAML and re-running every load-time check costs more than the rest of a small
adjudication, so ``scripts/compile_rulesets.py`` writes ``ruleset.compiled.json``. It is
used only while its fingerprint (every input byte: the YAML, its schemas, the parent's
fingerprint, the registry, the format schema, the domain-check declarations) still
matches; otherwise the YAML is loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vlab.core.canonical import canonical_bytes
from vlab.data import DATA
from vlab.ruleset.model import Ruleset

COMPILED_FILE = "ruleset.compiled.json"
_FINGERPRINT_SALT = b"vlab-ruleset-compiled/1\0"


def fingerprint(path: Path, parent_fingerprint: str | None) -> str:
    digest = hashlib.sha256(_FINGERPRINT_SALT)
    schema_dir = path.parent / "schemas"
    inputs = [path, *(sorted(schema_dir.glob("*.json")) if schema_dir.is_dir() else [])]
    for name, data in [
        *((f.relative_to(path.parent).as_posix(), f.read_bytes()) for f in inputs),
        ("registry", (DATA / "reason_codes.yaml").read_bytes()),
        ("format", (DATA / "ruleset-format.schema.json").read_bytes()),
        ("checks", _declarations()),
        ("parent", (parent_fingerprint or "").encode()),
    ]:
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _declarations() -> bytes:
    from vlab.domains.registry import checks

    return canonical_bytes([c.declaration() for _, c in sorted(checks().items())])


def read_compiled(path: Path) -> dict[str, Any] | None:
    """The compiled record beside ``path`` (a ruleset.yaml), if there is one."""
    from vlab.core.strictjson import StrictJSONError, loads

    try:
        record = loads((path.parent / COMPILED_FILE).read_bytes())
    except (OSError, StrictJSONError):
        return None
    return record if isinstance(record, dict) else None


def compiled_record(ruleset: Ruleset, fp: str, extends: str | None) -> bytes:
    record = {
        "compiled_format": 1,
        "id": ruleset.id,
        "extends": extends,
        "fingerprint": fp,
        "document": ruleset.document,
    }
    return canonical_bytes(record) + b"\n"
