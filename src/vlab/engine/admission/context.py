"""What every gate works with: the pack reader, the ruleset catalog and the admission
being built; control files are parsed once and shared."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.findings import Detail
from vlab.engine.admission.model import Admission
from vlab.pack.reader import PackAccessError, PackReader
from vlab.pack.trust import TrustPolicy
from vlab.ruleset.model import Ruleset

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog

MANIFEST = "manifest.json"
BUNDLE = "bundle.manifest.json"
POINTERS = "evidence_pointers.json"
ABSENT = object()  # a control file that is missing or does not parse


def installed_requirements(catalog: Catalog) -> Callable[[], frozenset[str]]:
    """Every requirement id a ruleset of ``catalog`` declares, loaded only when asked (a
    ruleset that does not load declares nothing here: judging by it reports why)."""

    def ids() -> frozenset[str]:
        found: set[str] = set()
        for ruleset_id in catalog.ids():
            try:
                ruleset = catalog.get(ruleset_id)
            except UsageError:
                continue
            if ruleset is not None:
                found |= {c.requirement_id for c in ruleset.clauses}
        return frozenset(found)

    return ids


class GateContext:
    def __init__(
        self,
        reader: PackReader,
        find_ruleset: Callable[[str], Ruleset | None],
        known_requirements: Callable[[], frozenset[str]] | None = None,
        trust: TrustPolicy | None = None,
    ) -> None:
        self.trust = trust  # the policy in force (--trust), or None
        self.reader = reader
        self.find_ruleset = find_ruleset
        # Every requirement id an installed ruleset declares, asked for only when a pointer
        # names one the pinned ruleset lacks; None: the caller cannot say (no advisory).
        self.known_requirements = known_requirements
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
