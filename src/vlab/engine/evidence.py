"""Evidence: what an admitted pack's pointers address, and the read-only view domain
checks and built-ins get. Reads only through the pack reader and the admission's indexes
(the bytes the gates hashed); never opens a file by itself, never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vlab.core import strictjson
from vlab.core.canonical import CanonicalError, canonical_bytes, sha256_ref
from vlab.core.strictjson import value_count_bound
from vlab.engine.admission import Admission, Pointer
from vlab.engine.ruling import EvidenceRef
from vlab.pack.limits import artifact_kind
from vlab.pack.locators import Locator, resolve_jsonptr
from vlab.pack.ndjson import is_blank, iter_exact_records, iter_records, read_line
from vlab.pack.reader import PackAccessError, PackReader


@dataclass(frozen=True)
class Resolved:
    value: Any
    line: int | None
    sha256: str

    def ref(self, pointer: Pointer) -> EvidenceRef:
        return EvidenceRef(pointer.artifact_path, pointer.locator.text, self.line, self.sha256)


class Evidence:
    """Resolves pointers against an admitted pack."""

    def __init__(self, reader: PackReader, admission: Admission) -> None:
        self.reader = reader
        self.admission = admission
        self._documents: dict[str, Any] = {}
        self._first_after: dict[tuple[Any, ...], dict[str, Any] | None] = {}

    def document(self, path: str) -> Any:
        if path in self.admission.documents:
            return self.admission.documents[path]
        if path not in self._documents:
            limits = self.reader.limits
            self._documents[path] = strictjson.loads(
                self.reader.read_bytes(path),
                max_depth=limits.max_depth,
                max_values=limits.max_document_values,
            )
        return self._documents[path]

    def json_artifact(self, path: str) -> dict[str, Any]:
        """``{found, sha256, value}`` of a JSON artifact by its conventional path."""
        if not self.reader.has(path) or artifact_kind(path) != "json":
            return {"found": False, "sha256": None, "value": None}
        try:
            value = self.document(path)
        except (PackAccessError, OSError, strictjson.StrictJSONError):
            value = None
        return {"found": True, "sha256": "sha256:" + self.admission.hashes[path], "value": value}

    def first_after(
        self, path: str, line: int, action: Any, types: frozenset[str], prefixes: frozenset[str]
    ) -> dict[str, Any] | None:
        """The first execution event after ``line`` of an NDJSON artifact (streamed once:
        a check and its message ask the same question)."""
        from vlab.core.tokens import key

        asked = (path, line, key(action), types, prefixes)
        if asked not in self._first_after:
            self._first_after[asked] = self._scan_after(path, line, action, types, prefixes)
        return self._first_after[asked]

    def _scan_after(
        self, path: str, line: int, action: Any, types: frozenset[str], prefixes: frozenset[str]
    ) -> dict[str, Any] | None:
        from vlab.builtins.functions import is_bookkeeping

        index = self.admission.indexes.get(path)
        if index is None:
            return None
        for number, record in iter_exact_records(self.reader, index, line + 1):
            if is_bookkeeping(record.get("event_type"), types, prefixes):
                continue
            if action is not None and record.get("action") != action:
                continue
            return {
                "event_id": record.get("event_id"),
                "event_type": record.get("event_type"),
                "line": number,
            }
        return None

    def artifact_bytes(self, path: str) -> tuple[bytes, str] | None:
        """The exact bytes of an artifact and their ``sha256:<hex>``, or None if absent."""
        if not self.reader.has(path):
            return None
        try:
            data = self.reader.read_bytes(path)
        except (PackAccessError, OSError):
            return None
        return data, "sha256:" + self.admission.hashes[path]

    def ndjson_records(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record of an NDJSON artifact with its line, streamed (money exact)."""
        index = self.admission.indexes.get(path)
        if index is not None:
            yield from iter_exact_records(self.reader, index)

    def resolve(self, pointer: Pointer, materialize: bool = True) -> Resolved | str:
        """What the pointer addresses, or why it is unresolvable (one resolver a locator
        kind: ``RESOLVERS``)."""
        path = pointer.artifact_path
        if not self.reader.has(path):
            return f"artifact {path} is not in the pack"
        try:
            return RESOLVERS[pointer.locator.kind](self, pointer.locator, path, materialize)
        except CanonicalError as exc:
            return f"target has no canonical JSON form: {exc}"
        except (PackAccessError, OSError, strictjson.StrictJSONError) as exc:
            return f"cannot read {path}: {exc}"


def _record(ev: Evidence, locator: Locator, path: str, materialize: bool) -> Resolved | str:
    """``event_id:`` and ``line:``: one NDJSON record, hashed over its exact line."""
    kind = artifact_kind(path)
    if kind != "ndjson":
        return f"{locator.kind}: needs an NDJSON artifact, {path} is {kind}"
    index = ev.admission.indexes.get(path)
    if index is None:
        return _not_indexed(path)
    if locator.kind == "event_id":
        lines = index.wanted_events.get(locator.value, [])
        if len(lines) != 1:
            return (
                f"no record with event_id {locator.value!r}"
                if not lines
                else f"{len(lines)} records have event_id {locator.value!r}"
            )
        line = lines[0]
    else:
        line = locator.line
        if line > index.line_count:
            return f"line {line} is past the end ({index.line_count} lines)"
    raw = read_line(ev.reader, index, line)
    if not raw or is_blank(raw):
        return f"line {line} is blank"
    return Resolved(strictjson.loads(raw), line, sha256_ref(raw))


def _file(ev: Evidence, locator: Locator, path: str, materialize: bool) -> Resolved | str:
    """``file:``: the whole JSON or NDJSON artifact, hashed over its bytes."""
    kind = artifact_kind(path)
    if kind not in ("json", "ndjson"):
        return f"{locator.kind}: needs a JSON artifact, {path} is {kind}"
    sha = "sha256:" + ev.admission.hashes[path]
    if kind == "json":
        return Resolved(ev.document(path), None, sha)
    if not materialize:  # a streaming clause reads it through its domain check
        return Resolved(None, None, sha)
    index = ev.admission.indexes.get(path)
    if index is None:
        return _not_indexed(path)
    too_large = _too_large_to_materialize(ev, path, index.records)
    if too_large is not None:
        return too_large
    records = [rec for _, _, rec in iter_records(ev.reader, index)]
    return Resolved(records, None, sha)


def _not_indexed(path: str) -> str:
    """An NDJSON file admission did not read as evidence (a ``native/`` file is its
    importer's to parse, with its system's tolerance): no record of it can be addressed."""
    return f"{path} is not an NDJSON artifact admission read (native/ files are their importer's)"


def _too_large_to_materialize(ev: Evidence, path: str, records: int) -> str | None:
    """Why an NDJSON artifact cannot be held whole as a list, or None: the same bounds as
    a JSON document parsed whole (bytes, and values counted generously by a byte scan)."""
    limits = ev.reader.limits
    size = ev.reader.size(path)
    advice = "; point at one record with event_id: or line:"
    if size > limits.max_document_bytes:
        return f"file: {path} is {size} bytes, more than is read whole{advice}"
    values = records
    for block in ev.reader.chunks(path):
        values += value_count_bound(block) - 1  # the same generous count as a document's
        if values > limits.max_document_values:
            return (
                f"file: {path} holds more than {limits.max_document_values} values,"
                f" more than is read whole{advice}"
            )
    return None


def _jsonptr(ev: Evidence, locator: Locator, path: str, materialize: bool) -> Resolved | str:
    """``jsonptr:``: an RFC 6901 target, hashed over its canonical JSON."""
    kind = artifact_kind(path)
    if kind not in ("json", "ndjson"):
        return f"{locator.kind}: needs a JSON artifact, {path} is {kind}"
    if kind != "json":
        return f"jsonptr: needs a JSON artifact, {path} is {kind}"
    found, target = resolve_jsonptr(ev.document(path), locator.value)
    if not found:
        return f"JSON pointer {locator.value!r} finds nothing in {path}"
    return Resolved(target, None, sha256_ref(canonical_bytes(target)))


Resolver = Callable[[Evidence, Locator, str, bool], "Resolved | str"]
# One resolver per locator kind of ``vlab.pack.locators.LOCATOR_KINDS``.
RESOLVERS: dict[str, Resolver] = {
    "event_id": _record,
    "line": _record,
    "jsonptr": _jsonptr,
    "file": _file,
}
