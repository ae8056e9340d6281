"""Admission: SECURITY -> PIN -> INTEGRITY -> CONTRACT, in that order, short-circuiting.

Nothing inside a pack is interpreted before the gates that make it safe to read have
passed. Every failure is a ``Detail`` with a registered code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlab.core import strictjson
from vlab.core.findings import Detail
from vlab.pack.limits import artifact_kind, is_event_log, unsafe_path_reason
from vlab.pack.locators import Locator, parse_locator
from vlab.pack.ndjson import NdjsonIndex, scan
from vlab.pack.reader import PackAccessError, PackReader
from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums
from vlab.ruleset.model import Ruleset

SECURITY = "ADM-GATE-SECURITY"
PIN = "ADM-GATE-PIN"
INTEGRITY = "ADM-GATE-INTEGRITY"
CONTRACT = "ADM-GATE-CONTRACT"
GATES = (SECURITY, PIN, INTEGRITY, CONTRACT)

MANIFEST = "manifest.json"
BUNDLE = "bundle.manifest.json"
POINTERS = "evidence_pointers.json"
PIN_FIELDS = ("ruleset_ref", "protocol_pin", "schema_bundle_sha256")
MAX_DETAILS_PER_GATE = 100
_ABSENT = object()  # a control file that is missing or does not parse
MAX_SCHEMA_ERRORS_PER_FILE = 10


@dataclass
class Gate:
    gate: str
    status: str  # PASS | FAIL | SKIPPED
    details: list[Detail] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": self.status,
            "details": [d.to_json() for d in self.details],
        }


@dataclass(frozen=True)
class Pointer:
    requirement_id: str
    artifact_path: str
    locator: Locator
    status: str
    content_hash: str | None
    position: int  # index in evidence_pointers.json


@dataclass
class Admission:
    gates: list[Gate] = field(default_factory=list)
    pinned: Ruleset | None = None  # the ruleset ruleset_ref names, when installed
    run_id: str | None = None
    digest: str | None = None
    pack_id: str | None = None
    substrate: str | None = None
    contract_version: str | None = None
    scenario: dict[str, Any] = field(default_factory=dict)
    pointers: list[Pointer] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # path -> sha256 hex
    indexes: dict[str, NdjsonIndex] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)  # control files, parsed

    @property
    def admissible(self) -> bool:
        return all(g.status == "PASS" for g in self.gates) and len(self.gates) == len(GATES)

    @property
    def reason_code(self) -> str | None:
        for gate in self.gates:
            if gate.status == "FAIL":
                return gate.gate + "-FAIL"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ADMISSIBLE" if self.admissible else "NOT_ADMISSIBLE",
            "reason_code": self.reason_code,
            "gates": [g.to_json() for g in self.gates],
        }


class _Admitter:
    def __init__(self, reader: PackReader, find_ruleset: Callable[[str], Ruleset | None]) -> None:
        self.reader = reader
        self.find_ruleset = find_ruleset
        self.result = Admission()

    # -- SECURITY ---------------------------------------------------------------------

    def security(self) -> list[Detail]:
        inventory = self.reader.inventory()
        if inventory.refusals:
            return inventory.refusals
        details: list[Detail] = []
        max_line = self.reader.limits.max_line_bytes
        for f in inventory.files:
            ndjson = artifact_kind(f.path) == "ndjson"
            try:
                hexdigest, too_long = self.reader.hash_and_scan(
                    f.path, max_line if ndjson else None
                )
            except (PackAccessError, OSError) as exc:
                details.append(Detail("SECURITY-UNREADABLE", f"cannot read: {exc}", f.path))
                continue
            self.result.hashes[f.path] = hexdigest
            if too_long is not None:
                details.append(
                    Detail(
                        "SECURITY-LINE-TOO-LONG",
                        f"line longer than {max_line} bytes",
                        f.path,
                        line=too_long,
                    )
                )
        return details

    # -- PIN --------------------------------------------------------------------------

    def _parse(self, path: str) -> tuple[Any, strictjson.StrictJSONError | None]:
        try:
            data = self.reader.read_bytes(path)
            return strictjson.loads(data, max_depth=self.reader.limits.max_depth), None
        except strictjson.StrictJSONError as err:
            return None, err
        except (PackAccessError, OSError) as exc:
            return None, strictjson.StrictJSONError("CONTRACT-FILE-UNREADABLE", str(exc))

    def pin(self) -> list[Detail]:
        if not self.reader.has(BUNDLE):
            return [Detail("PIN-BUNDLE-MISSING", f"{BUNDLE} is missing", BUNDLE)]
        bundle, err = self._parse(BUNDLE)
        if err is not None:
            return [Detail("PIN-BUNDLE-INVALID", f"{err.code}: {err.message}", BUNDLE)]
        if not isinstance(bundle, dict):
            return [Detail("PIN-BUNDLE-INVALID", "not a JSON object", BUNDLE)]
        self.result.documents[BUNDLE] = bundle
        details: list[Detail] = []
        pins: dict[str, str] = {}
        for name in PIN_FIELDS:
            value = bundle.get(name)
            if not isinstance(value, str) or not value.strip():
                details.append(
                    Detail(
                        "PIN-MISSING",
                        f"{name} is missing, empty or not a string",
                        BUNDLE,
                        locator=f"jsonptr:/{name}",
                    )
                )
            elif _is_placeholder(value):
                details.append(
                    Detail(
                        "PIN-PLACEHOLDER",
                        f"{name} {value!r} is a placeholder",
                        BUNDLE,
                        locator=f"jsonptr:/{name}",
                    )
                )
            else:
                pins[name] = value
        ruleset = None
        if "ruleset_ref" in pins:
            ruleset = self.find_ruleset(pins["ruleset_ref"])
            # Known even if another pin fails: its clauses are then NOT_ADMISSIBLE.
            self.result.pinned = ruleset
            if ruleset is None:
                details.append(
                    Detail(
                        "PIN-UNKNOWN-RULESET",
                        f"ruleset_ref {pins['ruleset_ref']!r} names no installed ruleset",
                        BUNDLE,
                        locator="jsonptr:/ruleset_ref",
                    )
                )
        if ruleset is not None:
            if "protocol_pin" in pins and pins["protocol_pin"] not in ruleset.protocol_pins:
                details.append(
                    Detail(
                        "PIN-PROTOCOL-NOT-ACCEPTED",
                        f"protocol_pin {pins['protocol_pin']!r} is not accepted by "
                        f"{ruleset.id} (accepts {', '.join(ruleset.protocol_pins)})",
                        BUNDLE,
                        locator="jsonptr:/protocol_pin",
                    )
                )
            got = pins.get("schema_bundle_sha256")
            if got is not None and got != ruleset.schema_bundle_sha256:
                details.append(
                    Detail(
                        "PIN-SCHEMA-BUNDLE-MISMATCH",
                        f"schema_bundle_sha256 is not the digest of {ruleset.id}'s schema "
                        f"bundle ({ruleset.schema_bundle_sha256})",
                        BUNDLE,
                        locator="jsonptr:/schema_bundle_sha256",
                    )
                )
        if not details:
            run_id = bundle.get("run_id")
            self.result.run_id = run_id if isinstance(run_id, str) else None
        return details

    # -- INTEGRITY --------------------------------------------------------------------

    def integrity(self) -> list[Detail]:
        if not self.reader.has(SUMS_PATH):
            return [Detail("INTEGRITY-MANIFEST-MISSING", f"{SUMS_PATH} is missing", SUMS_PATH)]
        try:
            data = self.reader.read_bytes(SUMS_PATH)
        except (PackAccessError, OSError) as exc:
            return [Detail("INTEGRITY-MALFORMED", f"cannot read: {exc}", SUMS_PATH)]
        entries, details = parse_sums(data)
        hashes = self.result.hashes
        listed: dict[str, str] = {}
        for entry in entries:
            if entry.path == SUMS_PATH:
                details.append(
                    Detail(
                        "INTEGRITY-SELF-LISTED",
                        "the integrity file lists itself",
                        SUMS_PATH,
                        line=entry.line,
                    )
                )
            elif entry.path in listed:
                details.append(
                    Detail(
                        "INTEGRITY-DUPLICATE-ENTRY",
                        f"{entry.path} is listed twice",
                        SUMS_PATH,
                        line=entry.line,
                    )
                )
            elif entry.path not in hashes:
                details.append(
                    Detail("INTEGRITY-MISSING-FILE", "listed but not in the pack", entry.path)
                )
                listed[entry.path] = entry.hexdigest
            else:
                listed[entry.path] = entry.hexdigest
                if hashes[entry.path] != entry.hexdigest:
                    details.append(
                        Detail(
                            "INTEGRITY-HASH-MISMATCH",
                            f"sha256 is {hashes[entry.path]}, listed {entry.hexdigest}",
                            entry.path,
                        )
                    )
        for path in sorted(hashes, key=lambda p: p.encode("utf-8")):
            if path != SUMS_PATH and path not in listed:
                details.append(
                    Detail("INTEGRITY-UNLISTED-FILE", "in the pack but not listed", path)
                )
        if not details:
            self.result.digest = pack_digest(listed)
        return details

    # -- CONTRACT ---------------------------------------------------------------------

    def _schema_errors(self, path: str, document: Any, schema: dict[str, Any]) -> list[Detail]:
        assert self.result.pinned is not None  # CONTRACT runs against the pinned ruleset
        errors = sorted(
            self.result.pinned.validator(schema).iter_errors(document),
            key=lambda e: ([str(p) for p in e.absolute_path], e.validator, e.message),
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

    def _control(self, path: str, details: list[Detail]) -> Any:
        """The parsed control file, or ``_ABSENT`` (a JSON ``null`` is a document too, and
        its schema must reject it)."""
        if path in self.result.documents:
            return self.result.documents[path]
        if not self.reader.has(path):
            details.append(Detail("CONTRACT-FILE-MISSING", f"{path} is missing", path))
            return _ABSENT
        document, err = self._parse(path)
        if err is not None:
            details.append(Detail(err.code, err.message, path))
            return _ABSENT
        self.result.documents[path] = document
        return document

    def contract(self, ruleset: Ruleset) -> list[Detail]:
        details: list[Detail] = []
        manifest = self._control(MANIFEST, details)
        if manifest is not _ABSENT:
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
                details += self._schema_errors(MANIFEST, manifest, schema)
        bundle = self._control(BUNDLE, details)
        if bundle is not _ABSENT:
            details += self._schema_errors(BUNDLE, bundle, ruleset.bundle_manifest_schema)
        pointers_doc = self._control(POINTERS, details)
        pointer_errors: list[Detail] = []
        if pointers_doc is not _ABSENT:
            pointer_errors = self._schema_errors(
                POINTERS, pointers_doc, ruleset.evidence_pointers_schema
            )
            details += pointer_errors
        if pointers_doc is not _ABSENT and not pointer_errors:
            details += self._pointers(pointers_doc["pointers"])
        details += self._artifacts()
        if not details:
            assert isinstance(manifest, dict) and isinstance(bundle, dict)
            self.result.pack_id = manifest["pack_id"]
            self.result.contract_version = manifest["contract_version"]
            substrate = manifest.get("substrate")
            self.result.substrate = (
                substrate["type"]
                if manifest["contract_version"] != "1.0" and isinstance(substrate, dict)
                else "not_declared"
            )
            self.result.scenario = dict(bundle.get("scenario_meta") or {})
        return details

    def _pointers(self, raw: list[dict[str, Any]]) -> list[Detail]:
        details: list[Detail] = []
        for i, p in enumerate(raw):
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
                self.result.pointers.append(
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

    def _artifacts(self) -> list[Detail]:
        """Every other JSON and NDJSON artifact must be strictly valid."""
        details: list[Detail] = []
        wanted: dict[str, set[str]] = {}
        for p in self.result.pointers:
            if p.locator.kind == "event_id":
                wanted.setdefault(p.artifact_path, set()).add(p.locator.value)
        limits = self.reader.limits
        for path in sorted(self.result.hashes, key=lambda p: p.encode("utf-8")):
            kind = artifact_kind(path)
            if kind == "json" and path not in (MANIFEST, BUNDLE, POINTERS):
                _, err = self._parse(path)
                if err is not None:
                    details.append(Detail(err.code, err.message, path))
            elif kind == "ndjson":
                try:
                    index, found = scan(
                        self.reader,
                        path,
                        event_log=is_event_log(path),
                        wanted_ids=wanted.get(path, set()),
                        max_depth=limits.max_depth,
                    )
                except (PackAccessError, OSError) as exc:
                    details.append(Detail("CONTRACT-FILE-UNREADABLE", str(exc), path))
                    continue
                self.result.indexes[path] = index
                details += found
        return details


def _is_placeholder(value: str) -> bool:
    token = value.strip().lower()
    return token in ("unknown", "tbd", "placeholder") or "placeholder" in token


def admit(reader: PackReader, find_ruleset: Callable[[str], Ruleset | None]) -> Admission:
    """Run the four gates in order; the first failure stops admission."""
    admitter = _Admitter(reader, find_ruleset)
    result = admitter.result
    steps: list[tuple[str, Callable[[], list[Detail]]]] = [
        (SECURITY, admitter.security),
        (PIN, admitter.pin),
        (INTEGRITY, admitter.integrity),
        (CONTRACT, lambda: admitter.contract(_pinned(result))),
    ]
    failed = False
    for name, step in steps:
        if failed:
            result.gates.append(Gate(name, "SKIPPED"))
            continue
        details = step()[:MAX_DETAILS_PER_GATE]
        failed = bool(details)
        result.gates.append(Gate(name, "FAIL" if failed else "PASS", details))
    return result


def _pinned(result: Admission) -> Ruleset:
    assert result.pinned is not None  # PIN passed
    return result.pinned
