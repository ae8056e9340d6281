"""Renderers: one ruling model, many formats. A registry of name -> renderer.

Adding a format is one module with a ``render_<name>(ruling) -> bytes`` function and one
entry in ``RENDERERS``; every command that writes rulings (``--format``, ``--out``) takes
it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from vlab.engine.ruling import Ruling


@dataclass(frozen=True)
class Renderer:
    name: str
    module: str  # imported when used: start-up stays lean
    function: str
    summary: str

    def __call__(self, ruling: Ruling) -> bytes:
        fn: Callable[[Ruling], bytes] = getattr(import_module(self.module), self.function)
        return fn(ruling)


RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        Renderer("table", "vlab.render.table", "render_table", "a table for people"),
        Renderer("json", "vlab.engine.ruling", "ruling_json", "the canonical ruling (RFC 8785)"),
        Renderer("md", "vlab.render.markdown", "render_markdown", "Markdown"),
        Renderer("junit", "vlab.render.junit", "render_junit", "JUnit XML, a testcase a clause"),
    )
}


def render(ruling: Ruling, fmt: str) -> bytes:
    """Bytes of one rendering (``--out`` files and non-table stdout)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}")
    return renderer(ruling)
