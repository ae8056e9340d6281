"""Running work over a corpus: in this process, or in a process pool on this host.

Each worker process keeps one catalog per set of ruleset folders, so rulesets load once
per process, and only small results travel back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from vlab.ruleset.catalog import PATH_ENV, Catalog, env_dirs

T = TypeVar("T")
R = TypeVar("R")

_catalogs: dict[tuple[str, ...], Catalog] = {}


def catalog_for(dirs: Sequence[str]) -> Catalog:
    """This process's catalog of the shipped rulesets plus ``dirs`` (and the environment's)."""
    key = (os.environ.get(PATH_ENV, ""), *dirs)
    if key not in _catalogs:
        _catalogs[key] = Catalog(extra_dirs=[*env_dirs(), *(Path(d) for d in dirs)])
    return _catalogs[key]


def parallel_map(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(t) for t in tasks]`` in order, over ``jobs`` processes when jobs > 1."""
    items = list(tasks)
    out: list[R] = []
    if jobs <= 1:
        for item in items:
            out.append(fn(item))
            if progress:
                progress(1)
        return out
    chunk = max(1, min(64, len(items) // (jobs * 8) or 1))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(fn, items, chunksize=chunk):
            out.append(result)
            if progress:
                progress(1)
    return out
