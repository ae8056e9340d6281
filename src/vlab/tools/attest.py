"""Signed rulings (trust.md §3): a JSON Lines bundle of two DSSE envelopes — a SLSA VSA v1
and the vlab ruling Statement — and its verification.

``attestation_bundle(ruling, signer, time_verified)`` is a plain function so ``vlab
batch`` can make one bundle per pack. The ruling stays time-free: only the VSA carries a
time, given by the caller (``--as-of`` or the current time, always UTC ``...Z``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlab import __version__
from vlab.core import strictjson
from vlab.core.canonical import canonical_bytes
from vlab.core.errors import UsageError
from vlab.core.timestamps import utc_text
from vlab.core.vocabulary import PASS
from vlab.engine.ruling import Ruling, ruling_digest
from vlab.pack.signatures import (
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    Signer,
    envelope,
    open_envelope,
    statement,
    verifying_key,
)

VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
RULING_PREDICATE = "urn:vlab:attestation:ruling:v1"
VERIFIER_ID = "urn:vlab:verifier"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_SIGNATURES = 16  # per envelope, as the pack gate bounds them
NO_PACK = "vlab-pack:unidentified"  # a ruling made before the pack digest was known
NO_RULESET = "vlab-ruleset:unidentified"  # a ruling made before the ruleset was known


def _subject(ruling_doc: dict[str, Any]) -> dict[str, str]:
    """The pack the ruling is about (its digest), or the ruling itself when it names none."""
    digest = ruling_doc["pack"]["digest"]
    if isinstance(digest, str) and digest.startswith("sha256:"):
        return {f"vlab-pack:{digest}": digest[len("sha256:") :]}
    own = str(ruling_doc["digest"])
    return {f"vlab-ruling:{own}": own[len("sha256:") :]}


def resource_uri(ruling_doc: dict[str, Any]) -> str:
    digest = ruling_doc["pack"]["digest"]
    return f"vlab-pack:{digest}" if isinstance(digest, str) else NO_PACK


def verified_levels(ruling_doc: dict[str, Any]) -> list[str]:
    """``VLAB_<TOPLINE>``, ``VLAB_AUTHENTICITY_<STATUS>`` when that gate ran (decision 209),
    then ``VLAB_<CLAUSE>_<STATUS>`` per clause in ruling order."""
    levels = [f"VLAB_{ruling_doc['topline']}"]
    for gate in ruling_doc["admission"]["gates"]:
        if gate["gate"] == "ADM-GATE-AUTHENTICITY":
            levels.append(f"VLAB_AUTHENTICITY_{gate['status']}")
    levels += [f"VLAB_{c['clause_id']}_{c['status']}" for c in ruling_doc["clauses"]]
    return levels


def vsa_predicate(ruling_doc: dict[str, Any], time_verified: str) -> dict[str, Any]:
    ruleset = ruling_doc["ruleset"]
    rid, version = ruleset.get("id"), ruleset.get("version")
    if isinstance(rid, str) and isinstance(version, str):
        uri = f"vlab-ruleset:{rid}@{version}"
    else:  # refused before PIN knew the ruleset: a placeholder, never Python's None
        uri = NO_RULESET
    policy: dict[str, Any] = {"uri": uri}
    if isinstance(ruleset.get("sha256"), str):
        policy["digest"] = {"sha256": ruleset["sha256"].removeprefix("sha256:")}
    return {
        "verifier": {"id": VERIFIER_ID, "version": {"vlab": __version__}},
        "timeVerified": time_verified,
        "resourceUri": resource_uri(ruling_doc),
        "policy": policy,
        "verificationResult": "PASSED" if ruling_doc["topline"] == PASS else "FAILED",
        "verifiedLevels": verified_levels(ruling_doc),
    }


def attestation_bundle(ruling: Ruling, signer: Signer, time_verified: str) -> bytes:
    """Two DSSE envelopes, one a line: the VSA, then the ruling Statement."""
    when = utc_text(time_verified)
    if when is None:
        raise UsageError(f"timeVerified is not an RFC 3339 date-time: {time_verified!r}")
    doc = ruling.to_json()
    subject = _subject(doc)
    vsa = statement(subject, VSA_PREDICATE, vsa_predicate(doc, when))
    ruled = statement(subject, RULING_PREDICATE, doc)
    return b"".join(
        canonical_bytes(envelope(canonical_bytes(s), [signer])) + b"\n" for s in (vsa, ruled)
    )


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    ruling: dict[str, Any]
    vsa: dict[str, Any]


class NotVerified(Exception):
    """The bundle does not verify: one line why (exit 1)."""


def _statement(line: bytes, number: int, keys: dict[str, Any]) -> dict[str, Any]:
    try:
        doc = strictjson.loads(line)
    except strictjson.StrictJSONError as exc:
        raise NotVerified(f"line {number}: not a DSSE envelope ({exc})") from None
    opened = open_envelope(doc)
    if isinstance(opened, str):
        raise NotVerified(f"line {number}: malformed envelope: {opened}")
    if opened.payload_type != PAYLOAD_TYPE:
        raise NotVerified(f"line {number}: payloadType is not {PAYLOAD_TYPE}")
    if len(opened.signatures) > MAX_SIGNATURES:
        raise NotVerified(f"line {number}: more than {MAX_SIGNATURES} signatures")
    if not any(verifying_key(opened, sig, keys) for _, sig in opened.signatures):
        raise NotVerified(f"line {number}: no signature verifies with the key")
    try:
        payload = strictjson.loads(opened.payload)
    except strictjson.StrictJSONError as exc:
        raise NotVerified(f"line {number}: the payload is not JSON ({exc})") from None
    if not isinstance(payload, dict) or payload.get("_type") != STATEMENT_TYPE:
        raise NotVerified(f"line {number}: the payload is not an in-toto Statement v1")
    return payload


def _check_vsa(vsa: Any) -> str | None:
    """Why a VSA predicate lacks or misspells a required field (None: well-formed)."""
    if not isinstance(vsa, dict):
        return "the VSA predicate is not an object"
    verifier = vsa.get("verifier")
    if not isinstance(verifier, dict) or verifier.get("id") != VERIFIER_ID:
        return f"verifier.id is not {VERIFIER_ID}"
    when = vsa.get("timeVerified")
    if not isinstance(when, str) or utc_text(when) != when:
        return "timeVerified is not an RFC 3339 UTC date-time ending in Z"
    if not isinstance(vsa.get("resourceUri"), str) or not vsa["resourceUri"]:
        return "resourceUri is missing"
    policy = vsa.get("policy")
    if not isinstance(policy, dict) or not isinstance(policy.get("uri"), str):
        return "policy.uri is missing"
    if vsa.get("verificationResult") not in ("PASSED", "FAILED"):
        return "verificationResult is not PASSED or FAILED"
    levels = vsa.get("verifiedLevels")
    if not isinstance(levels, list) or not all(isinstance(x, str) for x in levels):
        return "verifiedLevels is not a list of strings"
    return None


def verify_bundle(path: Path, public_key: Any) -> Verified:
    """The verified ruling and VSA of a bundle, or ``NotVerified`` saying why."""
    from vlab.core.inputs import read_input
    from vlab.pack.signatures import key_id

    data = read_input(path, what="attestation bundle")
    if len(data) > MAX_BUNDLE_BYTES:
        raise NotVerified(f"larger than {MAX_BUNDLE_BYTES} bytes")
    lines = [x for x in data.split(b"\n") if x.strip()]
    if len(lines) != 2:
        raise NotVerified(f"expected 2 envelopes (JSON Lines), found {len(lines)}")
    keys = {key_id(public_key): public_key}
    vsa_st, ruling_st = (_statement(line, i, keys) for i, line in enumerate(lines, start=1))
    if vsa_st.get("predicateType") != VSA_PREDICATE:
        raise NotVerified(f"line 1: predicateType is not {VSA_PREDICATE}")
    if ruling_st.get("predicateType") != RULING_PREDICATE:
        raise NotVerified(f"line 2: predicateType is not {RULING_PREDICATE}")
    vsa, ruling = vsa_st.get("predicate"), ruling_st.get("predicate")
    problem = _check_vsa(vsa)
    if problem is not None:
        raise NotVerified(f"line 1: {problem}")
    assert isinstance(vsa, dict)
    _check_ruling(ruling)
    assert isinstance(ruling, dict)
    expected = vsa_predicate(ruling, vsa["timeVerified"])
    for field in ("resourceUri", "policy", "verificationResult", "verifiedLevels"):
        if vsa[field] != expected[field]:
            raise NotVerified(f"the VSA's {field} does not match the ruling")
    subject = [{"name": n, "digest": {"sha256": h}} for n, h in _subject(ruling).items()]
    if vsa_st.get("subject") != subject or ruling_st.get("subject") != subject:
        raise NotVerified("a Statement's subject is not the ruling's pack")
    return Verified(ruling, vsa)


def _check_ruling(ruling: Any) -> None:
    from vlab.core.schemas import validator
    from vlab.data import DATA

    schema = json.loads((DATA / "ruling.schema.json").read_text("utf-8"))
    errors = list(validator(schema).iter_errors(ruling))
    if errors:
        raise NotVerified(f"line 2: the predicate is not a ruling ({errors[0].message[:160]})")
    assert isinstance(ruling, dict)
    if ruling_digest(ruling) != ruling["digest"]:
        raise NotVerified("line 2: the ruling does not match its own digest")
