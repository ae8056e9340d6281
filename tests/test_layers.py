"""The package tree is the pipeline: imports flow one way, with no cycles and no private
access across packages (governance/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "vlab"


def test_import_linter_contracts_are_kept() -> None:
    """pyproject.toml's [tool.importlinter] contracts: the layers, and the producer
    library's isolation in both directions."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", "pyproject.toml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules() -> None:
    graph = grimp.build_graph("vlab")
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _module_of(path: Path) -> str:
    module = "vlab." + ".".join(path.relative_to(SRC).with_suffix("").parts)
    return module.removesuffix(".__init__")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(module: str, source: str) -> list[str]:
    """``from vlab.x import _name`` and ``alias._name`` where the alias is a vlab module
    of another package."""
    own = _package(module)
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vlab"):
            for name in node.names:
                target = f"{node.module}.{name.name}"
                if _package(node.module) != own and _private(name.name):
                    found.append(f"{module}: imports {target}")
                aliases[name.asname or name.name] = target
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.startswith("vlab"):
                    aliases[name.asname or name.name] = name.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and _package(aliases[node.value.id]) != own
        ):
            found.append(f"{module}: uses {node.value.id}.{node.attr}")
    return found


def test_no_private_access_across_packages() -> None:
    found = [
        use
        for path in sorted(SRC.rglob("*.py"))
        for use in _private_uses(_module_of(path), path.read_text("utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from vlab.core.money import _MONEY\n", ["imports vlab.core.money._MONEY"]),
        ("from vlab.core import money\nmoney._MONEY\n", ["uses money._MONEY"]),
        ("from vlab.engine.evidence import _record\n", []),  # same package
    ],
)
def test_the_private_access_check_can_fail(source: str, expected: list[str]) -> None:
    found = _private_uses("vlab.engine.probe", source)
    assert [f.split(": ", 1)[1] for f in found] == expected
