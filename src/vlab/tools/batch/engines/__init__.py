"""Where a batch's chunks run: a registry of engines, name -> factory.

An engine maps a picklable top-level function over a sequence of items (chunks of packs)
and yields ``(index, result)`` as items finish, in any order, each index exactly once. A
worker that dies takes its in-flight items with it; the engine resubmits them, and an item
whose worker died ``MAX_ATTEMPTS`` times is yielded as ``Lost`` instead of a result, so one
poisonous pack never stops a batch. ``fn`` itself must not raise (the batch's work function
turns every error into a result); if it does, the engine yields ``Lost`` with the one-line
error. Ordering is the batch's job, not the engine's: results are re-ordered by index.

Adding an engine is one module and one entry in ``ENGINES`` (a ``module:Class`` path, so an
optional extra such as Dask is imported only when its engine is chosen).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vlab.core.errors import UsageError

MAX_ATTEMPTS = 3  # submissions of one item before it is Lost (the first plus two retries)
ERROR_CHARS = 300  # an error's one line, in a Lost or an error record, is at most this long


@dataclass(frozen=True)
class EngineOptions:
    jobs: int  # worker processes (local pool size; dask LocalCluster n_workers)
    scheduler: str | None = None  # dask: tcp://HOST:PORT of an existing cluster


@dataclass(frozen=True)
class Lost:
    """An item no worker could finish: why, in one line."""

    reason: str


def one_line(exc: BaseException) -> str:
    """An exception as one line, ``Type: first line`` (at most ``ERROR_CHARS``): the words
    every engine gives a failed item, so results never depend on the engine."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return (f"{type(exc).__name__}: {first}" if first else type(exc).__name__)[:ERROR_CHARS]


class Engine(Protocol):
    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """Yield (index, fn(items[index]) or Lost) once per index, in any order."""
        ...

    def close(self) -> None:
        """Release workers / clusters; safe to call twice, also after an interrupt."""
        ...


# name -> "module:attribute" of a factory taking EngineOptions and returning an Engine.
ENGINES: dict[str, str] = {
    "local": "vlab.tools.batch.engines.local:LocalEngine",
    "dask": "vlab.tools.batch.engines.dask:DaskEngine",
}


def open_engine(name: str, options: EngineOptions) -> Engine:
    """The engine called ``name``; a UsageError (exit 64) for an unknown name or a missing extra."""
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(sorted(ENGINES))}")
    module_name, _, attribute = ENGINES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing and not missing.startswith("vlab"):
            raise UsageError(
                f"--engine {name} needs {missing}: pip install 'vlab[{name}]'"
            ) from None
        raise
    factory: Callable[[EngineOptions], Engine] = getattr(module, attribute)
    return factory(options)
