"""The importers by system and version (like the domain checks: a registered version
never changes what it derives; a change is a new version, and old versions stay so that
packs imported with them stay reproducible).

Adding a system is one module that defines ``IMPORTERS`` and one line in ``MODULES``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from vlab.importers.base import Importer

MODULES = (
    "vlab.importers.agentplane",
    "vlab.importers.hal0",
    "vlab.importers.agentv",
    "vlab.importers.runcap",
    "vlab.importers.mplp",
)


@lru_cache(maxsize=1)
def importers() -> dict[tuple[str, int], Importer]:
    found: dict[tuple[str, int], Importer] = {}
    for module in MODULES:
        for importer in import_module(module).IMPORTERS:
            key = (importer.system, importer.version)
            assert key not in found, key
            found[key] = importer
    return found


def systems() -> list[str]:
    """Every system vlab imports, sorted."""
    return sorted({system for system, _ in importers()})


def get(system: str, version: int | None = None) -> Importer | None:
    """That version of the system's importer, or its newest when ``version`` is None."""
    table = importers()
    if version is not None:
        return table.get((system, version))
    versions = [v for s, v in table if s == system]
    return table[(system, max(versions))] if versions else None
