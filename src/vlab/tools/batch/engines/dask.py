"""The ``dask`` engine: a batch's items as Dask distributed tasks.

Without a scheduler address it starts an embedded ``LocalCluster`` (``jobs`` worker
processes of one thread each, on 127.0.0.1, no dashboards) and shuts it down in ``close``;
with ``tcp://HOST:PORT`` it submits to that cluster, whose workers must run the same vlab
and read the packs at the same paths (decision 282). Each item is one task
(``Client.map`` in batches, ``pure=False``), at most a window of them in flight; results are yielded
as they complete (``as_completed``). A worker that dies hands its task back to the
scheduler, which runs it again; ``distributed.scheduler.allowed-failures`` deaths later the
task fails with ``KilledWorker`` and the item is ``Lost`` (the embedded cluster allows
``MAX_ATTEMPTS - 1``; an external scheduler's own setting rules). ``fn`` runs inside
``_attempt``, which turns an exception into a one-line ``Lost`` and refuses a worker whose
vlab differs from the client's, so a result never depends on which worker made it.

Dask and distributed are imported here only, and this module only when ``--engine dask``
is chosen (``ENGINES``): a missing extra is ``open_engine``'s usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dask.config
import distributed

import vlab
from vlab.core.errors import UsageError
from vlab.tools.batch.engines import MAX_ATTEMPTS, EngineOptions, Lost, one_line

# Seconds to reach an external scheduler (and for its first worker to appear) before the
# address is a usage error: a scheduler answers in milliseconds on a LAN; ten seconds
# also covers a busy one, and bounds a mistyped or unreachable address (decision 281).
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 30.0  # seconds for the client and the embedded cluster to shut down
# Seconds the embedded cluster's workers get, when it closes, to finish the task they are
# running (a cancelled task runs on in its thread): a worker's nanny kills it 4 s into its
# close, before the ``finally`` of a pack being judged (an archive's private folder
# removed) has run. A second Ctrl-C ends the wait (decision 283).
FINISH_GRACE = 60.0

# Tasks submitted ahead of the results read back, per worker thread (at least MIN_WINDOW):
# enough to keep every worker busy, few enough that neither the client nor the scheduler
# holds a whole corpus of tasks at once. Refilled half a window at a time, one
# ``Client.map`` message each rather than a message per task.
WINDOW_PER_THREAD = 8
MIN_WINDOW = 32

# Above CRITICAL: the distributed loggers print nothing (a batch's stderr carries its own
# one-line errors only); a worker's death is reported by the Lost it may cause.
_QUIET = logging.CRITICAL + 10

# The embedded cluster's scheduler: a task is Lost on the MAX_ATTEMPTS-th worker death
# (KilledWorker comes when deaths exceed allowed-failures), and a one-thread worker holds
# only the task it runs, so a death blames that task alone (the default saturation of 1.1
# would queue a second task on the worker and count the death against it too).
_EMBEDDED_CONFIG = {
    "distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1,
    "distributed.scheduler.worker-saturation": 1.0,
}

_OK = 0
_ERROR = 1


def _attempt(fn: Callable[[Any], Any], item: Any, version: str) -> tuple[int, Any]:
    """Run ``fn(item)`` on a worker: ``(_OK, result)`` or ``(_ERROR, one-line reason)``."""
    if vlab.__version__ != version:
        return _ERROR, f"the dask worker runs vlab {vlab.__version__}, this batch vlab {version}"
    process = multiprocessing.current_process()
    if process.daemon:
        # A nanny starts its worker as a daemonic process, which multiprocessing forbids to
        # have children; the work forks its own helper for a large log's second half
        # (pack/ndjson.py). Clearing the flag in the worker changes nothing for the nanny,
        # which keeps its own handle and still terminates the worker when it closes.
        process.daemon = False
    try:
        return _OK, fn(item)
    except Exception as exc:  # fn should not raise; if it does, the item is Lost
        return _ERROR, one_line(exc)


async def _until_idle(seconds: float, dask_worker: Any) -> None:
    """On a worker (``Client.run``): wait until no task runs, at most ``seconds``."""
    give_up = time.monotonic() + seconds
    while dask_worker.state.executing_count and time.monotonic() < give_up:
        await asyncio.sleep(0.05)


def dask_setup(worker: object) -> None:
    """The embedded cluster's worker preload (distributed calls it as each worker starts, in
    the worker process's main thread): a terminal's Ctrl-C reaches every process of the
    batch's group, and the batch alone handles it (it closes the cluster, which stops the
    workers); a worker left to its default would print a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskEngine:
    """An ``Engine`` on Dask distributed: embedded ``LocalCluster`` or ``options.scheduler``."""

    def __init__(self, options: EngineOptions) -> None:
        self._cluster: distributed.LocalCluster | None = None
        self._client: distributed.Client | None = None
        self._closed = False
        self._pending: list[dict[str, distributed.Future[Any]]] = []  # each running map's
        self._restore_logs = _quiet_logs()
        try:
            if options.scheduler is None:
                self._client = self._embedded(options.jobs)
            else:
                self._client = self._connect(options.scheduler)
        except BaseException:
            self.close()
            raise

    def _embedded(self, jobs: int) -> distributed.Client:
        with dask.config.set(_EMBEDDED_CONFIG):
            self._cluster = distributed.LocalCluster(
                n_workers=max(1, jobs),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,  # no dashboard; the scheduler's HTTP server (health
                # routes only) on a free loopback port rather than 8787
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                worker_dashboard_address=None,
                silence_logs=_QUIET,
                # No nanny memory kills: vlab bounds a pack's memory itself, and a worker
                # restarted for its RSS would make a pack's fate depend on the engine.
                memory_limit=0,
                # each worker (also one its nanny restarts) ignores Ctrl-C: see dask_setup
                preload=[__name__],
            )
        return distributed.Client(self._cluster, set_as_default=False)

    def _connect(self, address: str) -> distributed.Client:
        if not address.startswith("tcp://"):
            raise UsageError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:
            raise UsageError(
                f"cannot reach the dask scheduler at {address}: {one_line(exc)}"
            ) from None
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            client.close(timeout=CLOSE_TIMEOUT)
            raise UsageError(
                f"the dask scheduler at {address} has no workers "
                f"(none joined within {CONNECT_TIMEOUT:g} s)"
            ) from None
        return client

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """Yield (index, fn(items[index]) or Lost) once per index, as tasks complete."""
        client = self._client
        if client is None or self._closed:
            raise RuntimeError("the dask engine is closed")
        prefix = f"vlab-batch-{uuid.uuid4().hex}-"  # task keys: unique per map, never in results
        threads = sum(client.nthreads().values())
        window = max(MIN_WINDOW, WINDOW_PER_THREAD * threads)
        index_of: dict[str, int] = {}
        pending: dict[str, distributed.Future[Any]] = {}
        self._pending.append(pending)
        version = vlab.__version__
        next_index = 0

        def submit(count: int) -> list[distributed.Future[Any]]:
            """The next ``count`` items as tasks, in one message to the scheduler."""
            nonlocal next_index
            indices = range(next_index, min(next_index + count, len(items)))
            next_index = indices.stop
            keys = [f"{prefix}{i}" for i in indices]
            futures: list[distributed.Future[Any]] = client.map(
                _attempt,
                [fn] * len(indices),
                [items[i] for i in indices],
                [version] * len(indices),
                key=keys,
                pure=False,
            )
            for i, key, future in zip(indices, keys, futures, strict=True):
                index_of[key] = i
                pending[key] = future
            return futures

        completed = distributed.as_completed(
            submit(window), loop=client.loop, with_results=True, raise_errors=False
        )
        try:
            for future, result in completed:
                if self._closed:  # closed under a map still running (an interrupt)
                    return
                key = str(future.key)
                index = index_of.pop(key)
                del pending[key]
                future.release()
                outcome = _outcome(result)
                if len(pending) <= window // 2 and next_index < len(items):
                    completed.update(submit(window - len(pending)))  # refill in batches
                yield index, outcome
        finally:
            self._pending = [p for p in self._pending if p is not pending]
            self._cancel(pending)

    def _cancel(self, pending: dict[str, distributed.Future[Any]]) -> None:
        """Cancel a map's unfinished tasks: an interrupted batch's cluster must not go on
        with them (best effort: close() follows)."""
        if pending and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.cancel(list(pending.values()))
            pending.clear()

    def close(self) -> None:
        """Close the client, then the embedded cluster; idempotent, also after Ctrl-C."""
        if self._closed:
            return
        self._closed = True
        for pending in self._pending:  # a map the caller left unfinished (an interrupt)
            self._cancel(pending)
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            # shutting down: nothing is left to save, and Ctrl-C may have torn the loop
            if client is not None and cluster is not None:
                with contextlib.suppress(Exception):
                    client.run(_until_idle, FINISH_GRACE)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=CLOSE_TIMEOUT)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=CLOSE_TIMEOUT)
        finally:
            self._restore_logs()


def _quiet_logs() -> Callable[[], None]:
    """Silence the stream handlers distributed installs (its own, tornado's, bokeh's) in
    this process; returns what puts them back."""
    saved: list[tuple[logging.Handler, int]] = []
    for name in ("distributed", "tornado", "bokeh"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                saved.append((handler, handler.level))
                handler.setLevel(_QUIET)

    def restore() -> None:
        for handler, level in saved:
            handler.setLevel(level)

    return restore


def _outcome(result: Any) -> Any:
    """A completed task's value, or the Lost its failure means. ``result`` is what
    ``as_completed(with_results=True, raise_errors=False)`` gives: ``_attempt``'s pair, the
    ``(type, exception, traceback)`` triple of a task that erred (KilledWorker), or the
    CancelledError of a task the cluster cancelled."""
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], BaseException):
        result = result[1]
    if isinstance(result, distributed.KilledWorker):
        return Lost(f"its dask worker died {result.allowed_failures + 1} times (KilledWorker)")
    if isinstance(result, BaseException):
        return Lost(f"dask task failed: {one_line(result)}")
    tag, value = result
    return value if tag == _OK else Lost(str(value))
