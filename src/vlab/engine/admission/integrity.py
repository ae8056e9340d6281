"""ADM-GATE-INTEGRITY: integrity/sha256sums.txt lists every other file exactly once, with
the sha256 the SECURITY gate computed; gives the pack digest."""

from __future__ import annotations

from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_INTEGRITY
from vlab.engine.admission.context import GateContext
from vlab.pack.reader import PackAccessError
from vlab.pack.signatures import is_signature_path
from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums

NAME = GATE_INTEGRITY


def run(ctx: GateContext) -> list[Detail]:
    if not ctx.reader.has(SUMS_PATH):
        return [Detail("INTEGRITY-MANIFEST-MISSING", f"{SUMS_PATH} is missing", SUMS_PATH)]
    try:
        data = ctx.reader.read_bytes(SUMS_PATH)
    except (PackAccessError, OSError) as exc:
        return [Detail("INTEGRITY-MALFORMED", f"cannot read: {exc}", SUMS_PATH)]
    entries, details = parse_sums(data)
    hashes = ctx.result.hashes
    listed: dict[str, str] = {}
    for entry in entries:
        if entry.path == SUMS_PATH:
            details.append(
                Detail(
                    "INTEGRITY-SELF-LISTED",
                    "the integrity file lists itself",
                    SUMS_PATH,
                    line=entry.line,
                )
            )
        elif entry.path in listed:
            details.append(
                Detail(
                    "INTEGRITY-DUPLICATE-ENTRY",
                    f"{entry.path} is listed twice",
                    SUMS_PATH,
                    line=entry.line,
                )
            )
        elif entry.path not in hashes:
            details.append(
                Detail("INTEGRITY-MISSING-FILE", "listed but not in the pack", entry.path)
            )
            listed[entry.path] = entry.hexdigest
        else:
            listed[entry.path] = entry.hexdigest
            if hashes[entry.path] != entry.hexdigest:
                details.append(
                    Detail(
                        "INTEGRITY-HASH-MISMATCH",
                        f"sha256 is {hashes[entry.path]}, listed {entry.hexdigest}",
                        entry.path,
                    )
                )
    for path in sorted(hashes, key=lambda p: p.encode("utf-8")):
        if path != SUMS_PATH and path not in listed and not is_signature_path(path):
            details.append(Detail("INTEGRITY-UNLISTED-FILE", "in the pack but not listed", path))
    if not details:
        ctx.result.digest = pack_digest(listed)
    return details
