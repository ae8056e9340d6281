"""``--engine local``: a process pool on this host that survives killed workers.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker dies
(``BrokenProcessPool`` fails every pending future, so nobody can tell which item killed
it). Here each worker is a ``multiprocessing`` process with its own pipe and holds exactly
one item at a time, so the parent knows which item a dead worker took with it: that item
alone is counted an attempt and resubmitted to a fresh worker, and yielded as ``Lost``
after ``MAX_ATTEMPTS`` (decision 244). Results are yielded as items finish.

Workers start from a ``forkserver`` (POSIX; ``spawn`` elsewhere): forking the batch's own
process is unsafe once it runs threads (a progress bar refreshes from one), and a fork
server that has imported the work function's modules starts each worker, and each
replacement of a killed one, in milliseconds. Workers ignore SIGINT: on Ctrl-C the parent
stops them (SIGTERM, which the archive unpacker turns into removing its private folder).
``jobs=1`` runs in this process (no worker, no pickling).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from vlab.tools.batch.engines import MAX_ATTEMPTS, EngineOptions, Lost, one_line

PRELOAD = ["vlab.tools.batch.work"]  # imported once by the fork server
GRACE_SECONDS = 2.0  # an idle worker told to stop leaves by itself within this
STOP_SECONDS = 5.0  # a worker sent SIGTERM gets this long before SIGKILL


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection, fn: Callable[[Any], Any]) -> None:
    """A worker: take one item, send back its result, until told to stop or the pipe
    closes (the parent is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, item = message
        try:
            reply = (index, True, fn(item))
        except Exception as exc:  # fn must not raise; if it does: Lost, why
            reply = (index, False, one_line(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # a result that cannot travel back
            try:
                conn.send((index, False, one_line(exc)))
            except Exception:
                return


class _Worker:
    def __init__(self, ctx: Any, fn: Callable[[Any], Any]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(child, fn), daemon=True)
        self.process.start()
        child.close()
        self.item: int | None = None  # the index it holds

    def stop(self, grace: float = 0.0) -> None:
        """End the worker: ``grace`` seconds to leave by itself (it was told to), then
        SIGTERM, then SIGKILL."""
        if grace:
            self.process.join(grace)
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_SECONDS)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()


class LocalEngine:
    """``Engine`` over ``options.jobs`` worker processes (in this process for 1)."""

    def __init__(self, options: EngineOptions) -> None:
        self.jobs = max(1, options.jobs)
        self._workers: list[_Worker] = []
        self.deaths = 0  # workers that died holding an item (for tests and reports)

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        if self.jobs == 1:
            return self._in_process(fn, items)
        return self._pooled(fn, items)

    @staticmethod
    def _in_process(fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for index, item in enumerate(items):
            try:
                result = fn(item)
            except Exception as exc:  # as a worker would report it
                result = Lost(one_line(exc))
            yield index, result

    def _pooled(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        ctx = _context()
        pending = deque(range(len(items)))
        attempts = [0] * len(items)
        remaining = len(items)
        try:
            self._workers = [_Worker(ctx, fn) for _ in range(min(self.jobs, len(items)))]
            while remaining:
                self._submit(ctx, fn, items, pending, attempts)
                busy = [w for w in self._workers if w.item is not None]
                ready = set(wait([o for w in busy for o in (w.conn, w.process.sentinel)]))
                for w in busy:
                    finished = self._receive(w) if w.conn in ready else None
                    if finished is not None:
                        remaining -= 1
                        yield finished
                        if w.process.sentinel in ready:  # replied, then died: replace it
                            self._replace(w, ctx, fn)
                    elif w.process.sentinel in ready or w.conn in ready:
                        lost = self._died(w, attempts, pending)
                        self._replace(w, ctx, fn)
                        if lost is not None:
                            remaining -= 1
                            yield lost
        finally:
            self.close()

    def _submit(
        self,
        ctx: Any,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        pending: deque[int],
        attempts: list[int],
    ) -> None:
        """Give each idle worker the next pending item (one at a time: the parent always
        knows which item each worker holds)."""
        for w in list(self._workers):
            if w.item is not None or not pending:
                continue
            index = pending.popleft()
            try:
                w.conn.send((index, items[index]))
            except (OSError, ValueError):  # it was already gone: not an attempt
                pending.appendleft(index)
                self._replace(w, ctx, fn)
                continue
            attempts[index] += 1
            w.item = index

    def _replace(self, w: _Worker, ctx: Any, fn: Callable[[Any], Any]) -> None:
        w.stop(0)
        self._workers[self._workers.index(w)] = _Worker(ctx, fn)

    @staticmethod
    def _receive(w: _Worker) -> tuple[int, Any] | None:
        """The worker's reply, or None when its pipe closed (it died)."""
        try:
            index, ok, payload = w.conn.recv()
        except (EOFError, OSError):
            return None
        w.item = None
        return index, payload if ok else Lost(payload)

    def _died(
        self, w: _Worker, attempts: list[int], pending: deque[int]
    ) -> tuple[int, Lost] | None:
        """A worker died holding an item: resubmit it, or give it up as Lost."""
        index = w.item
        w.stop(0)
        code = w.process.exitcode
        w.item = None
        self.deaths += 1
        assert index is not None
        if attempts[index] >= MAX_ATTEMPTS:
            return index, Lost(f"its worker died {attempts[index]} times (last exit {code})")
        pending.appendleft(index)
        return None

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        for w in workers:
            w.stop(GRACE_SECONDS if w.item is None else 0.0)
