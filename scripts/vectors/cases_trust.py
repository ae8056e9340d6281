"""Signed packs under a trust policy (trust.md §2): one vector per ADM-GATE-AUTHENTICITY
outcome, signed by the committed TEST-ONLY keys (fixtures/keys)."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.vectors.edits import all_of, write
from scripts.vectors.model import Case, Gate, PackEdit, test_key
from vlab.core.canonical import canonical_bytes
from vlab.pack.seal import seal
from vlab.pack.signatures import (
    SIGNATURES_DIR,
    envelope,
    envelope_bytes,
    file_key_id,
    key_signer,
    sign_pack,
)

AUTH = "ADM-GATE-AUTHENTICITY"
INTEGRITY = "ADM-GATE-INTEGRITY"
A, B, UNTRUSTED = "signer-a", "signer-b", "untrusted"


def _envelope_path(root: Path, name: str) -> Path:
    return root / SIGNATURES_DIR / f"{file_key_id(test_key(name))}.dsse.json"


def edit_envelope(name: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> PackEdit:
    """Rewrite the envelope ``name`` signed (its JSON document), without re-signing."""

    def run(root: Path) -> None:
        path = _envelope_path(root, name)
        path.write_bytes(envelope_bytes(edit(json.loads(path.read_bytes()))))

    return run


def resign(name: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> PackEdit:
    """Replace ``name``'s envelope with one whose Statement ``edit`` changed, validly
    signed by the same key: what a key holder who signs the wrong thing produces."""

    def run(root: Path) -> None:
        path = _envelope_path(root, name)
        doc = json.loads(path.read_bytes())
        statement = edit(json.loads(base64.b64decode(doc["payload"])))
        signer = key_signer(test_key(name))
        path.write_bytes(envelope_bytes(envelope(canonical_bytes(statement), [signer])))

    return run


def _flip_sig(doc: dict[str, Any]) -> dict[str, Any]:
    raw = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    raw[0] ^= 1
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode("ascii")
    return doc


def _add_bad_signature(doc: dict[str, Any]) -> dict[str, Any]:
    good = doc["signatures"][0]
    bad = _flip_sig({"signatures": [dict(good)]})["signatures"][0]
    doc["signatures"] = [{"keyid": good["keyid"], "sig": bad["sig"]}, good]
    return doc


def _payload_type(doc: dict[str, Any]) -> dict[str, Any]:
    doc["payloadType"] = "application/json"
    return doc


def _omit_subject(st: dict[str, Any]) -> dict[str, Any]:
    st["subject"] = [s for s in st["subject"] if s["name"] != "manifest.json"]
    return st


def _add_subject(st: dict[str, Any]) -> dict[str, Any]:
    st["subject"].append({"name": "trace/extra.txt", "digest": {"sha256": "0" * 64}})
    return st


def _drop_pack_digest(st: dict[str, Any]) -> dict[str, Any]:
    del st["predicate"]["pack_digest"]
    return st


def _wrong_pack_digest(st: dict[str, Any]) -> dict[str, Any]:
    st["predicate"]["pack_digest"] = "sha256:" + "0" * 64
    return st


def _duplicate(root: Path) -> None:
    src = _envelope_path(root, A)
    shutil.copyfile(src, src.parent / "copy.dsse.json")


def _tamper_and_reseal(root: Path) -> None:
    """Change evidence and re-seal: the sums are consistent again, the signature is not."""
    path = root / "trace/events.ndjson"
    path.write_bytes(path.read_bytes() + b"\n")
    seal(root)


def _add_file_and_reseal(root: Path) -> None:
    (root / "trace/extra.txt").write_bytes(b"added after signing\n")
    seal(root)


def _resign_by(name: str) -> PackEdit:
    def run(root: Path) -> None:
        sign_pack(root, key_signer(test_key(name)))

    return run


def trust_case(name: str, description: str, **fields: Any) -> Case:
    fields.setdefault("signers", [A])
    fields.setdefault("trusted", [A])
    return Case("trust", name, description, **fields)


def refused(*codes: str) -> Gate:
    return Gate(AUTH, list(codes))


MISSING, INVALID = "AUTH-SIGNATURE-MISSING", "AUTH-SIGNATURE-INVALID"
UNTRUSTED_KEY, MISMATCH = "AUTH-KEY-UNTRUSTED", "AUTH-SUBJECT-MISMATCH"

CASES: list[Case] = [
    trust_case("pass-signed", "signed by the one trusted key: AUTHENTICITY passes"),
    trust_case(
        "pass-two-trusted-keys-require-2",
        "require: 2 and both trusted keys signed",
        signers=[A, B],
        trusted=[A, B],
        require=2,
    ),
    trust_case(
        "pass-untrusted-signature-beside-trusted",
        "a trusted and an untrusted key signed: the untrusted one is reported and does not "
        "count (an advisory), the trusted one suffices",
        signers=[A, UNTRUSTED],
    ),
    trust_case(
        "pass-one-bad-one-good-signature",
        "an envelope with a bad and a good signature by the trusted key: the good one counts, "
        "the bad one is an advisory (decision 204)",
        after_seal=edit_envelope(A, _add_bad_signature),
    ),
    trust_case(
        "fail-unsigned",
        "no signature at all under a trust policy",
        signers=[],
        gate=refused(MISSING),
    ),
    trust_case(
        "fail-signature-removed",
        "the only envelope was deleted after signing",
        after_seal=lambda root: _envelope_path(root, A).unlink(),
        gate=refused(MISSING),
    ),
    trust_case(
        "fail-untrusted-key",
        "signed by a key the policy does not trust",
        signers=[UNTRUSTED],
        gate=refused(UNTRUSTED_KEY, MISSING),
    ),
    trust_case(
        "fail-require-2-one-signed",
        "require: 2 but only one trusted key signed",
        trusted=[A, B],
        require=2,
        gate=refused(MISSING),
    ),
    trust_case(
        "fail-signature-bytes-flipped",
        "one bit of the signature flipped",
        after_seal=edit_envelope(A, _flip_sig),
        gate=refused(INVALID, MISSING),
    ),
    trust_case(
        "fail-payload-type-changed",
        "the envelope's payloadType is not application/vnd.in-toto+json",
        after_seal=edit_envelope(A, _payload_type),
        gate=refused(INVALID, MISSING),
    ),
    trust_case(
        "fail-envelope-not-json",
        "the envelope file is not JSON",
        after_seal=lambda root: _envelope_path(root, A).write_bytes(b"not json\n"),
        gate=refused(INVALID, MISSING),
    ),
    trust_case(
        "fail-envelope-duplicated",
        "the envelope copied under a second name: one key signing twice is refused",
        after_seal=_duplicate,
        gate=refused(INVALID),
    ),
    trust_case(
        "fail-evidence-changed-resealed",
        "evidence changed after signing and the pack re-sealed: the sums agree, the signed "
        "subjects do not",
        after_seal=_tamper_and_reseal,
        gate=refused(MISMATCH, MISSING),
    ),
    trust_case(
        "fail-file-added-resealed",
        "a file added after signing and the pack re-sealed",
        after_seal=_add_file_and_reseal,
        gate=refused(MISMATCH, MISSING),
    ),
    trust_case(
        "fail-evidence-changed",
        "evidence changed after signing, sums untouched: INTEGRITY refuses first",
        after_seal=write("trace/events.ndjson", b"{}\n"),
        gate=Gate(INTEGRITY, ["INTEGRITY-HASH-MISMATCH"]),
    ),
    trust_case(
        "fail-subject-omitted",
        "the trusted key signed a Statement that omits manifest.json",
        after_seal=resign(A, _omit_subject),
        gate=refused(MISMATCH, MISSING),
    ),
    trust_case(
        "fail-subject-added",
        "the trusted key signed a Statement listing a file the pack lacks",
        after_seal=resign(A, _add_subject),
        gate=refused(MISMATCH, MISSING),
    ),
    trust_case(
        "fail-pack-digest-missing",
        "the signed predicate has no pack_digest (refused as a wrong one is)",
        after_seal=resign(A, _drop_pack_digest),
        gate=refused(INVALID, MISSING),
    ),
    trust_case(
        "fail-pack-digest-wrong",
        "the signed predicate's pack_digest is not this pack's",
        after_seal=resign(A, _wrong_pack_digest),
        gate=refused(MISMATCH, MISSING),
    ),
    trust_case(
        "fail-signed-by-other-then-removed",
        "a trusted key's envelope replaced by an untrusted key's",
        after_seal=all_of(lambda root: _envelope_path(root, A).unlink(), _resign_by(UNTRUSTED)),
        gate=refused(UNTRUSTED_KEY, MISSING),
    ),
]
