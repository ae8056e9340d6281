"""Importer for agentv (importers.md §3)."""

from __future__ import annotations

from vlab.importers.base import Importer

IMPORTERS: tuple[Importer, ...] = ()
