"""Write an evidence pack folder: control files, artifacts, then seal it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlab.pack.limits import unsafe_path_reason


def dumps(value: Any) -> bytes:
    """Compact JSON as producers usually write it (one line, UTF-8)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class PackWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _target(self, rel: str) -> Path:
        if unsafe_path_reason(rel) is not None:
            raise ValueError(f"unsafe pack path {rel!r}")
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self._target(rel)
        path.write_bytes(data)
        return path

    def write_json(self, rel: str, value: Any, *, indent: int | None = 2) -> Path:
        text = json.dumps(value, indent=indent, ensure_ascii=False) + "\n"
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_ndjson(self, rel: str, records: list[Any], *, newline: bytes = b"\n") -> Path:
        return self.write_bytes(rel, b"".join(dumps(r) + newline for r in records))

    def control_files(
        self,
        *,
        pack_id: str,
        run_id: str,
        ruleset_ref: str,
        schema_bundle_sha256: str,
        pointers: list[dict[str, Any]],
        scenario_meta: dict[str, Any] | None = None,
        contract_version: str = "1.1",
        protocol_pin: str = "1.0.0",
        created_at: str = "2026-05-29T10:00:00Z",
        substrate: dict[str, Any] | None = None,
    ) -> None:
        manifest: dict[str, Any] = {
            "pack_id": pack_id,
            "contract_version": contract_version,
            "protocol_version": "1.0.0",
            "created_at": created_at,
        }
        if substrate is not None:
            manifest["substrate"] = substrate
        bundle: dict[str, Any] = {
            "run_id": run_id,
            "ruleset_ref": ruleset_ref,
            "protocol_pin": protocol_pin,
            "schema_bundle_sha256": schema_bundle_sha256,
        }
        if scenario_meta is not None:
            bundle["scenario_meta"] = scenario_meta
        self.write_json("manifest.json", manifest)
        self.write_json("bundle.manifest.json", bundle)
        self.write_json("evidence_pointers.json", {"pointers": pointers})

    def seal(self) -> None:
        from vlab.pack.seal import seal

        seal(self.root)
