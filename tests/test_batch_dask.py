"""The dask engine of `vlab batch` (tools/batch/engines/dask.py), on real clusters.

An embedded LocalCluster (two worker processes) and an external cluster (a `dask scheduler`
and two `dask worker` processes started here, on loopback) each map a test function over
items; the results must equal a plain in-process map, every index exactly once, also when
a worker dies (the function calls ``os._exit`` for a marked item on its first attempt), and
an item that kills every worker it runs on is Lost after MAX_ATTEMPTS attempts while the
others complete. No wall-clock assertion: timeouts here are liveness bounds only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from vlab.core.errors import UsageError  # noqa: E402
from vlab.tools.batch.engines import MAX_ATTEMPTS, EngineOptions, Lost, open_engine  # noqa: E402
from vlab.tools.batch.engines.dask import DaskEngine  # noqa: E402

TESTS = Path(__file__).resolve().parent
LIVENESS_S = 300  # a hung cluster fails the test instead of the session; not a time limit
START_LIVENESS_S = 180  # for a scheduler or worker to come up on a busy machine

# The external scheduler is configured like the embedded one (the engine cannot set an
# existing cluster's options; decision 282 says what a cluster should set).
CLUSTER_ENV = {
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(MAX_ATTEMPTS - 1),
    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
}


# --- the function the workers run (imported by reference: tests/ is on their path) --------


def work(item: tuple[int, str, str]) -> str:
    """A deterministic result for ``value``; ``mode`` makes the worker die or fail."""
    value, marker, mode = item
    if mode in ("die-once", "die-always"):
        with open(marker + ".attempts", "a", encoding="ascii") as attempts:
            attempts.write("x\n")
        if mode == "die-always" or _first_time(marker):
            os._exit(70)  # the worker process dies mid-task, as a crash or the OOM killer would
    if mode == "raise":
        raise ValueError("no such\nthing")
    if mode == "slow":  # a long pack: its finally (an archive's folder removed) must run
        Path(marker + ".start").touch()
        try:
            for _ in range(80):
                time.sleep(0.1)
        finally:
            Path(marker + ".finally").touch()
    if mode == "fork":  # the work forks a helper process (as a large log's scan does)
        context = multiprocessing.get_context("fork")
        with context.Pool(1) as pool:
            return str(pool.apply(_digest, (value,)))
    return _digest(value)


def _digest(value: int) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _first_time(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def attempts(marker: str) -> int:
    return len(Path(marker + ".attempts").read_text(encoding="ascii").splitlines())


def items(n: int, tmp_path: Path, modes: dict[int, str] | None = None) -> list[Any]:
    modes = modes or {}
    return [(i, str(tmp_path / f"item-{i}"), modes.get(i, "")) for i in range(n)]


def expected(item_list: Sequence[Any]) -> dict[int, Any]:
    """A plain in-process map of what no worker dies for."""
    return {i: _digest(item[0]) for i, item in enumerate(item_list)}


def collect(engine: Any, fn: Callable[[Any], Any], item_list: Sequence[Any]) -> dict[int, Any]:
    """Every (index, result) the engine yields; each index must come exactly once."""
    with ThreadPoolExecutor(1) as pool:
        pairs = pool.submit(lambda: list(engine.map_unordered(fn, item_list))).result(
            timeout=LIVENESS_S
        )
    counts = Counter(index for index, _ in pairs)
    assert sorted(counts) == list(range(len(item_list)))
    assert set(counts.values()) <= {1}, counts
    return dict(pairs)


# --- clusters -------------------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started in their own sessions, each group killed at the end, even on failure."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(started):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_scheduler(
    started: list[subprocess.Popen[bytes]], base: Path, env: dict[str, str] | None = None
) -> str:
    scheduler_file = base / "scheduler.json"
    log = (base / "scheduler.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--scheduler-file", str(scheduler_file), "--no-dashboard"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        cwd=base, env=_env(env), start_new_session=True,
    )  # fmt: skip
    started.append(proc)
    give_up = time.monotonic() + START_LIVENESS_S  # liveness only
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            return str(json.loads(scheduler_file.read_text(encoding="utf-8"))["address"])
        assert proc.poll() is None, (base / "scheduler.log").read_text(errors="replace")
        assert time.monotonic() < give_up, "the dask scheduler did not start"
        time.sleep(0.2)


def start_worker(
    started: list[subprocess.Popen[bytes]], base: Path, address: str, name: str
) -> None:
    folder = base / name
    folder.mkdir()
    log = (base / f"{name}.log").open("wb")
    started.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--local-directory",
                str(folder),
                "--name",
                name,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=_env(CLUSTER_ENV),
            start_new_session=True,
        )
    )


@pytest.fixture(scope="module")
def external_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `dask scheduler` and two `dask worker`s, separate processes on 127.0.0.1."""
    base = tmp_path_factory.mktemp("dask-cluster")
    with processes() as started:
        address = start_scheduler(started, base, CLUSTER_ENV)
        start_worker(started, base, address, "worker-a")
        start_worker(started, base, address, "worker-b")
        with distributed.Client(address, timeout=START_LIVENESS_S) as client:
            client.wait_for_workers(2, timeout=START_LIVENESS_S)
        yield address


@pytest.fixture(scope="module")
def embedded() -> Iterator[DaskEngine]:
    engine = DaskEngine(EngineOptions(jobs=2))
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def external(external_address: str) -> Iterator[DaskEngine]:
    engine = DaskEngine(EngineOptions(jobs=2, scheduler=external_address))
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(params=["embedded", "external"])
def engine(request: pytest.FixtureRequest) -> DaskEngine:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# --- tests ----------------------------------------------------------------------------------


def test_open_engine_names_the_dask_engine() -> None:
    engine = open_engine("dask", EngineOptions(jobs=1))
    try:
        assert isinstance(engine, DaskEngine)
        assert collect(engine, work, [(7, "", "")]) == {0: _digest(7)}
    finally:
        engine.close()
        engine.close()  # idempotent


def test_every_index_once_and_results_equal_a_plain_map(engine: DaskEngine, tmp_path: Path) -> None:
    item_list = items(40, tmp_path)
    assert collect(engine, work, item_list) == expected(item_list)
    assert collect(engine, work, []) == {}


def test_a_worker_killed_mid_run_retries_its_item(engine: DaskEngine, tmp_path: Path) -> None:
    item_list = items(30, tmp_path, {11: "die-once"})
    assert collect(engine, work, item_list) == expected(item_list)
    assert attempts(item_list[11][1]) == 2  # died once, then judged once


def test_an_item_that_kills_every_worker_is_lost(engine: DaskEngine, tmp_path: Path) -> None:
    item_list = items(20, tmp_path, {5: "die-always"})
    results = collect(engine, work, item_list)
    lost = results.pop(5)
    assert isinstance(lost, Lost)
    assert lost.reason == f"its dask worker died {MAX_ATTEMPTS} times (KilledWorker)"
    assert attempts(item_list[5][1]) == MAX_ATTEMPTS
    want = expected(item_list)
    del want[5]
    assert results == want
    # the cluster is still whole: the next map completes
    assert collect(engine, work, items(4, tmp_path / "again")) == expected(items(4, tmp_path))


def test_a_raising_function_is_lost_with_a_one_line_error(
    engine: DaskEngine, tmp_path: Path
) -> None:
    item_list = items(6, tmp_path, {2: "raise"})
    results = collect(engine, work, item_list)
    assert results.pop(2) == Lost("ValueError: no such")
    want = expected(item_list)
    del want[2]
    assert results == want


def test_the_work_may_fork_helper_processes(engine: DaskEngine, tmp_path: Path) -> None:
    # dask starts workers as daemonic processes, which may not have children; the engine
    # lifts that so a large log's two-process scan runs on a worker as it does locally
    item_list = items(3, tmp_path, {0: "fork", 1: "fork", 2: "fork"})
    assert collect(engine, work, item_list) == expected(item_list)


def test_a_closed_engine_refuses_work() -> None:
    engine = DaskEngine(EngineOptions(jobs=1))
    engine.close()
    engine.close()
    with pytest.raises(RuntimeError):
        list(engine.map_unordered(work, [(1, "", "")]))


def test_close_lets_running_tasks_finish_and_starts_no_more(tmp_path: Path) -> None:
    # a nanny kills its worker 4 s into closing; the engine first waits for the tasks that
    # run (cancelled, they run on in their threads) so that their finally blocks run
    engine = DaskEngine(EngineOptions(jobs=2))
    item_list = items(6, tmp_path, dict.fromkeys(range(6), "slow"))
    results = engine.map_unordered(work, item_list)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(next, results, None)  # runs until the engine is closed under it
        give_up = time.monotonic() + START_LIVENESS_S  # liveness only
        while len(list(tmp_path.glob("*.start"))) < 2:
            assert time.monotonic() < give_up, "no task started"
            time.sleep(0.1)
        engine.close()
    started = sorted(p.stem for p in tmp_path.glob("*.start"))
    assert len(started) == 2
    assert sorted(p.stem for p in tmp_path.glob("*.finally")) == started


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_is_a_usage_error() -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with ThreadPoolExecutor(1) as pool:  # bounded by the engine's connect timeout
        future = pool.submit(DaskEngine, EngineOptions(jobs=1, scheduler=address))
        with pytest.raises(UsageError) as error:
            future.result(timeout=LIVENESS_S)
    message = str(error.value)
    assert message.startswith(f"cannot reach the dask scheduler at {address}: ")
    assert "\n" not in message


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "localhost", "", "inproc://x"])
def test_a_malformed_scheduler_address_is_a_usage_error(address: str) -> None:
    with pytest.raises(UsageError, match="expected tcp://HOST:PORT"):
        DaskEngine(EngineOptions(jobs=1, scheduler=address))


def test_a_scheduler_without_workers_is_a_usage_error(tmp_path: Path) -> None:
    with processes() as started:
        address = start_scheduler(started, tmp_path)
        with pytest.raises(UsageError, match="has no workers"):
            DaskEngine(EngineOptions(jobs=1, scheduler=address))


STDERR_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from test_batch_dask import items, work
from vlab.tools.batch.engines import EngineOptions, Lost
from vlab.tools.batch.engines.dask import DaskEngine
from pathlib import Path
if __name__ == "__main__":
    import psutil
    engine = DaskEngine(EngineOptions(jobs=2))
    try:
        modes = {1: "die-once", 3: "die-always"}
        got = dict(engine.map_unordered(work, items(8, Path(sys.argv[2]), modes)))
        me = psutil.Process()
        listening = {c.laddr.ip for p in [me, *me.children(recursive=True)]
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
    finally:
        engine.close()
    print(sorted(i for i, r in got.items() if isinstance(r, Lost)), sorted(listening))
"""


def test_a_batch_stderr_stays_clean_when_workers_die(tmp_path: Path) -> None:
    # distributed logs a worker's death, restarts and KilledWorker to stderr by default;
    # the engine silences it in the client and in the embedded workers. The embedded
    # cluster listens on loopback only (scheduler, its HTTP server, nannies, workers).
    proc = subprocess.run(
        [sys.executable, "-c", STDERR_PROBE, str(TESTS), str(tmp_path)],
        capture_output=True, text=True, timeout=LIVENESS_S, env=_env(), check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "[3] ['127.0.0.1']\n", "")


INTERRUPT_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import psutil
from test_batch_dask import work
from vlab.tools.batch.engines import EngineOptions
from vlab.tools.batch.engines.dask import DaskEngine
if __name__ == "__main__":
    engine = DaskEngine(EngineOptions(jobs=2))
    children = [p.pid for p in psutil.Process().children(recursive=True)]
    try:
        for n, _ in enumerate(engine.map_unordered(work, [(i, "", "") for i in range(10**6)])):
            if n == 0:
                print(*children, flush=True)
    except KeyboardInterrupt:
        engine.close()
        engine.close()
        print("closed", flush=True)
        sys.exit(130)
"""


def test_ctrl_c_closes_the_embedded_cluster_cleanly() -> None:
    # a terminal's Ctrl-C: SIGINT to every process of the group, mid-map
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_PROBE, str(TESTS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        children = [int(pid) for pid in proc.stdout.readline().split()]
        assert children  # the worker processes
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=LIVENESS_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (proc.returncode, out, err) == (130, "closed\n", "")
    give_up = time.monotonic() + LIVENESS_S  # liveness only
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < give_up, "a worker outlived the interrupted batch"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
