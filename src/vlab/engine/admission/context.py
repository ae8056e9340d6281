"""What every gate works with: the pack reader, the ruleset catalog and the admission
being built; control files are parsed once and shared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vlab.core import strictjson
from vlab.core.findings import Detail
from vlab.engine.admission.model import Admission
from vlab.pack.reader import PackAccessError, PackReader
from vlab.ruleset.model import Ruleset

MANIFEST = "manifest.json"
BUNDLE = "bundle.manifest.json"
POINTERS = "evidence_pointers.json"
ABSENT = object()  # a control file that is missing or does not parse


class GateContext:
    def __init__(self, reader: PackReader, find_ruleset: Callable[[str], Ruleset | None]) -> None:
        self.reader = reader
        self.find_ruleset = find_ruleset
        self.result = Admission()

    def parse(self, path: str) -> tuple[Any, strictjson.StrictJSONError | None]:
        try:
            limits = self.reader.limits
            data = self.reader.read_bytes(path)
            value = strictjson.loads(
                data, max_depth=limits.max_depth, max_values=limits.max_document_values
            )
            return value, None
        except strictjson.StrictJSONError as err:
            return None, err
        except (PackAccessError, OSError) as exc:
            return None, strictjson.StrictJSONError("CONTRACT-FILE-UNREADABLE", str(exc))

    def control(self, path: str, details: list[Detail]) -> Any:
        """The parsed control file, or ``ABSENT`` (a JSON ``null`` is a document too, and
        its schema must reject it)."""
        if path in self.result.documents:
            return self.result.documents[path]
        if not self.reader.has(path):
            details.append(Detail("CONTRACT-FILE-MISSING", f"{path} is missing", path))
            return ABSENT
        document, err = self.parse(path)
        if err is not None:
            details.append(Detail(err.code, err.message, path))
            return ABSENT
        self.result.documents[path] = document
        return document
