"""ADM-GATE-SECURITY: the pack is safe to read (no links, special files, unsafe names,
sizes and counts within bounds, NDJSON lines within the line bound); hashes every file
while taking the private copy every later stage reads (so they judge the hashed bytes)."""

from __future__ import annotations

from collections.abc import Callable

from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_SECURITY
from vlab.engine.admission.context import GateContext
from vlab.pack import ndjson as ndjson_scan
from vlab.pack.limits import artifact_kind, is_event_log
from vlab.pack.reader import PackAccessError, Source

NAME = GATE_SECURITY


def run(ctx: GateContext) -> list[Detail]:
    inventory = ctx.reader.inventory()
    if inventory.refusals:
        return inventory.refusals
    details: list[Detail] = []
    limits = ctx.reader.limits
    max_line = limits.max_line_bytes
    bounds = (limits.max_depth, limits.max_document_values)
    for f in inventory.files:
        ndjson = artifact_kind(f.path) == "ndjson"
        # A large event log's tail is scanned while this gate hashes it and the gates up to
        # CONTRACT run: from the private copy, kept only if they pass (decision 252).
        early: dict[str, Callable[[Source], None]] = {}
        if ndjson and is_event_log(f.path) and f.size >= ndjson_scan.PARALLEL_MIN_BYTES:

            def prescan(src: Source, path: str = f.path) -> None:
                from vlab.pack.bulkscan import start_prescan

                start_prescan(ctx.reader, path, src, bounds)

            early["on_copied"] = prescan
        try:
            sealed = ctx.reader.seal_read(f.path, max_line if ndjson else None, **early)
        except (PackAccessError, OSError) as exc:
            details.append(Detail("SECURITY-UNREADABLE", f"cannot read: {exc}", f.path))
            continue
        ctx.result.hashes[f.path] = sealed.hexdigest
        too_long = sealed.too_long
        if sealed.changed is not None:
            # Judging these bytes would be judging a pack nobody sealed (decision 63).
            details.append(Detail("INTEGRITY-CHANGED-DURING-READ", sealed.changed, f.path))
        elif too_long is not None:
            details.append(
                Detail(
                    "SECURITY-LINE-TOO-LONG",
                    f"line longer than {max_line} bytes",
                    f.path,
                    line=too_long,
                )
            )
    return details
