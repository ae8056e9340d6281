"""A bounded, seeded fuzz campaign: generate hostile packs, judge each one in-process
through the public pipeline, render it every way, check the ruling's invariants, sample
the command line, and count crashes, hangs and invariant failures.

Execution ``i`` of a campaign with seed ``S`` is a pure function of ``(S, i)`` and the seed
corpus: its plan (family, base pack, mutators with their own sub-seeds, which checks are
sampled) comes from ``random.Random(f"vlab-fuzz:{S}:{i}")``. So the counts do not depend on
the number of workers, a killed worker's chunk can be re-run exactly, and any finding can
be regenerated from two numbers (``python -m fuzz replay --seed S --index i``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from fuzz.hostile import (
    BIG_VARIANTS,
    REPO,
    Corpus,
    PackSpec,
    archive_pack,
    big_pack,
    clear,
    load_corpus,
    materialise,
    read_pack,
    scratch_pack,
    seal_spec,
)
from fuzz.mutate import GENTLE, MUTATORS, Options, fix_crossrefs

MARKERS = ("vlab-fuzz-", "fuzzpack", "elsewhere")  # where packs live: never in a ruling
TOPLINES = ("PASS", "FAIL", "NOT_EVALUATED", "NOT_ADMISSIBLE")
GATE_ORDER = ("ADM-GATE-SECURITY", "ADM-GATE-PIN", "ADM-GATE-INTEGRITY", "ADM-GATE-CONTRACT")
HYGIENE = (
    "VLAB_RULESETS_DIR",
    "VLAB_RULESETS_PATH",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "COLUMNS",
    "LINES",
    "GITHUB_STEP_SUMMARY",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Config:
    seed: int = 1
    execs: int = 200_000
    jobs: int = 2
    out: Path = REPO / "fuzz" / "out"
    budget_s: float = 10.0  # wall clock per stage of one execution
    rss_mb: float = 200.0  # peak RSS growth of one execution
    big_rate: float = 0.005
    scratch_rate: float = 0.17
    archive_rate: float = 0.03
    gentle_rate: float = 0.35
    table_rate: float = 0.05
    schema_rate: float = 0.2  # full JSON Schema validation (structural checks run always)
    rejudge_rate: float = 0.05
    relocate_rate: float = 0.02
    cli_rate: float = 0.04
    subprocess_rate: float = 0.001
    minimise: bool = True
    max_saved_per_signature: int = 3
    progress_s: float = 15.0
    quiet: bool = False
    watchdog_s: float | None = None  # hard kill of a stuck worker (default 4 x budget + 30)
    # Faults planted on purpose at given indices, to prove the harness sees them:
    # crash (an exception), hang (a sleep the alarm ends), stall (the alarm blocked: only
    # the watchdog ends it), die (the worker process exits).
    plant: tuple[tuple[int, str], ...] = ()


# -- plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    seed: int
    index: int
    family: str  # seed | scratch | big | archive
    base: str  # the seed vector id, "scratch", or the big variant
    base_seed: int
    gentle: bool  # only mutators that usually keep the pack admissible
    steps: tuple[tuple[str, int], ...]  # (mutator, its own sub-seed), in order
    keep_limits: bool  # a seed vector's own limits (expected.json) stay in force
    fixup: bool  # make receipt hash references agree with the mutated files
    table: bool
    schema: bool
    rejudge: bool
    relocate: bool
    cli: int | None  # which command-line variant, when the CLI is sampled
    subprocess: bool

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "steps": [list(s) for s in self.steps]}


STEP_COUNTS = (0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6)
NEEDS = {  # mutator (or family prefix) -> a file ending the pack must have for it to apply
    "yaml": (".yaml", ".yml"),
    "field_crossref": ("_receipt.json",),
    "nd": (".ndjson", ".jsonl"),
}


def make_plan(cfg: Config, index: int, corpus: Corpus) -> Plan:
    rng = random.Random(f"vlab-fuzz:{cfg.seed}:{index}")
    roll = rng.random()
    if roll < cfg.big_rate:
        family, base = "big", rng.choice(BIG_VARIANTS)
    elif roll < cfg.big_rate + cfg.scratch_rate:
        family, base = "scratch", "scratch"
    elif roll < cfg.big_rate + cfg.scratch_rate + cfg.archive_rate:
        family, base = "archive", rng.choice(corpus.seeds).id
    else:
        family, base = "seed", rng.choice(corpus.seeds).id
    gentle = rng.random() < cfg.gentle_rate
    names = list(GENTLE if gentle else MUTATORS)
    weights = [MUTATORS[n].weight for n in names]
    n_steps = rng.choice(STEP_COUNTS[1:9] if gentle else STEP_COUNTS)
    if family != "seed" and n_steps == 0:
        n_steps = 1 if family == "scratch" and rng.random() < 0.5 else 0
    steps = tuple((rng.choices(names, weights)[0], rng.getrandbits(48)) for _ in range(n_steps))
    if family in ("seed", "archive"):
        # a mutator that needs a kind of file is given a seed that has one
        for name, _ in steps:
            needed = NEEDS.get(name.split("_", 1)[0]) or NEEDS.get(name)
            if needed and not any(p.endswith(needed) for p in corpus.by_id[base].files):
                having = [x.id for x in corpus.seeds if any(p.endswith(needed) for p in x.files)]
                if having:
                    base = rng.choice(having)
                break
    return Plan(
        seed=cfg.seed,
        index=index,
        family=family,
        base=base,
        base_seed=rng.getrandbits(48),
        gentle=gentle,
        steps=steps,
        keep_limits=rng.random() < 0.7,
        fixup=rng.random() < 0.6,
        table=rng.random() < cfg.table_rate,
        schema=rng.random() < cfg.schema_rate,
        rejudge=rng.random() < cfg.rejudge_rate,
        relocate=rng.random() < cfg.relocate_rate,
        cli=rng.randrange(1 << 30) if rng.random() < cfg.cli_rate else None,
        subprocess=rng.random() < cfg.subprocess_rate,
    )


@dataclass
class Built:
    spec: PackSpec
    opts: Options
    applied: list[tuple[str, str]]  # (mutator, what it did) for the steps that applied
    archive: tuple[str, bytes, bool] | None = None  # (file name, bytes, hostile) of an archive


def build(
    plan: Plan,
    corpus: Corpus,
    *,
    skip: frozenset[int] = frozenset(),
    pre_seal: Callable[[PackSpec], None] | None = None,
) -> Built:
    """The pack and options of a plan (``skip``: step positions left out, for minimising;
    ``pre_seal``: an edit made just before sealing, for minimising)."""
    base_rng = random.Random(plan.base_seed)
    opts = Options()
    if plan.family in ("seed", "archive"):
        seed = corpus.by_id[plan.base]
        spec = seed.spec()
        if plan.keep_limits and seed.limits:
            opts.limits = dict(seed.limits)
        opts.shadow = seed.shadow
    elif plan.family == "scratch":
        spec = scratch_pack(base_rng, corpus)
    else:
        spec = big_pack(base_rng, corpus, plan.base)
    spec.gentle = plan.gentle
    applied: list[tuple[str, str]] = []
    sealed_steps = []
    for pos, (name, sub) in enumerate(plan.steps):
        if pos in skip:
            continue
        mutator = MUTATORS[name]
        rng = random.Random(sub)
        if mutator.phase == "sealed":
            sealed_steps.append((name, rng))
            continue
        what = mutator.fn(rng, opts if mutator.phase == "options" else spec, corpus)
        if what is not None:
            applied.append((name, what))
    if plan.fixup and fix_crossrefs(spec):
        applied.append(("fixup", "receipt hash references"))
    if pre_seal is not None:
        pre_seal(spec)
    seal_spec(spec)
    for name, rng in sealed_steps:
        what = MUTATORS[name].fn(rng, spec, corpus)
        if what is not None:
            applied.append((name, what))
    archive = None
    if plan.family == "archive":
        hostile = base_rng.random() < 0.5
        name, data, what = archive_pack(base_rng, spec, hostile)
        archive = (name, data, hostile)
        applied.append(("archive", what))
    return Built(spec, opts, applied, archive)


# -- findings and results ---------------------------------------------------------------


@dataclass
class Finding:
    kind: str  # crash | hang | invariant
    signature: str
    stage: str
    message: str  # a traceback, or what did not hold


@dataclass
class ExecResult:
    status: str = "ok"  # ok | usage | crash | hang | invariant
    topline: str | None = None
    stop_gate: str | None = None  # the gate that refused the pack, or ADMISSIBLE
    seconds: float = 0.0
    rss_growth_mb: float = 0.0
    usage: str | None = None
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    cli_exit: int | None = None


class PlantedFault(Exception):
    """The exception a planted crash raises (``--plant INDEX:crash``)."""


def _planted(kind: str) -> None:
    if kind == "crash":
        raise PlantedFault("planted crash")
    if kind == "hang":
        time.sleep(3600)
    if kind == "stall":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600)
    if kind == "die":
        os._exit(70)


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` in the engine
    swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang("per-execution wall-clock budget exceeded")


def _innermost(tb: Any) -> str:
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "/vlab/" in f.filename.replace(os.sep, "/")]
    chosen = ours or list(frames)
    if not chosen:
        return "?"
    frame = chosen[-1]
    path = frame.filename.replace(os.sep, "/")
    path = path.split("/src/", 1)[-1] if "/src/" in path else path.rsplit("/", 1)[-1]
    return f"{path}:{frame.name}"


def _rss_kb(field_name: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# -- the lab: one process's judge, renderers and checks ---------------------------------


class Lab:
    """Judges packs through the public entry points and checks what comes out."""

    def __init__(self, cfg: Config, corpus: Corpus, workdir: Path) -> None:
        from vlab.core.codes import registry
        from vlab.core.errors import UsageError
        from vlab.core.schemas import validator
        from vlab.data import DATA
        from vlab.engine.pipeline import adjudicate
        from vlab.pack.limits import Limits
        from vlab.render import RENDERERS
        from vlab.ruleset.catalog import Catalog

        self.cfg = cfg
        self.corpus = corpus
        self.workdir = workdir
        self.pack_root = workdir / "fuzzpack"
        self.alt_root = workdir / "elsewhere" / "moved"
        self.min_root = workdir / "fuzzpack-min"
        self.link = workdir / "fuzzpack-link"
        self.catalog = Catalog()
        self.adjudicate = adjudicate
        self.Limits = Limits
        self.UsageError = UsageError
        self.renderers = RENDERERS
        reg = registry()
        self.registered = set(reg["reason_codes"]) | set(reg["detail_codes"])
        # A format-2 ruleset registers the codes it declares (rulesets-1.3.md §2).
        for ruleset_id in self.catalog.ids():
            shipped = self.catalog.get(ruleset_id)
            if shipped is not None and shipped.format >= 2:
                self.registered |= set(shipped.codes)
        schema = json.loads((DATA / "ruling.schema.json").read_text("utf-8"))
        self.validator = validator(schema)
        self.peak_resettable = _reset_peak()
        signal.signal(signal.SIGALRM, _on_alarm)

    # -- budget -------------------------------------------------------------------------

    @contextlib.contextmanager
    def budget(self) -> Iterator[None]:
        signal.setitimer(signal.ITIMER_REAL, self.cfg.budget_s)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _guard(
        self, res: ExecResult, stage: str, fn: Callable[[], Any], usage_ok: bool = True
    ) -> tuple[bool, Any]:
        """Run one stage; an exception becomes a finding. Returns (completed, value)."""
        res.ran.append(stage)
        try:
            with self.budget():
                return True, fn()
        except KeyboardInterrupt:
            raise
        except Hang:
            res.findings.append(
                Finding("hang", f"hang:{stage}@{_innermost(sys.exc_info()[2])}", stage, _tb())
            )
        except MemoryError:
            res.findings.append(Finding("hang", f"memory:{stage}", stage, _tb()))
        except BaseException as exc:
            if usage_ok and isinstance(exc, self.UsageError):
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                text = text.replace(str(self.workdir), "<work>")
                res.usage = _DIGITS.sub("N", text)[:100]
                return False, None
            sig = f"crash:{stage}:{type(exc).__name__}@{_innermost(exc.__traceback__)}"
            res.findings.append(Finding("crash", sig, stage, _tb()))
        return False, None

    # -- judging ------------------------------------------------------------------------

    def _judge(self, root: Path, opts: Options) -> Any:
        override = self.catalog.get(opts.shadow) if opts.shadow else None
        limits = self.Limits(**opts.limits) if opts.limits else None
        return self.adjudicate(root, self.catalog, override=override, limits=limits)

    def _where(self, root: Path, opts: Options) -> Path:
        if not opts.via_symlink:
            return root
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        os.symlink(root, self.link)
        return self.link

    def _write_archive(self, folder: Path, archive: tuple[str, bytes, bool]) -> Path:
        clear(folder)
        folder.mkdir(parents=True)
        path = folder / archive[0]
        path.write_bytes(archive[1])
        return path

    def run(self, plan: Plan, built: Built, *, root: Path | None = None) -> ExecResult:
        """One execution: judge, render, check; then the sampled re-judge, relocation and
        command-line runs."""
        res = ExecResult()
        root = root or self.pack_root
        if built.archive is not None:
            where = self._write_archive(root.parent / (root.name + "-archive"), built.archive)
        else:
            materialise(built.spec, root)
            where = self._where(root, built.opts)
        rss_before = _rss_kb("VmRSS")
        peak_before = _rss_kb("VmHWM")
        if self.peak_resettable:
            _reset_peak()
        start = time.perf_counter()
        fault = dict(self.cfg.plant).get(plan.index)

        def judge() -> Any:
            if fault:
                _planted(fault)
            return self._judge(where, built.opts)

        done, ruling = self._guard(res, "judge", judge)
        outputs: dict[str, bytes] = {}
        if done:
            for fmt in ("json", "md", "junit", *(("table",) if plan.table else ())):
                renderer = self.renderers[fmt]
                ok, data = self._guard(res, f"render-{fmt}", partial(renderer, ruling))
                if ok:
                    outputs[fmt] = data
        res.seconds = time.perf_counter() - start
        peak = _rss_kb("VmHWM")
        floor = rss_before if self.peak_resettable else max(rss_before, peak_before)
        res.rss_growth_mb = max(0, peak - floor) / 1024
        if res.rss_growth_mb > self.cfg.rss_mb:
            res.findings.append(
                Finding(
                    "hang",
                    "memory:rss-growth",
                    "judge",
                    f"peak RSS grew by {res.rss_growth_mb:.0f} MB (budget {self.cfg.rss_mb:.0f})",
                )
            )
        if done:
            res.topline = getattr(ruling, "topline", None)
            res.stop_gate = _stop_gate(ruling)
        if "json" in outputs:
            for name, message in self.check(outputs, full=plan.schema):
                res.findings.append(Finding("invariant", f"invariant:{name}", "check", message))
        if "json" in outputs and plan.rejudge:
            ok, again = self._guard(
                res, "rejudge", lambda: self.renderers["json"](self._judge(where, built.opts))
            )
            if ok and again != outputs["json"]:
                res.findings.append(
                    Finding(
                        "invariant",
                        "invariant:rejudge-differs",
                        "rejudge",
                        _diff(outputs["json"], again),
                    )
                )
        if "json" in outputs and built.archive is not None and not built.archive[2]:
            # scale.md: an archive's ruling is byte-identical to that of the same folder

            def as_folder() -> bytes:
                materialise(built.spec, root)
                return bytes(self.renderers["json"](self._judge(root, built.opts)))

            ok, folder = self._guard(res, "archive-vs-folder", as_folder)
            if (
                ok
                and folder != outputs["json"]
                and not _archive_own_refusal(folder, outputs["json"])
                and not _one_folder_at_root(built.spec)
            ):
                res.findings.append(
                    Finding(
                        "invariant",
                        "invariant:archive-differs-from-folder",
                        "archive-vs-folder",
                        _diff(folder, outputs["json"]),
                    )
                )
        if "json" in outputs and plan.relocate:

            def moved() -> bytes:
                if built.archive is not None:
                    there = self._write_archive(self.alt_root, built.archive)
                else:
                    materialise(built.spec, self.alt_root)
                    there = self.alt_root
                try:
                    return bytes(self.renderers["json"](self._judge(there, built.opts)))
                finally:
                    clear(self.alt_root.parent)

            ok, there = self._guard(res, "relocate", moved)
            if ok and there != outputs["json"]:
                res.findings.append(
                    Finding(
                        "invariant",
                        "invariant:relocated-differs",
                        "relocate",
                        _diff(outputs["json"], there),
                    )
                )
        if plan.cli is not None:
            self.cli(
                res, plan.cli, where, built.opts, outputs.get("json"), ruling if done else None
            )
        if plan.subprocess:
            self.subprocess(res, where, built.opts, outputs.get("json"), ruling if done else None)
        kinds = {f.kind for f in res.findings}
        res.status = next(
            (k for k in ("crash", "hang", "invariant") if k in kinds),
            "usage" if res.usage is not None else "ok",
        )
        return res

    # -- invariants ---------------------------------------------------------------------

    def check(self, outputs: dict[str, bytes], full: bool = True) -> list[tuple[str, str]]:
        """What must hold of every ruling and its renderings. ``full``: also validate
        against ruling.schema.json (sampled: jsonschema costs more than the judging; the
        structural checks below run on every ruling and call for the schema when they
        trip)."""
        import rfc8785

        problems: list[tuple[str, str]] = []
        data = outputs["json"]
        if not data.endswith(b"\n") or data.endswith(b"\n\n"):
            problems.append(("json-trailing-newline", "not exactly one trailing newline"))

        def no_constants(name: str) -> Any:
            raise ValueError(f"{name} in ruling JSON")

        try:
            doc = json.loads(data, parse_constant=no_constants)
        except ValueError as exc:
            return [*problems, ("json-invalid", str(exc)[:300])]
        canonical = False
        try:
            canonical = rfc8785.dumps(doc) + b"\n" == data
            if not canonical:
                problems.append(("json-not-canonical", "bytes differ from RFC 8785 of themselves"))
        except Exception as exc:
            problems.append(("json-not-i-json", f"{type(exc).__name__}: {exc}"[:300]))
        try:
            semantic = self._semantics(doc)
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            semantic = [("ruling-shape", f"{type(exc).__name__}: {exc}"[:200])]
            full = True
        if full or semantic:
            errors = sorted(self.validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))
            for e in errors[:3]:
                where = "/".join(map(str, e.absolute_path))
                problems.append(("schema", f"ruling.schema.json at /{where}: {e.message[:200]}"))
        problems += semantic
        if canonical and not semantic:
            problems += _digest(doc, data)
        text = data.decode("utf-8", "replace")
        for marker in MARKERS:
            if marker in text:
                problems.append(
                    ("location-leak", f"ruling JSON names where the pack lives ({marker})")
                )
        md = outputs.get("md")
        if md is not None:
            problems += _human("md", md)
        table = outputs.get("table")
        if table is not None:
            problems += _human("table", table)
        junit = outputs.get("junit")
        if junit is not None:
            import xml.etree.ElementTree as ET

            try:
                ET.fromstring(junit)
            except ET.ParseError as exc:
                problems.append(("junit-not-well-formed", str(exc)[:200]))
        return problems

    def _semantics(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        adm = doc["admission"]
        clauses = doc["clauses"]
        top = doc["topline"]
        if top not in TOPLINES:
            out.append(("topline-unknown", repr(top)))
        codes: list[str] = []
        if adm["reason_code"] is not None:
            codes.append(adm["reason_code"])
        for gate in adm["gates"]:
            codes += [d["code"] for d in gate["details"]]
        for c in clauses:
            if c["reason_code"] is not None:
                codes.append(c["reason_code"])
            codes += [d["code"] for d in c["details"]]
        codes += doc["reason_codes"]
        unregistered = sorted({c for c in codes if c not in self.registered})
        if unregistered:
            out.append(("code-unregistered", ", ".join(map(str, unregistered))[:300]))
        expected_codes = sorted(
            {c["reason_code"] for c in clauses if c["reason_code"] is not None}
            | ({adm["reason_code"]} if adm["reason_code"] is not None else set())
        )
        if doc["reason_codes"] != expected_codes:
            out.append(("reason-codes-set", f"{doc['reason_codes']} != {expected_codes}"))
        admissible = adm["status"] == "ADMISSIBLE"
        if admissible != (adm["reason_code"] is None):
            out.append(("admission-reason", f"{adm['status']} with {adm['reason_code']}"))
        statuses = [c["status"] for c in clauses]
        if not admissible:
            want = "NOT_ADMISSIBLE"
            if any(c["status"] != want or c["reason_code"] != adm["reason_code"] for c in clauses):
                out.append(
                    ("not-admissible-clauses", "a clause of a refused pack is not NOT_ADMISSIBLE")
                )
        else:
            want = (
                "FAIL" if "FAIL" in statuses else "PASS" if "PASS" in statuses else "NOT_EVALUATED"
            )
            if "NOT_ADMISSIBLE" in statuses:
                out.append(
                    ("admitted-clause-not-admissible", "NOT_ADMISSIBLE clause in an admitted pack")
                )
        if top != want:
            out.append(("topline-rule", f"topline {top}, the clauses say {want}"))
        for c in clauses:
            if (c["status"] == "PASS") != (c["reason_code"] is None):
                out.append(
                    ("clause-reason", f"{c['clause_id']} {c['status']} with {c['reason_code']}")
                )
            for d in c["details"]:
                if c["status"] == "PASS" and not d["advisory"]:
                    out.append(("pass-with-failing-detail", f"{c['clause_id']}: {d['code']}"))
        gate_status = [g["status"] for g in adm["gates"]]
        if "FAIL" in gate_status:
            after = gate_status[gate_status.index("FAIL") + 1 :]
            if any(s != "SKIPPED" for s in after):
                out.append(("gates-after-failure", f"gates after the failed one: {after}"))
        names = [g["gate"] for g in adm["gates"]]
        if [n for n in names if n in GATE_ORDER] != [n for n in GATE_ORDER if n in names]:
            out.append(("gate-order", f"{names}"))
        return out

    # -- the command line ---------------------------------------------------------------

    def cli_argv(self, variant: int, where: Path, opts: Options) -> tuple[list[str], str]:
        rng = random.Random(variant)
        argv: list[str]
        if rng.random() < 0.75:
            fmt = rng.choice(["json", "json", "table", "md"])
            argv = ["adjudicate", str(where), "--format", fmt]
            if rng.random() < 0.3:
                argv += ["--out", f"junit={self.workdir / 'out.xml'}"]
            if rng.random() < 0.3:
                argv += ["--out", f"md={self.workdir / 'out.md'}"]
            if opts.shadow:
                argv += ["--ruleset", opts.shadow]
            command = "adjudicate"
        else:
            fmt = rng.choice(["json", "table"])
            argv = ["validate", str(where), "--format", fmt]
            command = "validate"
        for name, value in sorted((opts.limits or {}).items()):
            argv += ["--" + name.replace("_", "-"), str(value)]
        return argv, command

    def _expected_exit(self, command: str, ruling: Any) -> int:
        if ruling is None:
            return 64
        if command == "validate":
            return 0 if ruling.admission.status == "ADMISSIBLE" else 2
        return {"PASS": 0, "FAIL": 1, "NOT_ADMISSIBLE": 2, "NOT_EVALUATED": 3}[ruling.topline]

    def _compare_cli(
        self,
        res: ExecResult,
        stage: str,
        argv: list[str],
        command: str,
        code: int,
        stdout: bytes,
        stderr: str,
        json_bytes: bytes | None,
        ruling: Any,
    ) -> None:
        res.cli_exit = code
        line = " ".join(argv)
        if code == 70:
            first = stderr.strip().splitlines()[0] if stderr.strip() else ""
            m = re.match(r"vlab: internal error: (\w+)", first)
            debug = self._debug_trace(argv) if stage == "cli" else stderr
            sig = f"crash:{stage}:exit70:{m.group(1) if m else '?'}@{_last_vlab_frame(debug)}"
            res.findings.append(Finding("crash", sig, stage, f"$ vlab {line}\n{stderr}\n{debug}"))
            return
        if "Traceback" in stderr:
            res.findings.append(
                Finding(
                    "invariant", f"invariant:{stage}-traceback", stage, f"$ vlab {line}\n{stderr}"
                )
            )
        if res.usage is not None and ruling is None:
            expected = 64
        else:
            expected = self._expected_exit(command, ruling)
        if ruling is None and res.usage is None:
            return  # the in-process run crashed or hung: already a finding
        if code != expected:
            res.findings.append(
                Finding(
                    "invariant",
                    f"invariant:{stage}-exit",
                    stage,
                    f"$ vlab {line}\nexit {code}, expected {expected}\n{stderr[:500]}",
                )
            )
        if code == 64 and len(stderr.strip().splitlines()) != 1:
            res.findings.append(
                Finding(
                    "invariant", f"invariant:{stage}-usage-lines", stage, f"$ vlab {line}\n{stderr}"
                )
            )
        if (
            command == "adjudicate"
            and "--format json" in line
            and json_bytes is not None
            and code in (0, 1, 2, 3)
            and stdout != json_bytes
        ):
            res.findings.append(
                Finding(
                    "invariant", f"invariant:{stage}-json-differs", stage, _diff(json_bytes, stdout)
                )
            )

    def _main(self, argv: list[str]) -> tuple[int, bytes, str]:
        from vlab import cli

        out = io.BytesIO()
        err = io.StringIO()
        wrapper = io.TextIOWrapper(out, encoding="utf-8", errors="backslashreplace")
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = wrapper, err
        code = 0
        try:
            cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        finally:
            with contextlib.suppress(Exception):
                wrapper.flush()
            sys.stdout, sys.stderr = saved
            with contextlib.suppress(Exception):
                wrapper.detach()
        return code, out.getvalue(), err.getvalue()

    def _debug_trace(self, argv: list[str]) -> str:
        try:
            with self.budget():
                _, _, err = self._main(["--debug", *argv])
            return err
        except BaseException as exc:  # the re-run is only for the report
            return f"(re-run with --debug failed: {type(exc).__name__})"

    def cli(
        self,
        res: ExecResult,
        variant: int,
        where: Path,
        opts: Options,
        json_bytes: bytes | None,
        ruling: Any,
    ) -> None:
        argv, command = self.cli_argv(variant, where, opts)
        ok, result = self._guard(res, "cli", lambda: self._main(argv), usage_ok=False)
        if ok:
            code, stdout, stderr = result
            self._compare_cli(res, "cli", argv, command, code, stdout, stderr, json_bytes, ruling)

    def subprocess(
        self, res: ExecResult, where: Path, opts: Options, json_bytes: bytes | None, ruling: Any
    ) -> None:
        argv = ["adjudicate", str(where), "--format", "json"]
        if opts.shadow:
            argv += ["--ruleset", opts.shadow]
        for name, value in sorted((opts.limits or {}).items()):
            argv += ["--" + name.replace("_", "-"), str(value)]
        res.ran.append("subprocess")
        env = {k: v for k, v in os.environ.items() if k not in HYGIENE}
        env["NO_COLOR"] = "1"
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "vlab", *argv],
                capture_output=True,
                env=env,
                cwd=self.workdir,
                timeout=max(60.0, 3 * self.cfg.budget_s),
                check=False,
            )
        except subprocess.TimeoutExpired:
            res.findings.append(Finding("hang", "hang:subprocess", "subprocess", " ".join(argv)))
            return
        stderr = proc.stderr.decode("utf-8", "replace")
        self._compare_cli(
            res,
            "subprocess",
            argv,
            "adjudicate",
            proc.returncode,
            proc.stdout,
            stderr,
            json_bytes,
            ruling,
        )


def _digest(doc: dict[str, Any], data: bytes) -> list[tuple[str, str]]:
    """The ruling digest is the sha256 of the canonical ruling without ``digest`` and
    ``engine``. The bytes were just shown canonical (keys sorted, so ``digest`` and
    ``engine`` sit side by side after ``clauses``): cutting those two members out gives the
    canonical body without serialising it again."""
    import rfc8785

    seg = (
        b',"digest":'
        + rfc8785.dumps(doc.get("digest"))
        + b',"engine":'
        + rfc8785.dumps(doc.get("engine"))
    )
    if data.count(seg) != 1:
        body = {k: v for k, v in doc.items() if k not in ("digest", "engine")}
        canon = rfc8785.dumps(body)
    else:
        canon = data.replace(seg, b"").removesuffix(b"\n")
    digest = "sha256:" + hashlib.sha256(canon).hexdigest()
    if doc.get("digest") != digest:
        return [("digest", f"{doc.get('digest')} != {digest}")]
    return []


def _tb() -> str:
    return "".join(traceback.format_exc())[-6000:]


def _last_vlab_frame(trace: str) -> str:
    frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', trace)
    ours = [(f, n) for f, n in frames if "/vlab/" in f]
    if not ours:
        return "?"
    path, name = ours[-1]
    return f"{path.split('/src/', 1)[-1]}:{name}"


def _diff(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    lo, hi = max(0, n - 60), n + 60
    return f"first difference at byte {n}: {a[lo:hi]!r} vs {b[lo:hi]!r}"


def _human(name: str, data: bytes) -> list[tuple[str, str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [(f"{name}-not-utf8", str(exc)[:200])]
    m = _CONTROL.search(text)
    if m:
        at = m.start()
        return [
            (
                f"{name}-raw-control",
                f"U+{ord(m.group()):04X} at {at}: {text[max(0, at - 40) : at + 20]!r}",
            )
        ]
    return []


def _stop_gate(ruling: Any) -> str | None:
    try:
        for gate in ruling.admission.gates:
            if gate.status == "FAIL":
                return str(gate.gate)
        return "ADMISSIBLE"
    except AttributeError:
        return None


# -- minimising and saving findings ----------------------------------------------------


_HEARTBEAT: list[Callable[[], None]] = []  # a worker's "still alive" (the watchdog's clock)


def _same(lab: Lab, plan: Plan, built: Built, signature: str) -> bool:
    for beat in _HEARTBEAT:
        beat()
    res = lab.run(plan, built, root=lab.min_root)
    return any(f.signature == signature for f in res.findings)


def minimise(
    lab: Lab, plan: Plan, corpus: Corpus, signature: str, max_tries: int = 160
) -> tuple[Plan, Built]:
    """Drop mutation steps, then files, then lines, while the same signature still shows.
    Cheap and bounded (``max_tries`` re-executions, about 30 s at most)."""
    deadline = time.monotonic() + 30
    tries = 0
    quiet = replace(plan, subprocess=False)

    def ok(p: Plan, skip: frozenset[int] = frozenset(), pre: Any = None) -> bool:
        nonlocal tries
        if tries >= max_tries or time.monotonic() > deadline:
            return False
        tries += 1
        return _same(lab, p, build(p, corpus, skip=skip, pre_seal=pre), signature)

    steps = list(quiet.steps)
    for pos in reversed(range(len(steps))):
        trial = replace(quiet, steps=tuple(s for i, s in enumerate(steps) if i != pos))
        if ok(trial):
            steps = list(trial.steps)
    current = replace(quiet, steps=tuple(steps))
    built = build(current, corpus)
    dropped: set[str] = set()
    line_keep: dict[str, list[bytes]] = {}

    def pre(spec: PackSpec) -> None:
        for p in dropped:
            spec.files.pop(p, None)
        for p, kept in line_keep.items():
            if p in spec.files:
                spec.files[p] = b"\n".join(kept)

    for path in sorted(p for p in built.spec.files if p != "integrity/sha256sums.txt"):
        dropped.add(path)
        if not ok(current, pre=pre):
            dropped.discard(path)
    built = build(current, corpus, pre_seal=pre)
    for path, data in sorted(built.spec.files.items()):
        if path == "integrity/sha256sums.txt" or data.count(b"\n") < 2:
            continue
        lines = data.split(b"\n")
        chunk = max(1, len(lines) // 2)
        while chunk >= 1 and tries < max_tries:
            i = 0
            while i < len(lines):
                line_keep[path] = lines[:i] + lines[i + chunk :]
                if ok(current, pre=pre):
                    lines = line_keep[path]
                else:
                    i += chunk
            line_keep[path] = lines
            chunk //= 2
    final = build(current, corpus, pre_seal=pre)
    final.applied.append(("minimised", f"{tries} tries; dropped {sorted(dropped)}"))
    return current, final


def save_finding(
    lab: Lab | None,
    cfg: Config,
    corpus: Corpus,
    plan: Plan,
    finding: Finding,
    *,
    minimise_it: bool,
) -> str:
    target = cfg.out / f"{finding.kind}-{plan.index:07d}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    original = build(plan, corpus)
    small_plan, small = plan, original
    if minimise_it and lab is not None and finding.kind != "hang" and finding.stage != "subprocess":
        try:
            small_plan, small = minimise(lab, plan, corpus, finding.signature)
        except Exception:  # the report matters more than a smaller pack
            small_plan, small = plan, original
    materialise(small.spec, target / "pack")
    if small is not original:
        materialise(original.spec, target / "original")
    if small.archive is not None:
        (target / small.archive[0]).write_bytes(small.archive[1])
    opts = small.opts
    flags = []
    if opts.shadow:
        flags += ["--ruleset", opts.shadow]
    for name, value in sorted((opts.limits or {}).items()):
        flags += ["--" + name.replace("_", "-"), str(value)]
    shown = target.relative_to(REPO) if target.is_relative_to(REPO) else target
    pack_arg = str(target / (small.archive[0] if small.archive else "pack"))
    doc = {
        "kind": finding.kind,
        "signature": finding.signature,
        "stage": finding.stage,
        "campaign_seed": plan.seed,
        "index": plan.index,
        "plan": plan.to_json(),
        "minimised_plan": small_plan.to_json(),
        "applied": [list(a) for a in small.applied],
        "original_applied": [list(a) for a in original.applied],
        "options": opts.to_json(),
        "archive": None if small.archive is None else [small.archive[0], small.archive[2]],
        "reproduce": f"python -m fuzz repro {shown}",
        "replay": f"python -m fuzz replay --seed {plan.seed} --index {plan.index}",
        "command": " ".join(
            ["vlab", "--debug", "adjudicate", pack_arg, "--format", "json", *flags]
        ),
    }
    (target / "finding.json").write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    (target / "traceback.txt").write_text(
        finding.message + "\n", "utf-8", errors="backslashreplace"
    )
    return str(target)


# -- statistics --------------------------------------------------------------------------


@dataclass
class Stats:
    executions: int = 0
    status: Counter[str] = field(default_factory=Counter)
    family: Counter[str] = field(default_factory=Counter)
    mutators: Counter[str] = field(default_factory=Counter)
    mutator_findings: Counter[str] = field(default_factory=Counter)
    toplines: Counter[str] = field(default_factory=Counter)
    stop_gates: Counter[str] = field(default_factory=Counter)
    usage: Counter[str] = field(default_factory=Counter)
    harness: Counter[str] = field(default_factory=Counter)
    harness_tb: dict[str, str] = field(default_factory=dict)
    stages: Counter[str] = field(default_factory=Counter)
    cli_exits: Counter[str] = field(default_factory=Counter)
    signatures: Counter[str] = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)
    slowest: list[tuple[float, int, str, str]] = field(default_factory=list)
    max_rss: tuple[float, int] = (0.0, -1)
    judge_seconds: float = 0.0
    worker_peak_rss_mb: float = 0.0

    def add(self, plan: Plan, built: Built | None, res: ExecResult) -> None:
        self.executions += 1
        self.status[res.status] += 1
        self.family[plan.family] += 1
        names = {name for name, _ in built.applied} if built else set()
        self.mutators.update(names)
        if res.findings:
            self.mutator_findings.update(names)
        self.toplines[res.topline or ("usage" if res.usage else "none")] += 1
        self.stop_gates[res.stop_gate or "none"] += 1
        if res.usage:
            self.usage[res.usage] += 1
        self.stages.update(res.ran)
        if res.cli_exit is not None:
            self.cli_exits[str(res.cli_exit)] += 1
        self.judge_seconds += res.seconds
        mutators = ",".join(name for name, _ in built.applied) if built else ""
        self.slowest.append((res.seconds, plan.index, plan.base, mutators))
        self.slowest = sorted(self.slowest, reverse=True)[:8]
        if res.rss_growth_mb > self.max_rss[0]:
            self.max_rss = (res.rss_growth_mb, plan.index)

    def merge(self, other: Stats) -> None:
        self.executions += other.executions
        for name in (
            "status",
            "family",
            "mutators",
            "mutator_findings",
            "toplines",
            "stop_gates",
            "usage",
            "harness",
            "stages",
            "cli_exits",
            "signatures",
        ):
            getattr(self, name).update(getattr(other, name))
        self.findings += other.findings
        for key, tb in other.harness_tb.items():
            self.harness_tb.setdefault(key, tb)
        self.slowest = sorted(self.slowest + other.slowest, reverse=True)[:8]
        self.max_rss = max(self.max_rss, other.max_rss)
        self.judge_seconds += other.judge_seconds
        self.worker_peak_rss_mb = max(self.worker_peak_rss_mb, other.worker_peak_rss_mb)


# -- a worker -----------------------------------------------------------------------------


class Runner:
    """What a worker process does with a range of execution indices."""

    def __init__(self, cfg: Config, corpus: Corpus, workdir: Path) -> None:
        self.cfg = cfg
        self.corpus = corpus
        workdir.mkdir(parents=True, exist_ok=True)
        self.lab = Lab(cfg, corpus, workdir)
        self.saved: Counter[str] = Counter()
        self.warm_up()
        self.baseline = _resources()
        self.leaks_seen: set[str] = set()

    def check_resources(self, index: int, stats: Stats) -> None:
        """Descriptors, threads and temp entries must not grow with the executions (a leak
        per adjudication exhausts a long batch). Checked every RESOURCE_EVERY executions,
        after a garbage collection, against this worker's level after its warm-up."""
        import gc

        gc.collect()
        now = _resources()
        for name, (base, cur) in {k: (self.baseline[k], now[k]) for k in now}.items():
            if len(cur) - len(base) < RESOURCE_SLACK or name in self.leaks_seen:
                continue
            self.leaks_seen.add(name)
            grown = sorted(set(cur) - set(base))[:20]
            stats.signatures[f"invariant:{name}-leak"] += 1
            stats.findings.append(
                {
                    "kind": "invariant",
                    "signature": f"invariant:{name}-leak",
                    "stage": "resources",
                    "index": index,
                    "mutators": [],
                    "base": "",
                    "message": f"{name}: {len(base)} after warm-up, {len(cur)} after index "
                    f"{index}; new: {grown}",
                    "saved": None,
                }
            )

    def warm_up(self) -> None:
        """Load what the engine loads lazily (renderers, schemas, the CLI) before counting
        memory growth."""
        seed = self.corpus.seeds[0]
        built = Built(seed.spec(), Options(), [])
        seal_spec(built.spec)
        plan = _fixed_plan(self.cfg.seed, -1, seed.id, table=True, cli=1)
        self.lab.run(plan, built)

    def one(self, index: int, stats: Stats) -> None:
        plan = make_plan(self.cfg, index, self.corpus)
        built: Built | None = None
        try:
            built = build(plan, self.corpus)
            res = self.lab.run(plan, built)
        except Exception:
            # a bug of the harness (generator, file writing) is not an engine finding:
            # counted and reported apart, the campaign goes on
            stats.add(plan, built, ExecResult(status="harness-error"))
            key = _tb().strip().splitlines()[-1][:120]
            stats.harness[key] += 1
            stats.harness_tb.setdefault(key, f"index {index}\n{_tb()}")
            return
        stats.add(plan, built, res)
        if index % RESOURCE_EVERY == RESOURCE_EVERY - 1:
            self.check_resources(index, stats)
        for finding in res.findings:
            stats.signatures[finding.signature] += 1
            entry: dict[str, Any] = {
                "kind": finding.kind,
                "signature": finding.signature,
                "stage": finding.stage,
                "index": index,
                "mutators": [name for name, _ in built.applied],
                "base": plan.base,
                "message": finding.message[-1500:],
                "saved": None,
            }
            if self.saved[finding.signature] < self.cfg.max_saved_per_signature:
                first = self.saved[finding.signature] == 0
                self.saved[finding.signature] += 1
                entry["saved"] = save_finding(
                    self.lab,
                    self.cfg,
                    self.corpus,
                    plan,
                    finding,
                    minimise_it=first and self.cfg.minimise,
                )
            stats.findings.append(entry)


RESOURCE_EVERY = 50
RESOURCE_SLACK = 16  # descriptors (or threads, temp entries) above the warm-up level


def _resources() -> dict[str, list[str]]:
    """This process's open descriptors (with their targets), threads, and the entries of
    its temp folder."""
    import threading

    fds = []
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                fds.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
    temps: list[str] = []
    with contextlib.suppress(OSError):
        temps = sorted(os.listdir(tempfile.gettempdir()))  # the worker's private TMPDIR
    return {
        "fd": fds,
        "thread": [t.name for t in threading.enumerate()],
        "tmp": temps,
    }


def _hygiene() -> None:
    for name in HYGIENE:
        os.environ.pop(name, None)
    os.environ["NO_COLOR"] = "1"


def _limit_memory() -> None:
    """A ceiling on this worker's address space, so a blow-up is a MemoryError (counted as
    a hang) and never takes the machine down."""
    try:
        import resource

        size_kb = _rss_kb("VmSize")
        limit = size_kb * 1024 + (3 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def worker_main(cfg: Config, wid: int, workdir: str, conn: Any, progress: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _hygiene()
    _limit_memory()
    corpus = _corpus()

    def beat() -> None:
        progress[2 * wid + 1] = time.monotonic()

    _HEARTBEAT.append(beat)
    private_tmp = Path(workdir) / f"w{wid}" / "tmp"  # so a temp-file leak is this worker's
    private_tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(private_tmp)
    tempfile.tempdir = str(private_tmp)
    runner = Runner(cfg, corpus, Path(workdir) / f"w{wid}")
    conn.send(("ready", wid))
    while True:
        task = conn.recv()
        if task is None:
            break
        start, end = task
        stats = Stats()
        for index in range(start, end):
            progress[2 * wid] = index
            progress[2 * wid + 1] = time.monotonic()
            runner.one(index, stats)
        progress[2 * wid + 1] = 0.0
        stats.worker_peak_rss_mb = _rss_kb("VmRSS") / 1024
        conn.send(("done", (start, end), stats))


_CORPUS: Corpus | None = None


def _corpus() -> Corpus:
    global _CORPUS
    if _CORPUS is None:
        _CORPUS = load_corpus()
    return _CORPUS


# -- the campaign (parent) ----------------------------------------------------------------


@dataclass
class Report:
    cfg: Config
    stats: Stats
    wall_s: float
    watchdog: list[dict[str, Any]]

    @property
    def crashes(self) -> int:
        return sum(1 for f in self.stats.findings if f["kind"] == "crash")

    @property
    def hangs(self) -> int:
        return sum(1 for f in self.stats.findings if f["kind"] == "hang")

    @property
    def invariant_failures(self) -> int:
        return sum(1 for f in self.stats.findings if f["kind"] == "invariant")

    @property
    def clean(self) -> bool:
        return self.crashes == self.hangs == self.invariant_failures == 0

    def to_json(self) -> dict[str, Any]:
        s = self.stats
        by_sig: dict[str, dict[str, Any]] = {}
        for f in sorted(s.findings, key=lambda f: f["index"]):
            entry = by_sig.setdefault(
                f["signature"],
                {
                    "kind": f["kind"],
                    "count": 0,
                    "first_index": f["index"],
                    "saved": [],
                    "message": f["message"],
                },
            )
            entry["count"] += 1
            if f["saved"]:
                entry["saved"].append(f["saved"])
        return {
            "seed": self.cfg.seed,
            "jobs": self.cfg.jobs,
            "executions": s.executions,
            "requested": self.cfg.execs,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "invariant_failures": self.invariant_failures,
            "executions_with_findings": sum(
                v for k, v in s.status.items() if k in ("crash", "hang", "invariant")
            ),
            "wall_s": round(self.wall_s, 2),
            "execs_per_s": round(s.executions / self.wall_s, 1) if self.wall_s else None,
            "judge_cpu_s": round(s.judge_seconds, 2),
            "status": dict(s.status),
            "families": dict(s.family),
            "mutators": dict(sorted(s.mutators.items())),
            "mutators_in_findings": dict(sorted(s.mutator_findings.items())),
            "toplines": dict(s.toplines),
            "stopped_at_gate": dict(s.stop_gates),
            "stages": dict(s.stages),
            "cli_exit_codes": dict(s.cli_exits),
            "usage_errors": dict(s.usage.most_common(20)),
            "harness_errors": dict(s.harness.most_common(20)),
            "harness_tracebacks": s.harness_tb,
            "slowest": [
                {"seconds": round(t, 3), "index": i, "base": b, "mutators": m}
                for t, i, b, m in s.slowest
            ],
            "max_rss_growth_mb": {"mb": round(s.max_rss[0], 1), "index": s.max_rss[1]},
            "worker_rss_mb": round(s.worker_peak_rss_mb, 1),
            "signatures": by_sig,
            "watchdog": self.watchdog,
        }

    def text(self) -> str:
        d = self.to_json()
        lines = [
            f"vlab fuzz campaign: seed {d['seed']}, {d['executions']:,} executions "
            f"({d['requested']:,} requested), {d['jobs']} job(s)",
            f"wall time {d['wall_s']:.1f} s, {d['execs_per_s']} executions/s "
            f"(in-process judging and rendering: {d['judge_cpu_s']:.1f} s)",
            f"crashes {d['crashes']}, hangs {d['hangs']}, "
            f"invariant failures {d['invariant_failures']}",
            "families: " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["families"].items())),
            "toplines: " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["toplines"].items())),
            "stopped at: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(d["stopped_at_gate"].items())),
            "checks run: " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["stages"].items())),
            "CLI exit codes: "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(d["cli_exit_codes"].items())),
            f"largest peak-RSS growth of one execution: {d['max_rss_growth_mb']['mb']} MB "
            f"(index {d['max_rss_growth_mb']['index']}); "
            f"worker RSS at the end {d['worker_rss_mb']} MB",
            "slowest executions:",
            *(
                f"  {x['seconds']:.3f} s  #{x['index']}  {x['base']}  {x['mutators']}"
                for x in d["slowest"][:5]
            ),
            "mutators (executions where it applied / of those with a finding):",
        ]
        found = d["mutators_in_findings"]
        names = sorted(d["mutators"], key=lambda n: (n.split("_")[0], n))
        for name in names:
            lines.append(f"  {name:<22} {d['mutators'][name]:>9,}  {found.get(name, 0):>6,}")
        if d["usage_errors"]:
            lines.append("usage errors (exit 64; allowed, listed for review):")
            lines += [f"  {v:>7,}  {k}" for k, v in d["usage_errors"].items()]
        if d["harness_errors"]:
            lines.append("harness errors (bugs of the fuzzer, not of vlab):")
            lines += [f"  {v:>7,}  {k}" for k, v in d["harness_errors"].items()]
        if d["signatures"]:
            lines.append("findings by signature:")
            for sig, e in d["signatures"].items():
                lines.append(f"  [{e['kind']}] {sig}  x{e['count']}  first #{e['first_index']}")
                for path in e["saved"][:3]:
                    lines.append(f"      saved: {path}")
        for w in self.watchdog:
            lines.append(f"watchdog: {w}")
        lines.append("RESULT: " + ("clean" if self.clean else "FINDINGS"))
        return "\n".join(lines)


def _chunks(execs: int, jobs: int) -> list[tuple[int, int]]:
    size = max(5, min(250, execs // (jobs * 16) or 1))
    return [(i, min(i + size, execs)) for i in range(0, execs, size)]


def run_campaign(cfg: Config) -> Report:
    import multiprocessing as mp
    from multiprocessing.connection import wait

    _hygiene()
    corpus = _corpus()  # loaded before forking: workers inherit it
    cfg.out.mkdir(parents=True, exist_ok=True)
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="vlab-fuzz-", dir=base))
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    progress = ctx.Array("d", 2 * cfg.jobs, lock=False)
    pending = _chunks(cfg.execs, cfg.jobs)
    pending.reverse()
    total = Stats()
    watchdog: list[dict[str, Any]] = []
    workers: dict[int, Any] = {}
    conns: dict[int, Any] = {}
    busy: dict[int, tuple[int, int] | None] = {}
    hard_limit = cfg.watchdog_s or 4 * cfg.budget_s + 30  # the alarm fires long before

    finished: set[int] = set()  # told to stop (no more work)

    def spawn(wid: int) -> None:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(cfg, wid, str(workdir), child_end, progress))
        proc.daemon = True
        proc.start()
        child_end.close()
        workers[wid], conns[wid], busy[wid] = proc, parent_end, None
        progress[2 * wid + 1] = 0.0

    def assign(wid: int) -> None:
        if pending:
            task = pending.pop()
            busy[wid] = task
            conns[wid].send(task)
        else:
            busy[wid] = None
            finished.add(wid)
            conns[wid].send(None)

    def lost(wid: int, why: str) -> None:
        """A worker died or was killed: the index it was on is a finding; the rest of its
        chunk is re-run (deterministically) by a fresh worker."""
        task = busy.get(wid)
        proc = workers[wid]
        with contextlib.suppress(Exception):
            proc.kill()
        proc.join(5)
        with contextlib.suppress(Exception):
            conns[wid].close()
        if task is not None:
            index = int(progress[2 * wid])
            if not task[0] <= index < task[1]:
                index = task[0]
            plan = make_plan(cfg, index, corpus)
            kind = "hang" if why == "watchdog" else "crash"
            finding = Finding(
                kind,
                f"{kind}:worker-{why}",
                "worker",
                f"worker {why} at index {index} (exit code {proc.exitcode})",
            )
            saved = save_finding(None, cfg, corpus, plan, finding, minimise_it=False)
            stats = Stats()
            stats.add(plan, None, ExecResult(status=kind, findings=[finding]))
            stats.signatures[finding.signature] += 1
            stats.findings.append(
                {
                    **asdict(finding),
                    "index": index,
                    "mutators": [name for name, _ in plan.steps],
                    "base": plan.base,
                    "saved": saved,
                }
            )
            total.merge(stats)
            watchdog.append({"index": index, "why": why, "exitcode": proc.exitcode})
            if index > task[0]:
                pending.append((task[0], index))
            if index + 1 < task[1]:
                pending.append((index + 1, task[1]))
        del workers[wid], conns[wid], busy[wid]
        spawn(wid)

    start = time.monotonic()
    last_note = start
    interrupted = False
    try:
        for wid in range(cfg.jobs):
            spawn(wid)
        while len(finished) < len(workers) or pending:
            live = [c for w, c in conns.items() if w not in finished]
            for conn in wait(live, timeout=1.0):
                wid = next(w for w, c in conns.items() if c is conn)
                try:
                    msg = conns[wid].recv()
                except (EOFError, OSError):
                    lost(wid, "died")
                    continue
                if msg[0] == "done":
                    total.merge(msg[2])
                    busy[wid] = None
                if msg[0] in ("ready", "done"):
                    assign(wid)
            now = time.monotonic()
            for wid in list(workers):
                began = progress[2 * wid + 1]
                if busy.get(wid) is not None and began and now - began > hard_limit:
                    lost(wid, "watchdog")
            if not cfg.quiet and now - last_note > cfg.progress_s:
                last_note = now
                rate = total.executions / (now - start)
                print(
                    f"[fuzz] {total.executions:,}/{cfg.execs:,} executions, {rate:.0f}/s, "
                    f"findings {len(total.findings)}",
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for wid, conn in list(conns.items()):
            if wid not in finished:
                with contextlib.suppress(Exception):
                    conn.send(None)
        for proc in workers.values():
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(2)
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.monotonic() - start
    report = Report(cfg, total, wall, watchdog)
    if interrupted:
        watchdog.append({"why": "interrupted (Ctrl-C)", "executions": total.executions})
    return report


# -- one execution, for people ---------------------------------------------------------


def replay(cfg: Config, index: int, save: Path | None = None) -> int:
    """Regenerate execution ``index`` of campaign ``cfg.seed``, run it with every sampled
    check switched on, print what it did and found."""
    _hygiene()
    corpus = _corpus()
    plan = make_plan(cfg, index, corpus)
    plan = replace(plan, table=True, rejudge=True, relocate=True, cli=plan.cli or 1)
    built = build(plan, corpus)
    print(
        json.dumps(
            {"plan": plan.to_json(), "applied": built.applied, "options": built.opts.to_json()},
            indent=2,
        )
    )
    if save is not None:
        materialise(built.spec, save)
        print(f"pack written to {save}")
    with tempfile.TemporaryDirectory(prefix="vlab-fuzz-") as tmp:
        lab = Lab(cfg, corpus, Path(tmp))
        res = lab.run(plan, built)
    return _show(res)


def _fixed_plan(seed: int, index: int, base: str, **checks: Any) -> Plan:
    """A plan for a pack that is given, not generated (warm-up, reproduction)."""
    fields: dict[str, Any] = {
        "seed": seed,
        "index": index,
        "family": "given",
        "base": base,
        "base_seed": 0,
        "gentle": False,
        "steps": (),
        "keep_limits": True,
        "fixup": False,
        "table": False,
        "schema": True,
        "rejudge": False,
        "relocate": False,
        "cli": None,
        "subprocess": False,
    }
    fields.update(checks)
    return Plan(**fields)


def repro(folder: Path, budget_s: float = 10.0) -> int:
    """Re-judge a saved finding's pack (``folder/pack``) with its options through the same
    checks that found it (the same sampled CLI variant included)."""
    _hygiene()
    doc = json.loads((folder / "finding.json").read_text("utf-8"))
    opts = Options(**doc["options"])
    sampled = doc.get("minimised_plan") or doc["plan"]
    plan = _fixed_plan(
        doc["campaign_seed"],
        doc["index"],
        str(folder),
        table=True,
        rejudge=True,
        relocate=True,
        cli=sampled.get("cli") or 1,
        subprocess=doc.get("stage") == "subprocess",
    )
    archive = None
    if doc.get("archive"):
        name, hostile = doc["archive"]
        archive = (name, (folder / name).read_bytes(), bool(hostile))
    built = Built(read_pack(folder / "pack"), opts, [], archive)
    with tempfile.TemporaryDirectory(prefix="vlab-fuzz-") as tmp:
        lab = Lab(Config(budget_s=budget_s), _corpus(), Path(tmp))
        res = lab.run(plan, built)
    print(f"expected signature: {doc['signature']}")
    code = _show(res)
    same = any(f.signature == doc["signature"] for f in res.findings)
    print("REPRODUCED" if same else "not reproduced (fixed? the unminimised pack is in original/)")
    return code


def _show(res: ExecResult) -> int:
    print(
        f"status {res.status}, topline {res.topline}, stopped at {res.stop_gate}, "
        f"{res.seconds:.3f} s"
    )
    if res.usage:
        print(f"usage error: {res.usage}")
    for f in res.findings:
        print(f"--- [{f.kind}] {f.signature} ({f.stage})\n{f.message}")
    return 1 if res.findings else 0


# What the archive refuses itself, with its own code, where a folder gets the walk's
# (scale.md §1: links, devices, unsafe names), or cannot hold at all (a zip has no hard
# links): the same pack differs there by design, so those pairs are not compared.
_FOLDER_ONLY_CODES = (
    b'"SECURITY-SYMLINK"',
    b'"SECURITY-SPECIAL-FILE"',
    b'"SECURITY-HARDLINK"',
    b'"SECURITY-UNSAFE-PATH"',
)


def _archive_own_refusal(folder: bytes, archive: bytes) -> bool:
    return b'"SECURITY-ARCHIVE-' in archive or any(c in folder for c in _FOLDER_ONLY_CODES)


def _one_folder_at_root(spec: Any) -> bool:
    """A pack whose root holds one folder and nothing else: as an archive, that folder is
    taken for the archive's top-level folder (scale.md §1), so it is another pack."""
    paths = [*spec.files, *(s.path for s in spec.specials)]
    tops = {p.split("/")[0] for p in paths}
    return bool(paths) and all("/" in p for p in paths) and len(tops) == 1
