"""The pipeline: pack reading -> admission -> ruleset -> evaluation -> ruling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vlab.core.errors import UsageError
from vlab.core.vocabulary import ADMISSIBLE, NOT_ADMISSIBLE
from vlab.engine.admission import Admission, admit
from vlab.engine.admission.context import installed_requirements
from vlab.engine.evaluation import clause_ruling, evaluate, null_metrics
from vlab.engine.ruling import (
    AdmissionRuling,
    ClauseRuling,
    PackRef,
    RulesetRef,
    Ruling,
    topline,
)
from vlab.pack.limits import Limits, archive_kind
from vlab.pack.reader import PackReader
from vlab.pack.trust import TrustPolicy
from vlab.ruleset.catalog import Catalog
from vlab.ruleset.model import Ruleset


def open_pack(path: Path, limits: Limits | None = None) -> PackReader:
    """A reader of the pack folder at ``path`` (an archive pack: ``opened_pack``)."""
    if not path.exists():
        raise UsageError(f"pack not found: {path}")
    if not path.is_dir():
        if archive_kind(path.name) is not None:
            raise UsageError(f"an archive pack is opened with opened_pack: {path}")
        raise UsageError(f"not a pack directory: {path}")
    return PackReader(path, limits)


@contextmanager
def opened_pack(path: Path, limits: Limits | None = None) -> Iterator[PackReader]:
    """The pack at ``path`` opened for judging, for the duration of the block.

    The one place a pack path becomes a reader: a folder is read in place; an archive
    (``.tar``, ``.tar.gz``/``.tgz``, ``.zip``) is unpacked into a private temporary folder
    under every SECURITY rule, and that folder is removed when the block ends, also on an
    error, Ctrl-C or SIGTERM (``vlab.pack.archive``)."""
    if path.is_dir() or archive_kind(path.name) is None:
        yield open_pack(path, limits)
        return
    if not path.exists():
        raise UsageError(f"pack not found: {path}")
    if not path.is_file():  # a FIFO or a device named like an archive is never opened
        raise UsageError(f"not a pack directory or archive file: {path}")
    from vlab.pack.archive import unpacked  # tarfile and zipfile only for archives

    with unpacked(path, limits or Limits()) as reader:
        yield reader


@dataclass(frozen=True)
class Judged:
    """A ruling with what it was made from: renderers that re-read the evidence (the HTML
    dossier's charts) and tools (batch, attestations) take it instead of re-opening the pack."""

    ruling: Ruling
    reader: PackReader
    admission: Admission
    ruleset: Ruleset | None


def judge(
    reader: PackReader,
    catalog: Catalog,
    *,
    override: Ruleset | None = None,
    digest: bool = True,
    trust: TrustPolicy | None = None,
) -> Judged:
    """Admit and judge an opened pack (under ``trust``, the policy in force, if any)."""
    admission = admit(reader, catalog.get, installed_requirements(catalog), trust)
    ruleset = override or admission.pinned
    results = evaluate(ruleset, admission, reader) if admission.admissible and ruleset else []
    ruling = build_ruling(
        admission=admission,
        ruleset=ruleset,
        override=override is not None,
        results=results,
        digest=digest,
    )
    return Judged(ruling, reader, admission, ruleset)


def admit_pack(
    path: Path, catalog: Catalog, limits: Limits | None = None, trust: TrustPolicy | None = None
) -> Admission:
    with opened_pack(path, limits) as reader:
        return admit(reader, catalog.get, installed_requirements(catalog), trust)


def adjudicate(
    path: Path,
    catalog: Catalog,
    *,
    override: Ruleset | None = None,
    limits: Limits | None = None,
    digest: bool = True,
    trust: TrustPolicy | None = None,
) -> Ruling:
    """Admit and judge one pack; returns the ruling. ``digest=False`` skips the
    ruling digest for callers that only compare fields (regress, diff); such a ruling is
    never emitted."""
    with opened_pack(path, limits) as reader:
        return judge(reader, catalog, override=override, digest=digest, trust=trust).ruling


def build_ruling(
    *,
    admission: Admission,
    ruleset: Ruleset | None,
    override: bool,
    results: list[ClauseRuling],
    digest: bool = True,
) -> Ruling:
    if admission.admissible:
        clauses = tuple(results)
    else:  # every clause of the ruleset in force carries the admission's reason
        code = admission.reason_code
        clauses = tuple(
            clause_ruling(c, NOT_ADMISSIBLE, code, metrics=null_metrics(c))
            for c in (ruleset.clauses if ruleset is not None else ())
        )
    codes = {c.reason_code for c in clauses if c.reason_code is not None}
    if admission.reason_code is not None:
        codes.add(admission.reason_code)
    ruling = Ruling(
        ruleset=RulesetRef(
            ruleset.id if ruleset else None,
            ruleset.version if ruleset else None,
            ruleset.sha256 if ruleset else None,
            override,
        ),
        pack=PackRef(admission.pack_id, admission.run_id, admission.digest, admission.substrate),
        admission=AdmissionRuling(
            ADMISSIBLE if admission.admissible else NOT_ADMISSIBLE,
            admission.reason_code,
            tuple(admission.gates),
        ),
        clauses=clauses,
        topline=topline(admission.admissible, clauses),
        reason_codes=tuple(sorted(codes)),
        trust=admission.trust,
    )
    return ruling.sealed() if digest else ruling
