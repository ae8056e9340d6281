"""Data files shipped with the engine (registry, format schemas)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent
