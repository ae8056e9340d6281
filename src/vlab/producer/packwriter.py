"""Write an evidence pack folder: control files, artifacts, then seal it.

    writer = PackWriter(Path("my-run"))
    writer.write_ndjson("trace/events.ndjson", events)
    writer.control_files(pack_id="my-run", run_id="run-001", ruleset_ref="ruleset-1.1",
                         schema_bundle_sha256=schema_bundle_sha256("ruleset-1.1"),
                         pointers=[pointer("RQ-D1-01", "trace/events.ndjson", "line:1")])
    writer.seal()   # integrity/sha256sums.txt, as `vlab pack seal` writes it

The pack is then judged with ``vlab adjudicate my-run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlab.pack.limits import unsafe_path_reason
from vlab.producer.spendcap import utc_now

if TYPE_CHECKING:
    from vlab.pack.signatures import Signer


def dumps(value: Any) -> bytes:
    """Compact JSON as producers usually write it (one line, UTF-8)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def now_rfc3339() -> str:
    """The current UTC time to the second, as RFC 3339 (``2026-05-29T10:00:00Z``)."""
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


class PackWriter:
    """Writes the files of one pack folder (created if missing) at safe pack-relative paths
    (``ValueError`` for an unsafe one: absolute, ``..``, a backslash, a control character).
    Nothing is checked against a ruleset here: ``vlab adjudicate`` judges the result."""

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
        """Write ``data`` at the pack-relative path ``rel``, replacing any file there."""
        path = self._target(rel)
        path.write_bytes(data)
        return path

    def write_json(self, rel: str, value: Any, *, indent: int | None = 2) -> Path:
        """Write ``value`` as a JSON document (UTF-8, indented, with a final newline)."""
        text = json.dumps(value, indent=indent, ensure_ascii=False) + "\n"
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_ndjson(self, rel: str, records: list[Any], *, newline: bytes = b"\n") -> Path:
        """Write ``records`` as NDJSON, one compact JSON object a line. (To append to a live
        event log from several processes, use ``EventLog`` instead.)"""
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
        created_at: str | None = None,
        substrate: dict[str, Any] | None = None,
    ) -> None:
        """Write the three control files: ``manifest.json``, ``bundle.manifest.json`` (the
        pins: ``ruleset_ref``, ``protocol_pin``, ``schema_bundle_sha256`` -- see
        ``schema_bundle_sha256()`` -- and ``scenario_meta``) and ``evidence_pointers.json``.
        ``created_at`` defaults to the current UTC time, to the second (it is
        informational: no ruling reads it); pass it to write the same bytes every time."""
        manifest: dict[str, Any] = {
            "pack_id": pack_id,
            "contract_version": contract_version,
            "protocol_version": "1.0.0",
            "created_at": created_at if created_at is not None else now_rfc3339(),
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
        self.write_pointers(pointers)

    def write_pointers(self, pointers: list[dict[str, Any]]) -> Path:
        """Write ``evidence_pointers.json`` (see ``pointer()``), replacing the old one."""
        return self.write_json("evidence_pointers.json", {"pointers": pointers})

    def seal(self, sign_with: Signer | Path | str | None = None) -> None:
        """Write ``integrity/sha256sums.txt`` for every other file of the pack (last: any
        file written afterwards fails the INTEGRITY gate until the pack is sealed again).
        ``sign_with`` (an Ed25519 private key file, or any ``Signer``) also signs it:
        ``integrity/signatures/<keyid>.dsse.json`` (needs the trust extra)."""
        from vlab.pack.seal import seal

        signer = None
        if sign_with is not None:  # the key loads before anything is written
            from vlab.pack.signatures import signer_of

            signer = signer_of(sign_with)
        seal(self.root)
        if signer is not None:
            from vlab.pack.signatures import sign_pack

            sign_pack(self.root, signer)
