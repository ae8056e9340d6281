"""Importers: the real output of the systems behind the seeds, as contract-1.2 packs
(importers.md). One module per system, registered in ``registry.MODULES``.

    from vlab.importers import import_pack
    import_pack("hal0", ["state/"], "pack/")
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Lazy: the CONTRACT gate imports vlab.importers.build without the catalog or seal.
    if name in ("import_pack", "ImportResult", "importer_for"):
        from vlab.importers import api

        return getattr(api, name)
    if name == "ImportRefused":
        from vlab.importers.base import ImportRefused

        return ImportRefused
    raise AttributeError(name)


__all__ = ["ImportRefused", "ImportResult", "import_pack", "importer_for"]
