"""One batch from end to end: plan, chunk, run on an engine, write ordered results.

A chunk's worker may die with it: the engine retries the chunk, and a chunk it gives up
on (``Lost``) is run again one pack a chunk, so only the pack that kills its worker is
lost, each other pack of the chunk judged (decision 244).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlab import __version__
from vlab.tools.batch.engines import EngineOptions, Lost, open_engine
from vlab.tools.batch.plan import Task, plan
from vlab.tools.batch.results import (
    RESUME_SUFFIX,
    OrderedWriter,
    Previous,
    read_previous,
    summary_path,
)
from vlab.tools.batch.summary import Batch, Row, summarize
from vlab.tools.batch.work import (
    Chunk,
    Item,
    Record,
    Settings,
    bundle_name,
    error_line,
    judge_chunk,
    write_whole,
)

MAX_CHUNK = 256  # packs a task: a task's overhead (Dask: ~1 ms) against ~0.5 s of judging
CHUNKS_PER_WORKER = 8  # at least this many chunks a worker, for balance at the end
AUTHENTICITY = "ADM-GATE-AUTHENTICITY"


def chunk_size(packs: int, jobs: int) -> int:
    return max(1, min(MAX_CHUNK, -(-packs // (max(1, jobs) * CHUNKS_PER_WORKER))))


def run_batch(
    corpora: list[str],
    results: Path,
    settings: Settings,
    *,
    engine: str = "local",
    options: EngineOptions | None = None,
    resume: bool = False,
    reusable: Callable[[dict[str, Any]], bool] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
    tasks: list[Task] | None = None,
) -> Batch:
    """Judge every pack of ``corpora`` on ``engine``, writing ``results`` and its summary.
    ``tasks``: the plan, when the caller made it already. With ``resume``, a previous
    ruling is kept when ``reusable(ruling)`` holds and its pack
    digest is still the pack's."""
    options = options or EngineOptions(jobs=1)
    tasks = plan(corpora) if tasks is None else tasks
    previous = read_previous(results) if resume else {}
    items = [_item(i, t, previous, settings, reusable) for i, t in enumerate(tasks)]
    size = chunk or chunk_size(len(items), options.jobs)
    chunks = [Chunk(settings, tuple(items[i : i + size])) for i in range(0, len(items), size)]
    running = open_engine(engine, options)  # a missing extra is a usage error, before writing
    target = results.with_name(results.name + RESUME_SUFFIX) if resume else results
    rows: list[Row | None] = [None] * len(items)
    try:
        writer = OrderedWriter(target, len(items))
    except BaseException:
        running.close()  # an embedded cluster is not left running
        raise
    done = False
    try:
        lost: list[Chunk] = []
        for index, out in running.map_unordered(judge_chunk, chunks):
            if isinstance(out, Lost) and len(chunks[index].items) > 1:
                lost.append(chunks[index])  # again, one pack a chunk
                continue
            _take(chunks[index], out, tasks, previous, writer, rows, progress)
        singles = [Chunk(settings, (item,)) for c in lost for item in c.items]
        for index, out in running.map_unordered(judge_chunk, singles) if singles else ():
            _take(singles[index], out, tasks, previous, writer, rows, progress)
        done = True
    finally:
        running.close()
        writer.finish()
        if resume and done:
            os.replace(target, results)
    finished = tuple(r for r in rows if r is not None)
    summary = summarize(corpora, results, finished)
    from vlab.core.canonical import canonical_bytes

    write_whole(summary_path(results), canonical_bytes(summary) + b"\n")
    return Batch(tuple(corpora), results, finished, summary)


def _item(
    index: int,
    task: Task,
    previous: dict[tuple[int, str], Previous],
    settings: Settings,
    reusable: Callable[[dict[str, Any]], bool] | None,
) -> Item:
    expect = None
    prev = previous.get((task.corpus, task.shown))
    if prev is not None:
        ruling = prev.doc["ruling"]
        digest = (ruling.get("pack") or {}).get("digest") if isinstance(ruling, dict) else None
        if isinstance(digest, str) and _keepable(ruling, task, settings, reusable):
            expect = digest
    return Item(index, task.corpus, task.rel, task.shown, task.path, expect)


def _keepable(
    ruling: dict[str, Any],
    task: Task,
    settings: Settings,
    reusable: Callable[[dict[str, Any]], bool] | None,
) -> bool:
    """Whether a previous ruling was made as this batch would make it: the same vlab, no
    signature gate (signature files are outside the pack digest), the same waivers and
    time, the bundle present under ``--attest``, and the caller's ruleset check."""
    try:
        if (ruling.get("engine") or {}).get("version") != __version__:
            return False
        gates = (ruling.get("admission") or {}).get("gates") or []
        if "trust" in ruling or any(g.get("gate") == AUTHENTICITY for g in gates):
            return False
        waivers = ruling.get("waivers")
        if settings.waivers is None:
            if waivers is not None or "as_of" in ruling:
                return False
        elif (waivers or {}).get("sha256") != settings.waivers.sha256 or ruling.get(
            "as_of"
        ) != settings.as_of:
            return False
        bundle = bundle_name(task.corpus, task.rel)
        if settings.attest_dir is not None and not (Path(settings.attest_dir) / bundle).is_file():
            return False
        return reusable is None or reusable(ruling)
    except (AttributeError, TypeError):  # a hand-edited line of another shape
        return False


def _take(
    chunk: Chunk,
    out: Any,
    tasks: list[Task],
    previous: dict[tuple[int, str], Previous],
    writer: OrderedWriter,
    rows: list[Row | None],
    progress: Callable[[int], None] | None,
) -> None:
    """A finished chunk's records into the results (a Lost chunk: every pack of it could
    not be judged, and why)."""
    if isinstance(out, Lost):
        why = f"could not be judged: {out.reason}"
        records = [
            Record(i.index, error_line(i.corpus, i.shown, why), error=why) for i in chunk.items
        ]
    else:
        records = list(out)
    for record in records:
        task = tasks[record.index]
        line = record.line
        row = Row(
            task.corpus,
            task.shown,
            record.topline,
            record.clauses,
            record.reason_codes,
            record.error,
            record.attestation,
        )
        if record.kept:
            prev = previous[(task.corpus, task.shown)]
            line = prev.line
            row = _row_of(task, prev.doc["ruling"], settings_attest(chunk.settings, task))
        writer.add(record.index, line)
        rows[record.index] = row
    if progress is not None:
        progress(len(records))


def settings_attest(settings: Settings, task: Task) -> str | None:
    return bundle_name(task.corpus, task.rel) if settings.attest_dir is not None else None


def _row_of(task: Task, ruling: dict[str, Any], attestation: str | None) -> Row:
    return Row(
        task.corpus,
        task.shown,
        ruling["topline"],
        tuple((c["clause_id"], c["status"]) for c in ruling["clauses"]),
        tuple(ruling["reason_codes"]),
        None,
        attestation,
    )
