"""ADM-GATE-AUTHENTICITY: enough distinct trusted keys signed this pack as it is.

Runs only with a trust policy in force (``--trust``, or a ruleset's
``requires_signature: true`` with the empty policy), after INTEGRITY (the sums and the
digest are then known) and before CONTRACT. Every envelope under integrity/signatures/ is
read; each signature is tried against every trusted key (the key id is only a hint). A
malformed envelope, a subject set or pack digest that differs from the pack, or one key
signing twice always refuses; a signature that no trusted key verifies is reported and does
not count — advisory when enough trusted keys signed anyway (decision 204)."""

from __future__ import annotations

from vlab.core import strictjson
from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_AUTHENTICITY
from vlab.engine.admission.context import GateContext
from vlab.pack.reader import PackAccessError
from vlab.pack.signatures import (
    PACK_PREDICATE,
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    Opened,
    is_signature_path,
    open_envelope,
    verifying_key,
)
from vlab.pack.sums import SUMS_PATH
from vlab.pack.trust import EMPTY_POLICY

NAME = GATE_AUTHENTICITY
# Bounds on the work a hostile signatures folder can ask for (each signature is tried
# against every trusted key): beyond them the pack is refused, not judged.
MAX_ENVELOPES = 64
MAX_SIGNATURES = 16


def _subjects(statement: object) -> dict[str, str] | str:
    """name -> sha256 of a pack Statement's subjects, or why it is malformed."""
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return f"the payload is not an in-toto Statement ({STATEMENT_TYPE})"
    if statement.get("predicateType") != PACK_PREDICATE:
        return f"predicateType is not {PACK_PREDICATE}"
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or not isinstance(predicate.get("pack_digest"), str):
        return "the predicate has no pack_digest"
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        return "subject must be a non-empty list"
    out: dict[str, str] = {}
    for s in subjects:
        digest = s.get("digest") if isinstance(s, dict) else None
        name = s.get("name") if isinstance(s, dict) else None
        if not isinstance(name, str) or not isinstance(digest, dict):
            return "a subject must be {name, digest}"
        sha = digest.get("sha256")
        if not isinstance(sha, str):
            return "a subject has no sha256 digest"
        if name in out:
            return f"subject {name} is listed twice"
        out[name] = sha
    return out


def run(ctx: GateContext) -> list[Detail]:
    policy = ctx.trust or EMPTY_POLICY
    trusted = policy.by_id()
    limits = ctx.reader.limits
    expected = {
        p: h for p, h in ctx.result.hashes.items() if p != SUMS_PATH and not is_signature_path(p)
    }
    refusals: list[Detail] = []
    unverified: list[Detail] = []
    signers: list[str] = []
    envelopes = sorted(
        (p for p in ctx.result.hashes if is_signature_path(p)), key=lambda p: p.encode("utf-8")
    )
    if len(envelopes) > MAX_ENVELOPES:
        return [
            Detail(
                "AUTH-SIGNATURE-INVALID",
                f"more than {MAX_ENVELOPES} envelopes under integrity/signatures/",
                "integrity/signatures",
            )
        ]
    for path in envelopes:
        try:
            doc = strictjson.loads(
                ctx.reader.read_bytes(path),
                max_depth=limits.max_depth,
                max_values=limits.max_document_values,
            )
        except (strictjson.StrictJSONError, PackAccessError, OSError) as exc:
            refusals.append(Detail("AUTH-SIGNATURE-INVALID", f"not a DSSE envelope: {exc}", path))
            continue
        opened = open_envelope(doc)
        if isinstance(opened, str):
            refusals.append(Detail("AUTH-SIGNATURE-INVALID", opened, path))
            continue
        if len(opened.signatures) > MAX_SIGNATURES:
            refusals.append(
                Detail("AUTH-SIGNATURE-INVALID", f"more than {MAX_SIGNATURES} signatures", path)
            )
            continue
        if opened.payload_type != PAYLOAD_TYPE:
            refusals.append(
                Detail("AUTH-SIGNATURE-INVALID", f"payloadType is not {PAYLOAD_TYPE}", path)
            )
            continue
        _check_envelope(ctx, path, opened, trusted, expected, signers, refusals, unverified)
    enough = len(signers) >= policy.require
    ctx.result.trust = {"policy_sha256": policy.sha256, "signers": sorted(signers)}
    if enough and not refusals:
        return [
            Detail(d.code, d.message, d.artifact_path, d.locator, advisory=True) for d in unverified
        ]
    details = refusals + unverified
    if not enough:
        details.append(
            Detail(
                "AUTH-SIGNATURE-MISSING",
                f"{len(signers)} of the {policy.require} trusted signatures required",
                "integrity/signatures",
            )
        )
    return details


def _check_envelope(
    ctx: GateContext,
    path: str,
    opened: Opened,
    trusted: dict[str, object],
    expected: dict[str, str],
    signers: list[str],
    refusals: list[Detail],
    unverified: list[Detail],
) -> None:
    verified: list[str] = []
    for index, (hint, sig) in enumerate(opened.signatures):
        kid = verifying_key(opened, sig, trusted)
        where = f"jsonptr:/signatures/{index}"
        if kid is None:
            if hint is not None and hint not in trusted:
                unverified.append(
                    Detail("AUTH-KEY-UNTRUSTED", f"signed by key {hint}, not trusted", path, where)
                )
            else:
                unverified.append(
                    Detail("AUTH-SIGNATURE-INVALID", "no trusted key verifies it", path, where)
                )
        elif kid in verified or kid in signers:
            refusals.append(
                Detail("AUTH-SIGNATURE-INVALID", f"key {kid} signed more than once", path, where)
            )
        else:
            verified.append(kid)
    if not verified:
        return
    try:
        limits = ctx.reader.limits
        statement = strictjson.loads(
            opened.payload, max_depth=limits.max_depth, max_values=limits.max_document_values
        )
    except strictjson.StrictJSONError as exc:
        refusals.append(Detail("AUTH-SIGNATURE-INVALID", f"payload: {exc}", path))
        return
    subjects = _subjects(statement)
    if isinstance(subjects, str):
        refusals.append(Detail("AUTH-SIGNATURE-INVALID", subjects, path, "jsonptr:/payload"))
        return
    if subjects != expected:
        missing = sorted(set(expected) - set(subjects))
        extra = sorted(set(subjects) - set(expected))
        changed = sorted(p for p in set(subjects) & set(expected) if subjects[p] != expected[p])
        first = (missing and f"omits {missing[0]}") or (extra and f"adds {extra[0]}")
        first = first or f"hash of {changed[0]} differs"
        refusals.append(
            Detail("AUTH-SUBJECT-MISMATCH", f"the signed subjects differ: {first}", path)
        )
        return
    if statement["predicate"]["pack_digest"] != ctx.result.digest:
        refusals.append(
            Detail("AUTH-SUBJECT-MISMATCH", "the signed pack_digest is not this pack's", path)
        )
        return
    signers.extend(verified)
