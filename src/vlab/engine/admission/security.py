"""ADM-GATE-SECURITY: the pack is safe to read (no links, special files, unsafe names,
sizes and counts within bounds, NDJSON lines within the line bound); hashes every file."""

from __future__ import annotations

from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_SECURITY
from vlab.engine.admission.context import GateContext
from vlab.pack.limits import artifact_kind
from vlab.pack.reader import PackAccessError

NAME = GATE_SECURITY


def run(ctx: GateContext) -> list[Detail]:
    inventory = ctx.reader.inventory()
    if inventory.refusals:
        return inventory.refusals
    details: list[Detail] = []
    max_line = ctx.reader.limits.max_line_bytes
    for f in inventory.files:
        ndjson = artifact_kind(f.path) == "ndjson"
        try:
            hexdigest, too_long = ctx.reader.hash_and_scan(f.path, max_line if ndjson else None)
        except (PackAccessError, OSError) as exc:
            details.append(Detail("SECURITY-UNREADABLE", f"cannot read: {exc}", f.path))
            continue
        ctx.result.hashes[f.path] = hexdigest
        if too_long is not None:
            details.append(
                Detail(
                    "SECURITY-LINE-TOO-LONG",
                    f"line longer than {max_line} bytes",
                    f.path,
                    line=too_long,
                )
            )
    return details
