"""`vlab batch --engine dask` end to end: results.jsonl byte-identical to `--engine local
--jobs 1` on golden vectors and hostile packs, on an embedded cluster and on an external
one (a `dask scheduler` and two `dask worker`s started here on loopback), also when a
worker is killed mid-batch (the batch's test hook ends the worker judging the victim pack
on its first attempt; attempts are counted in a file, never timed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("distributed")
pytest.importorskip("vlab.tools.batch.runner")  # `vlab batch` (another branch of issue 17)
batch_tests = pytest.importorskip("test_batch")  # its corpus, victim pack and test hook
VICTIM = batch_tests.VICTIM
_hook_attempts = batch_tests._hook_attempts
_picked = batch_tests._picked
make_corpus = batch_tests.make_corpus

from test_batch_dask import CLUSTER_ENV, processes, start_scheduler, start_worker  # noqa: E402

if TYPE_CHECKING:
    from conftest import Runner

HOOK = "VLAB_TEST_BATCH_HOOK"


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An external cluster: scheduler and two workers, separate processes on 127.0.0.1."""
    import distributed

    base = tmp_path_factory.mktemp("dask-e2e-cluster")
    with processes() as started:
        address = start_scheduler(started, base, CLUSTER_ENV)
        start_worker(started, base, address, "worker-a")
        start_worker(started, base, address, "worker-b")
        with distributed.Client(address, timeout=180) as client:
            client.wait_for_workers(2, timeout=180)
        yield address


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "corpus")


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory, vlab: Runner) -> bytes:
    """What `--engine local --jobs 1` writes."""
    results = tmp_path_factory.mktemp("local") / "local.jsonl"
    proc = vlab("batch", corpus, "--results", results, "--engine", "local", "-j", "1", "-q")
    assert proc.returncode == 0, proc.stderr
    data = results.read_bytes()
    tops = {json.loads(line)["ruling"]["topline"] for line in data.splitlines()}
    assert {"PASS", "FAIL", "NOT_ADMISSIBLE"} <= tops  # golden and hostile packs alike
    return data


def _dask_flags(scheduler: str | None) -> list[str]:
    return ["--engine", "dask", "-j", "2", *(["--scheduler", scheduler] if scheduler else [])]


@pytest.fixture(params=["embedded", "external"])
def where(request: pytest.FixtureRequest) -> str | None:
    if request.param == "embedded":
        return None
    return str(request.getfixturevalue("scheduler"))


def test_dask_results_are_the_local_engines_bytes(
    corpus: Path, reference: bytes, where: str | None, tmp_path: Path, vlab: Runner
) -> None:
    results = tmp_path / "dask.jsonl"
    proc = vlab("batch", corpus, "--results", results, *_dask_flags(where), "-q")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr  # stderr stays clean
    assert results.read_bytes() == reference
    summary = json.loads((tmp_path / "dask.summary.json").read_bytes())
    assert summary["packs"] == summary["judged"] == len(_picked())


def test_a_worker_killed_mid_batch_changes_no_byte(
    corpus: Path, reference: bytes, where: str | None, tmp_path: Path, vlab: Runner
) -> None:
    results, hook = tmp_path / "killed.jsonl", tmp_path / "hook"
    env = {HOOK: f"{hook}:{VICTIM}:1"}  # the victim's worker dies on its first attempt only
    proc = vlab("batch", corpus, "--results", results, *_dask_flags(where), "-q", env=env)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert results.read_bytes() == reference
    attempts = _hook_attempts(hook)
    assert attempts.count(VICTIM) == 2  # died once, then judged once
    assert sorted(set(attempts)) == sorted(_picked())


def test_a_pack_that_kills_every_worker_is_one_error_record(
    corpus: Path, reference: bytes, where: str | None, tmp_path: Path, vlab: Runner
) -> None:
    # the external scheduler is configured as the embedded one (allowed-failures 2)
    results, hook = tmp_path / "poison.jsonl", tmp_path / "hook"
    env = {HOOK: f"{hook}:{VICTIM}:999"}
    proc = vlab("batch", corpus, "--results", results, *_dask_flags(where), "-q", env=env)
    assert proc.returncode == 1
    lines = results.read_bytes().splitlines()
    (lost,) = [json.loads(x) for x in lines if b'"error"' in x]
    assert lost["path"] == VICTIM
    assert lost["error"] == "could not be judged: its dask worker died 3 times (KilledWorker)"
    kept = [x for x in reference.splitlines() if VICTIM.encode() not in x]
    assert [x for x in lines if b'"error"' not in x] == kept
