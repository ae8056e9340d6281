"""archive: adjudicating small packs as archive packs against the same packs as folders.

Two figures, each an A/B of the same packs:
- throughput: ``vlab regress CORPUS --jobs 1`` over N small packs as folders, as ``.tgz``
  and as ``.zip`` (the order rotated each round); the cost of an archive per pack (a
  private folder made, the entries checked and written, removed) against the folder's;
- one command: ``vlab adjudicate PACK --format json`` on one small pack (the starter PASS
  vector) as a folder, a ``.tgz`` and a ``.zip``, what a CI step runs once per run.
"""

from __future__ import annotations

from typing import Any

from benchmarks.generators.archives import KINDS, ensure_archive_corpora, one_pack
from benchmarks.harness import BenchError, rotated_rounds, summary, vlab_argv

ARCHIVE_PACKS = 2_000
ARCHIVE_ROUNDS = 3
ONE_PACK_ROUNDS = 10
TARGET_ARCHIVE_RATIO = 1.3  # archive / folder, wall
ONE_PACK = "starter/arb-d1-budget-pass-fixture"


def _rounds(argv: dict[str, list[str]], rounds: int) -> dict[str, dict[str, Any]]:
    # regress exits 0; the starter pack's adjudicate 0 too (topline PASS), 1 allowed
    samples = rotated_rounds(argv, rounds, ok=(0, 1))
    return {name: summary(group) for name, group in samples.items()}


def bench_archive(count: int, rounds: int, force: bool) -> dict[str, Any]:
    print(f"archive: {count:,} small packs as folders, .tgz and .zip")
    corpora = ensure_archive_corpora(count, force)
    regress = {
        kind: vlab_argv("regress", str(corpora[kind]), "--jobs", "1", "--format", "json")
        for kind in KINDS
    }
    many = _rounds(regress, rounds)
    for kind in KINDS:
        if many[kind]["exit_codes"] != [0]:
            raise BenchError(f"vlab regress on the {kind} corpus found mismatches")
    packs = one_pack(ONE_PACK)
    single = {kind: vlab_argv("adjudicate", str(packs[kind]), "--format", "json") for kind in KINDS}
    print(f"  one pack, {ONE_PACK_ROUNDS} rounds: vlab adjudicate {ONE_PACK}")
    one = _rounds(single, ONE_PACK_ROUNDS)
    out: dict[str, Any] = {"packs": count, "target_ratio_max": TARGET_ARCHIVE_RATIO}
    for kind in KINDS:
        out[kind] = {
            "regress": {**many[kind], "packs_per_s": count / many[kind]["median_wall_s"]},
            "adjudicate": one[kind],
        }
    for kind in KINDS[1:]:
        out[kind]["ratio_regress"] = many[kind]["median_wall_s"] / many["folder"]["median_wall_s"]
        out[kind]["ratio_adjudicate"] = one[kind]["median_wall_s"] / one["folder"]["median_wall_s"]
        print(
            f"  {kind}: regress {out[kind]['ratio_regress']:.2f}x the folders' wall, "
            f"one adjudicate {out[kind]['ratio_adjudicate']:.2f}x"
        )
    return out
