"""``vlab batch`` (scale.md §2) with the local engine: ordered results whatever the worker
count and the CORPUS form; one pack's error never stops the others; a killed worker's packs
are retried and judged once; a pack that kills its worker every time is lost after three
attempts; ``--resume`` gives the uninterrupted run's bytes; reports; usage errors.

Killing is done by the work function itself under a test-only hook (``work.HOOK_ENV``:
each attempt is appended to a file, so attempts are counted, never timed).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import InProcessRunner, Runner

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "evidence_packs"
# Golden vectors that pass, fail and are refused, and hostile packs (a link, a bad name).
PICKED = (
    "d1-01/pass-event-id",
    "d1-01/fail-kind-missing",
    "admission/contract-duplicate-key",
    "admission/integrity-hash-mismatch",
    "admission/pin-unknown-ruleset",
    "admission/security-symlink",
    "admission/security-unsafe-name",
    "admission/security-disallowed-ending",
    "d2-01/pass-to-state-synonym",
    "d3-01/fail-kind-not-authz",
    "starter/arb-d1-budget-fail-fixture",
)
VICTIM = "d2-01/pass-to-state-synonym"  # the pack the hook kills
BUNDLE = "0-d2-01%2Fpass-to-state-synonym.intoto.jsonl"  # its attestation


def _picked() -> list[str]:
    return [p for p in PICKED if (VECTORS / p / "pack").is_dir()]


def make_corpus(root: Path, names: list[str] | None = None) -> Path:
    """A folder of packs: each picked vector's pack/ copied to <group>/<name> (links kept)."""
    for name in names if names is not None else _picked():
        shutil.copytree(VECTORS / name / "pack", root / name, symlinks=True)
    return root


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


def test_the_pick_is_a_real_mix() -> None:
    assert len(_picked()) >= 8


# -- ordered, identical results --------------------------------------------------------------


def test_golden_vectors_jobs_1_and_2_identical_and_ordered(tmp_path: Path, vlab: Runner) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert vlab("batch", VECTORS, "--results", one, "--jobs", "1", "-q").returncode == 0
    assert vlab("batch", VECTORS, "--results", two, "--jobs", "2", "-q").returncode == 0
    assert one.read_bytes() == two.read_bytes()
    docs = lines_of(one)
    keys = [(d["corpus"], d["path"].encode("utf-8")) for d in docs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    summary = json.loads((tmp_path / "one.summary.json").read_bytes())
    assert summary["packs"] == len(docs) == summary["judged"] and summary["not_judged"] == 0
    assert sum(summary["toplines"].values()) == len(docs)
    tops = {d["ruling"]["topline"] for d in docs}
    assert {"PASS", "FAIL", "NOT_ADMISSIBLE"} <= tops  # golden and hostile packs alike
    from vlab.engine.ruling import ruling_digest

    assert all(ruling_digest(d["ruling"]) == d["ruling"]["digest"] for d in docs)  # sealed once


def test_a_line_holds_the_adjudicate_json_bytes(corpus: Path, tmp_path: Path, vlab: Runner) -> None:
    results = tmp_path / "r.jsonl"
    assert vlab("batch", corpus, "--results", results, "-j", "2", "-q").returncode == 0
    for raw in results.read_bytes().splitlines()[:4]:
        doc = json.loads(raw)
        single = vlab("adjudicate", corpus / doc["path"], "--format", "json").stdout
        assert raw == b'{"corpus":0,"path":' + json.dumps(doc["path"]).encode() + (
            b',"ruling":' + single.rstrip(b"\n") + b"}"
        )


def test_a_list_file_in_any_order_gives_the_folder_results(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    names = _picked()
    random.Random(7).shuffle(names)
    listing = corpus / "packs.txt"
    listing.write_text("# the packs\n\n" + "\n".join(names) + "\n", encoding="utf-8")
    folder, listed = tmp_path / "folder.jsonl", tmp_path / "listed.jsonl"
    assert vlab("batch", corpus, "--results", folder, "-q", "-j", "2").returncode == 0
    assert vlab("batch", listing, "--results", listed, "-q", "-j", "1").returncode == 0
    assert folder.read_bytes() == listed.read_bytes()


def test_corpus_arguments_in_order_then_path_bytes(tmp_path: Path, vlab: Runner) -> None:
    a = make_corpus(tmp_path / "a", ["d1-01/pass-event-id", VICTIM])
    b = make_corpus(tmp_path / "b", ["d3-01/fail-kind-not-authz"])
    results = tmp_path / "r.jsonl"
    assert vlab("batch", b, a, "--results", results, "-q").returncode == 0
    got = [(d["corpus"], d["path"]) for d in lines_of(results)]
    assert got == [(0, "d3-01/fail-kind-not-authz"), (1, "d1-01/pass-event-id"), (1, VICTIM)]
    assert json.loads((tmp_path / "r.summary.json").read_bytes())["corpora"] == [str(b), str(a)]


def test_a_pack_folder_is_a_corpus_of_one(tmp_path: Path, vlab: Runner) -> None:
    results = tmp_path / "r.jsonl"
    pack = VECTORS / "d1-01" / "pass-event-id" / "pack"
    assert vlab("batch", pack, "--results", results, "-q").returncode == 0
    assert [d["path"] for d in lines_of(results)] == ["."]


def test_archive_packs_rule_as_their_folders(corpus: Path, tmp_path: Path, vlab: Runner) -> None:
    import tarfile
    import zipfile

    archives = tmp_path / "archives"
    # an archive refuses links and unsafe names with its own codes (scale.md §1)
    names = [n for n in _picked() if "security-symlink" not in n and "unsafe" not in n]
    for i, name in enumerate(names):
        target = archives / (name + (".tgz" if i % 2 else ".zip"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if i % 2:
            with tarfile.open(target, "w:gz") as tar:
                for f in sorted((corpus / name).rglob("*")):
                    tar.add(f, arcname=f.relative_to(corpus / name).as_posix(), recursive=False)
        else:
            with zipfile.ZipFile(target, "w") as z:
                for f in sorted((corpus / name).rglob("*")):
                    if f.is_file():
                        z.write(f, f.relative_to(corpus / name).as_posix())
    folders, packed = tmp_path / "folders.jsonl", tmp_path / "packed.jsonl"
    listing = tmp_path / "folders.txt"
    listing.write_text("\n".join(str(corpus / n) for n in names) + "\n", encoding="utf-8")
    assert vlab("batch", listing, "--results", folders, "-q", "-j", "2").returncode == 0
    assert vlab("batch", archives, "--results", packed, "-q", "-j", "2").returncode == 0
    by_folder = {Path(d["path"]).name: d["ruling"] for d in lines_of(folders)}
    by_archive = {Path(d["path"]).name.split(".")[0]: d["ruling"] for d in lines_of(packed)}
    assert by_archive == by_folder and len(by_archive) == len(names)
    one = tmp_path / "one.jsonl"  # an archive given as a CORPUS is a corpus of one
    first = archives / (names[0] + ".zip")
    assert vlab("batch", first, "--results", one, "-q").returncode == 0
    assert [d["path"] for d in lines_of(one)] == ["."]


# -- one bad pack never stops the others -------------------------------------------------------


def test_a_pack_whose_judging_raises_is_an_error_record(
    corpus: Path,
    tmp_path: Path,
    vlab_in_process: InProcessRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import vlab.engine.pipeline as pipeline

    real = pipeline.judge

    def judge(reader: Any, *args: Any, **kwargs: Any) -> Any:
        if "fail-kind-missing" in str(reader.root):
            raise RuntimeError("boom\nsecond line")
        return real(reader, *args, **kwargs)

    monkeypatch.setattr(pipeline, "judge", judge)
    results = tmp_path / "r.jsonl"
    code, _, err = vlab_in_process("batch", corpus, "--results", results, "--jobs", "1")
    assert code == 1
    docs = lines_of(results)
    (bad,) = [d for d in docs if "error" in d]
    assert bad == {"corpus": 0, "path": "d1-01/fail-kind-missing", "error": "RuntimeError: boom"}
    assert all("ruling" in d for d in docs if d is not bad) and len(docs) == len(_picked())
    summary = json.loads((tmp_path / "r.summary.json").read_bytes())
    assert summary["could_not_judge"] == [bad] and summary["not_judged"] == 1
    assert "could not judge d1-01/fail-kind-missing" in err


def test_a_listed_pack_that_does_not_exist_is_an_error_record(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{corpus / VICTIM}\nnowhere/pack\n", encoding="utf-8")
    results = tmp_path / "r.jsonl"
    proc = vlab("batch", listing, "--results", results, "-q")
    assert proc.returncode == 1
    docs = lines_of(results)
    assert docs[1] == {"corpus": 0, "path": "nowhere/pack", "error": "pack not found: nowhere/pack"}
    assert str(tmp_path) not in results.read_text("utf-8").split("\n")[1]  # no absolute path


def _hook_attempts(hook: Path) -> list[str]:
    return hook.read_text("utf-8").splitlines() if hook.exists() else []


def test_a_killed_worker_is_replaced_and_its_pack_judged_once(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    clean, killed, hook = tmp_path / "clean.jsonl", tmp_path / "killed.jsonl", tmp_path / "hook"
    assert vlab("batch", corpus, "--results", clean, "-q", "-j", "2").returncode == 0
    env = {"VLAB_TEST_BATCH_HOOK": f"{hook}:{VICTIM}:1"}  # dies the first time only
    proc = vlab("batch", corpus, "--results", killed, "-q", "-j", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert killed.read_bytes() == clean.read_bytes()
    attempts = _hook_attempts(hook)
    assert attempts.count(VICTIM) == 2
    assert sorted(set(attempts)) == sorted(_picked())
    assert all(attempts.count(p) == 1 for p in _picked() if p != VICTIM)


def test_a_pack_that_kills_every_worker_is_lost_after_three_attempts(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    results, hook = tmp_path / "r.jsonl", tmp_path / "hook"
    env = {"VLAB_TEST_BATCH_HOOK": f"{hook}:{VICTIM}:999"}
    proc = vlab("batch", corpus, "--results", results, "-q", "-j", "2", env=env)
    assert proc.returncode == 1
    assert _hook_attempts(hook).count(VICTIM) == 3
    docs = lines_of(results)
    (lost,) = [d for d in docs if "error" in d]
    assert lost["path"] == VICTIM
    assert lost["error"].startswith("could not be judged: its worker died 3 times")
    assert len(docs) == len(_picked())


def test_a_lost_chunk_is_run_again_one_pack_a_chunk(corpus: Path, tmp_path: Path) -> None:
    from vlab.tools.batch.engines import EngineOptions
    from vlab.tools.batch.runner import run_batch
    from vlab.tools.batch.work import Settings

    clean, results, hook = tmp_path / "clean.jsonl", tmp_path / "r.jsonl", tmp_path / "hook"
    run_batch([str(corpus)], clean, Settings(), options=EngineOptions(jobs=1))
    poison = Settings(hook=f"{hook}:{VICTIM}:999")
    batch = run_batch([str(corpus)], results, poison, options=EngineOptions(jobs=2), chunk=4)
    assert not batch.complete
    assert [r.path for r in batch.rows if r.error] == [VICTIM]
    attempts = _hook_attempts(hook)
    assert attempts.count(VICTIM) == 6  # three with its chunk, three alone
    kept = [x for x in clean.read_bytes().splitlines() if VICTIM.encode() not in x]
    assert [x for x in results.read_bytes().splitlines() if b'"error"' not in x] == kept


def test_ctrl_c_leaves_whole_lines_in_order_and_resume_completes(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    import os
    import signal
    import subprocess
    import time

    from conftest import LIVENESS_TIMEOUT_S, clean_env

    clean, results, hook = tmp_path / "clean.jsonl", tmp_path / "r.jsonl", tmp_path / "hook"
    assert vlab("batch", corpus, "--results", clean, "-q", "-j", "2").returncode == 0
    env = clean_env({"VLAB_TEST_BATCH_HOOK": f"{hook}:{VICTIM}:pause"})
    argv = [sys.executable, "-m", "vlab", "batch", str(corpus), "--results", str(results)]
    proc = subprocess.Popen([*argv, "-q", "-j", "2"], cwd=REPO, env=env, stderr=subprocess.PIPE)
    limit = time.monotonic() + LIVENESS_TIMEOUT_S  # liveness only: the wait is for an event
    while VICTIM not in _hook_attempts(hook) and time.monotonic() < limit:
        time.sleep(0.02)
    assert VICTIM in _hook_attempts(hook)
    os.kill(proc.pid, signal.SIGINT)  # the victim's worker is held: the batch is mid-way
    _, err = proc.communicate(timeout=LIVENESS_TIMEOUT_S)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    data = results.read_bytes()
    assert data.endswith(b"\n") or data == b""
    kept = data.splitlines()
    assert VICTIM.encode() not in data and set(kept) < set(clean.read_bytes().splitlines())
    assert kept == [x for x in clean.read_bytes().splitlines() if x in set(kept)]  # in order
    assert not (tmp_path / "r.summary.json").exists()
    (tmp_path / "hook.go").touch()
    assert vlab("batch", corpus, "--results", results, "--resume", "-q").returncode == 0
    assert results.read_bytes() == clean.read_bytes()


# -- resume --------------------------------------------------------------------------------


def test_resume_after_an_interruption_gives_the_same_bytes(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    results, hook = tmp_path / "r.jsonl", tmp_path / "hook"
    assert vlab("batch", corpus, "--results", results, "-q", "-j", "2").returncode == 0
    whole = results.read_bytes()
    summary = (tmp_path / "r.summary.json").read_bytes()
    lines = whole.splitlines(keepends=True)
    # lines 2 and 3 lost, the last one torn mid-line (as a killed run could leave it)
    results.write_bytes(b"".join(lines[:2] + lines[4:-1]) + lines[-1][:40])
    (tmp_path / "r.summary.json").unlink()
    env = {"VLAB_TEST_BATCH_HOOK": str(hook)}
    proc = vlab("batch", corpus, "--results", results, "--resume", "-q", "-j", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert results.read_bytes() == whole
    assert (tmp_path / "r.summary.json").read_bytes() == summary
    # judged again: the lost lines, and the packs refused before a pack digest was known
    docs = [json.loads(x) for x in lines]
    lost = {d["path"] for d in (docs[2], docs[3], docs[-1])}
    undigested = {d["path"] for d in docs if d["ruling"]["pack"]["digest"] is None}
    assert undigested and not undigested >= lost
    assert sorted(_hook_attempts(hook)) == sorted(lost | undigested)
    assert not (tmp_path / "r.jsonl.resume").exists()


def test_resume_judges_a_changed_pack_again(corpus: Path, tmp_path: Path, vlab: Runner) -> None:
    results, fresh, hook = tmp_path / "r.jsonl", tmp_path / "fresh.jsonl", tmp_path / "hook"
    assert vlab("batch", corpus, "--results", results, "-q").returncode == 0
    target = corpus / VICTIM / "trace" / "events.ndjson"
    target.write_bytes(target.read_bytes() + b"\n")  # no longer matches its sums
    env = {"VLAB_TEST_BATCH_HOOK": str(hook)}
    assert vlab("batch", corpus, "--results", results, "--resume", "-q", env=env).returncode == 0
    assert vlab("batch", corpus, "--results", fresh, "-q").returncode == 0
    assert results.read_bytes() == fresh.read_bytes()
    redone = set(_hook_attempts(hook))
    assert VICTIM in redone
    assert "d1-01/pass-event-id" not in redone  # unchanged, admitted: kept


def test_resume_under_another_ruleset_judges_again(
    corpus: Path, tmp_path: Path, vlab: Runner
) -> None:
    results, hook = tmp_path / "r.jsonl", tmp_path / "hook"
    assert vlab("batch", corpus, "--results", results, "-q").returncode == 0
    env = {"VLAB_TEST_BATCH_HOOK": str(hook)}
    argv = ("batch", corpus, "--results", results, "--resume", "-q", "--ruleset", "ruleset-1.1")
    assert vlab(*argv, env=env).returncode == 0
    assert sorted(_hook_attempts(hook)) == sorted(_picked())
    assert all(d["ruling"]["ruleset"]["override"] for d in lines_of(results))


# -- reports ---------------------------------------------------------------------------------


def test_reports_of_the_batch(corpus: Path, tmp_path: Path, vlab: Runner) -> None:
    results = tmp_path / "run.jsonl"
    outs = {f: tmp_path / f"report.{f}" for f in ("table", "json", "md", "junit", "sarif", "html")}
    argv = [a for f, p in outs.items() for a in ("--out", f"{f}={p}")]
    proc = vlab("batch", corpus, "--results", results, *argv)
    assert proc.returncode == 0, proc.stderr
    summary = tmp_path / "run.summary.json"  # <results stem>.summary.json
    assert outs["json"].read_bytes() == summary.read_bytes()
    doc = json.loads(summary.read_bytes())
    assert b"toplines" in outs["table"].read_bytes() and b"toplines" in proc.stdout
    assert f"of {doc['packs']} packs judged" in outs["md"].read_text("utf-8")
    import xml.dom.minidom

    junit = xml.dom.minidom.parse(str(outs["junit"]))
    assert len(junit.getElementsByTagName("testcase")) == doc["packs"]
    sarif = json.loads(outs["sarif"].read_bytes())
    (run,) = sarif["runs"]
    assert run["results"] and all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "CORPUS0"
        for r in run["results"]
    )
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == sorted(
        {r["ruleId"] for r in run["results"]}
    )
    assert b"<html" in outs["html"].read_bytes()


def test_attestation_bundles_one_per_pack(corpus: Path, tmp_path: Path, vlab: Runner) -> None:
    pytest.importorskip("cryptography")
    assert vlab("keys", "generate", "--out", tmp_path / "ci").returncode == 0
    results, bundles = tmp_path / "r.jsonl", tmp_path / "bundles"
    argv = ("--attest", bundles, "--sign", tmp_path / "ci.key", "--as-of", "2026-01-01T00:00:00Z")
    assert vlab("batch", corpus, "--results", results, "-q", "-j", "2", *argv).returncode == 0
    names = sorted(p.name for p in bundles.iterdir())
    assert BUNDLE in names and len(names) == len(_picked())
    proc = vlab("attestation", "verify", bundles / BUNDLE, "--key", tmp_path / "ci.pub")
    assert proc.returncode == 0, proc.stderr


def test_bundle_names_stay_in_their_folder() -> None:
    from vlab.tools.batch.work import bundle_name

    assert bundle_name(0, ".") == "0-%2E.intoto.jsonl"
    assert bundle_name(1, "../x") == "1-%2E.%2Fx.intoto.jsonl"
    assert "/" not in bundle_name(0, "/abs/" + "y" * 300)


# -- usage errors and the dask engine without its extra ----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("nowhere", "--results", "{tmp}/r.jsonl"),
        ("{corpus}", "{corpus}", "--results", "{tmp}/r.jsonl"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--scheduler", "tcp://127.0.0.1:1"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--attest", "{tmp}/b"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--out", "pdf={tmp}/x"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--engine", "spark"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--ruleset", "no-such-ruleset"),
        ("{corpus}", "--results", "{tmp}/r.jsonl", "--waivers", "{tmp}/w.yaml"),
        ("{corpus}",),
        ("{empty}", "--results", "{tmp}/r.jsonl"),
        ("{dup_list}", "--results", "{tmp}/r.jsonl"),
    ],
)
def test_usage_errors(
    argv: tuple[str, ...], corpus: Path, tmp_path: Path, vlab_in_process: InProcessRunner
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "dup.txt").write_text("a\nb\na\n", encoding="utf-8")
    values = {"tmp": tmp_path, "corpus": corpus, "empty": tmp_path / "empty"}
    values["dup_list"] = tmp_path / "dup.txt"
    code, _, err = vlab_in_process("batch", *(a.format(**values) for a in argv))
    assert code == 64, err
    assert err.startswith("vlab: error: ") and err.count("\n") == 1
    assert not (tmp_path / "r.jsonl").exists()


def test_dask_without_the_extra_is_a_usage_error_naming_it(
    corpus: Path,
    tmp_path: Path,
    vlab_in_process: InProcessRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vlab.tools.batch import engines

    for name in ("dask", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import dask -> ModuleNotFoundError
    stub = tmp_path / "stub_dask_engine.py"
    stub.write_text("import distributed\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(engines.ENGINES, "dask", "stub_dask_engine:DaskEngine")
    results = tmp_path / "r.jsonl"
    code, _, err = vlab_in_process("batch", corpus, "--results", results, "--engine", "dask")
    assert code == 64
    assert "pip install 'vlab[dask]'" in err and err.count("\n") == 1
    assert not results.exists()


def test_the_real_dask_engine_without_the_extra(
    corpus: Path, tmp_path: Path, vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    if importlib.util.find_spec("vlab.tools.batch.engines.dask") is None:
        pytest.skip("the dask engine module is not on this branch yet")
    for name in ("dask", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "vlab.tools.batch.engines.dask", raising=False)
    code, _, err = vlab_in_process(
        "batch", corpus, "--results", tmp_path / "r.jsonl", "--engine", "dask"
    )
    assert code == 64 and "pip install 'vlab[dask]'" in err
