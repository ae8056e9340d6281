"""Signed packs, the trust policy, ADM-GATE-AUTHENTICITY and signed rulings (trust.md).

The tamper matrix lives in the golden vectors (evidence_packs/trust/, made by
scripts/vectors/cases_trust.py); here: what a vector cannot hold (an empty folder, keys
on the fly), interoperability both ways, the attestation bundle, and the F-list of the
lost first attempt (F1-F11)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vlab.core.canonical import canonical_bytes
from vlab.engine.pipeline import adjudicate, judge, opened_pack
from vlab.engine.ruling import ruling_json
from vlab.pack.signatures import (
    PAYLOAD_TYPE,
    SIGNATURES_DIR,
    envelope,
    envelope_bytes,
    key_signer,
    pack_statement,
    sign_pack,
)
from vlab.pack.trust import TrustPolicy, load_policy
from vlab.ruleset.catalog import Catalog

REPO = Path(__file__).resolve().parent.parent
KEYS = REPO / "fixtures" / "keys"
A_KEY, A_PUB = KEYS / "TEST-ONLY-signer-a.key", KEYS / "TEST-ONLY-signer-a.pub"
U_KEY = KEYS / "TEST-ONLY-untrusted.key"
UNSIGNED = REPO / "evidence_packs" / "d1-01" / "pass-event-id" / "pack"
SIGNED_VECTOR = REPO / "evidence_packs" / "trust" / "pass-signed"


def _kid(pub: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pub.read_bytes())
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    out = tmp_path / "pack"
    shutil.copytree(UNSIGNED, out)
    return out


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "trust.yaml"
    path.write_text(f"keys:\n  - name: a\n    public_key: {A_PUB}\n", "utf-8")
    return path


def _gate(ruling: Any) -> dict[str, Any]:
    doc = ruling.to_json()
    return next(g for g in doc["admission"]["gates"] if g["gate"] == "ADM-GATE-AUTHENTICITY")


def _codes(ruling: Any) -> list[str]:
    return [d["code"] for d in _gate(ruling)["details"]]


# --- signing and the gate -------------------------------------------------------------


def test_signed_pack_without_trust_is_byte_identical(
    pack: Path, catalog: Catalog, tmp_path: Path
) -> None:
    before = ruling_json(adjudicate(pack, catalog))
    sign_pack(pack, key_signer(A_KEY))
    assert (pack / SIGNATURES_DIR / f"{_kid(A_PUB)}.dsse.json").is_file()
    assert ruling_json(adjudicate(pack, catalog)) == before
    assert "signatures" not in (pack / "integrity/sha256sums.txt").read_text("utf-8")


def test_signed_vector_without_trust_has_no_gate_and_no_trust(catalog: Catalog) -> None:
    doc = adjudicate(SIGNED_VECTOR / "pack", catalog).to_json()
    assert "trust" not in doc
    assert "ADM-GATE-AUTHENTICITY" not in [g["gate"] for g in doc["admission"]["gates"]]


def test_trust_member_and_gate_order(pack: Path, policy: Path, catalog: Catalog) -> None:
    sign_pack(pack, key_signer(A_KEY))
    trust = load_policy(policy)
    ruling = adjudicate(pack, catalog, trust=trust)
    doc = ruling.to_json()
    assert doc["topline"] == "PASS"
    assert [g["gate"] for g in doc["admission"]["gates"]] == [
        "ADM-GATE-SECURITY",
        "ADM-GATE-PIN",
        "ADM-GATE-INTEGRITY",
        "ADM-GATE-AUTHENTICITY",
        "ADM-GATE-CONTRACT",
    ]
    assert doc["trust"] == {"policy_sha256": trust.sha256, "signers": [_kid(A_PUB)]}


def test_empty_signatures_folder_is_missing(pack: Path, policy: Path, catalog: Catalog) -> None:
    (pack / SIGNATURES_DIR).mkdir(parents=True)
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert ruling.topline == "NOT_ADMISSIBLE"
    assert ruling.admission.reason_code == "ADM-GATE-AUTHENTICITY-FAIL"
    assert _codes(ruling) == ["AUTH-SIGNATURE-MISSING"]


def test_signature_symlink_is_still_refused_without_trust(pack: Path, catalog: Catalog) -> None:
    (pack / SIGNATURES_DIR).mkdir(parents=True)
    (pack / SIGNATURES_DIR / "x.dsse.json").symlink_to("/etc/hostname")
    assert adjudicate(pack, catalog).admission.reason_code == "ADM-GATE-SECURITY-FAIL"


def test_requires_signature_without_trust(pack: Path, catalog: Catalog) -> None:
    pinned = catalog.get("ruleset-1.1")
    assert pinned is not None
    strict = replace(pinned, requires_signature=True)

    class OneRuleset(Catalog):
        def get(self, ruleset_id: str) -> Any:
            return strict if ruleset_id == "ruleset-1.1" else None

    sign_pack(pack, key_signer(A_KEY))  # signed, but no key is trusted
    with opened_pack(pack) as reader:
        ruling = judge(reader, OneRuleset()).ruling
    assert ruling.topline == "NOT_ADMISSIBLE"
    assert _codes(ruling) == ["AUTH-KEY-UNTRUSTED", "AUTH-SIGNATURE-MISSING"]
    assert ruling.trust is not None and ruling.trust["signers"] == []


def test_requires_signature_in_a_ruleset_file_loads(tmp_path: Path, catalog: Catalog) -> None:
    from vlab.ruleset.loader import load_ruleset

    src = REPO / "rulesets" / "ruleset-1.1"
    dst = tmp_path / "strict"
    shutil.copytree(src, dst)
    text = (dst / "ruleset.yaml").read_text("utf-8")
    (dst / "ruleset.yaml").write_text(
        text.replace("id: ruleset-1.1", "id: strict-1.1", 1) + "requires_signature: true\n",
        "utf-8",
    )
    parent = catalog.parent_document
    assert load_ruleset(dst / "ruleset.yaml", parent).requires_signature is True
    assert load_ruleset(src / "ruleset.yaml", parent).requires_signature is False


# --- base64 (F3), bad + good signature (F4), pack_digest (F5) ------------------------------


def _rewrite(pack: Path, edit: Any) -> None:
    path = pack / SIGNATURES_DIR / f"{_kid(A_PUB)}.dsse.json"
    path.write_bytes(envelope_bytes(edit(json.loads(path.read_bytes()))))


@pytest.mark.parametrize("member", ["payload", "sig"])
def test_f3_unpadded_base64_is_refused_for_payload_and_sig(
    pack: Path, policy: Path, catalog: Catalog, member: str
) -> None:
    sign_pack(pack, key_signer(A_KEY))

    def unpad(doc: dict[str, Any]) -> dict[str, Any]:
        holder = doc if member == "payload" else doc["signatures"][0]
        assert holder[member].endswith("=")
        holder[member] = holder[member].rstrip("=")
        return doc

    _rewrite(pack, unpad)
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert ruling.topline == "NOT_ADMISSIBLE"
    assert _codes(ruling)[0] == "AUTH-SIGNATURE-INVALID"


def test_f4_bad_and_good_signature_counts_the_good_one(
    pack: Path, policy: Path, catalog: Catalog
) -> None:
    sign_pack(pack, key_signer(A_KEY))

    def add_bad(doc: dict[str, Any]) -> dict[str, Any]:
        good = doc["signatures"][0]
        doc["signatures"] = [
            {"keyid": good["keyid"], "sig": base64.b64encode(b"x" * 64).decode()},
            good,
        ]
        return doc

    _rewrite(pack, add_bad)
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert ruling.topline == "PASS"
    gate = _gate(ruling)
    assert [(d["code"], d["advisory"]) for d in gate["details"]] == [
        ("AUTH-SIGNATURE-INVALID", True)
    ]


def test_f5_missing_pack_digest_is_refused(pack: Path, policy: Path, catalog: Catalog) -> None:
    from vlab.pack.sums import SUMS_PATH, parse_sums

    sign_pack(pack, key_signer(A_KEY))
    entries, _ = parse_sums((pack / SUMS_PATH).read_bytes())
    statement = pack_statement({e.path: e.hexdigest for e in entries}, "x", "r", "a")
    del statement["predicate"]["pack_digest"]
    doc = envelope(canonical_bytes(statement), [key_signer(A_KEY)])
    _rewrite(pack, lambda _: doc)
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert ruling.topline == "NOT_ADMISSIBLE"
    assert _codes(ruling) == ["AUTH-SIGNATURE-INVALID", "AUTH-SIGNATURE-MISSING"]


# --- the policy (F9, F11) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "keys:\n  - {name: a, public_key: PUB}\n  - {name: a, public_key: OTHER}\n",
        "keys:\n  - {name: a, public_key: PUB}\n  - {name: b, public_key: PUB}\n",
        "keys:\n  - {name: a, public_key: PUB}\nrequire: 2\n",
        "keys: []\n",
        "keys:\n  - {name: a, public_key: PUB}\nrequire: 0\n",
        "keys:\n  - {name: a, public_key: PRIV}\n",
        "- not a mapping\n",
    ],
)
def test_f9_bad_policies_are_usage_errors(tmp_path: Path, body: str) -> None:
    from vlab.core.errors import UsageError

    path = tmp_path / "p.yaml"
    text = body.replace("PUB", str(A_PUB)).replace("OTHER", str(KEYS / "TEST-ONLY-signer-b.pub"))
    path.write_text(text.replace("PRIV", str(A_KEY)), "utf-8")
    with pytest.raises(UsageError):
        load_policy(path)


def test_f11_policy_sha256_is_the_canonical_keys_and_require(tmp_path: Path) -> None:
    inline = tmp_path / "inline.yaml"
    pem = A_PUB.read_text("ascii").strip().replace("\n", "\n      ")
    inline.write_text(f"keys:\n  - name: a\n    public_key: |\n      {pem}\nrequire: 1\n", "utf-8")
    by_path = tmp_path / "path.yaml"
    by_path.write_text(f"keys: [{{name: a, public_key: '{A_PUB}'}}]\n", "utf-8")
    expected = canonical_bytes({"keys": [{"name": "a", "keyid": _kid(A_PUB)}], "require": 1})
    want = "sha256:" + hashlib.sha256(expected).hexdigest()
    assert load_policy(inline).sha256 == load_policy(by_path).sha256 == want


# --- interoperability -----------------------------------------------------------------------


def test_vlab_envelope_verifies_with_securesystemslib_and_in_toto(pack: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from in_toto_attestation.v1.statement import Statement
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    written = sign_pack(pack, key_signer(A_KEY))
    env = Envelope.from_dict(json.loads(written.read_bytes()))
    key = SSlibKey.from_crypto(
        serialization.load_pem_public_key(A_PUB.read_bytes()), keyid=_kid(A_PUB)
    )
    assert set(env.verify([key], 1)) == {_kid(A_PUB)}
    assert env.payload_type == PAYLOAD_TYPE
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2

    pb = json_format.Parse(env.payload, statement_pb2.Statement())
    Statement.copy_from_pb(pb).validate()  # a well-formed in-toto Statement v1
    assert pb.type == "https://in-toto.io/Statement/v1"


def _install(pack: Path, doc: dict[str, Any], name: str = "other.dsse.json") -> None:
    folder = pack / SIGNATURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(doc), "utf-8")


def _statement_bytes(pack: Path) -> bytes:
    from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums

    entries, _ = parse_sums((pack / SUMS_PATH).read_bytes())
    hashes = {e.path: e.hexdigest for e in entries}
    return json.dumps(pack_statement(hashes, pack_digest(hashes), "run", "other")).encode()


def test_securesystemslib_envelope_verifies_with_vlab(
    pack: Path, policy: Path, catalog: Catalog
) -> None:
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    private = serialization.load_pem_private_key(A_KEY.read_bytes(), password=None)
    signer = CryptoSigner(private)  # its own key id (not vlab's): only a hint
    env = Envelope(_statement_bytes(pack), PAYLOAD_TYPE, {})
    env.sign(signer)
    _install(pack, env.to_dict())
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert ruling.topline == "PASS", _gate(ruling)
    assert ruling.trust == {"policy_sha256": load_policy(policy).sha256, "signers": [_kid(A_PUB)]}


def test_independent_signer_verifies_with_vlab(pack: Path, policy: Path, catalog: Catalog) -> None:
    """PAE built by hand from the DSSE spec and signed with ``cryptography`` directly."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(A_KEY.read_bytes(), password=None)
    payload = _statement_bytes(pack)
    ptype = PAYLOAD_TYPE.encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    sig = private.sign(pae)  # type: ignore[call-arg, union-attr]
    doc = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"sig": base64.b64encode(sig).decode()}],  # no keyid at all
    }
    _install(pack, doc)
    assert adjudicate(pack, catalog, trust=load_policy(policy)).topline == "PASS"


def test_untrusted_key_envelope_by_other_tool(pack: Path, policy: Path, catalog: Catalog) -> None:
    sign_pack(pack, key_signer(U_KEY))
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert _codes(ruling) == ["AUTH-KEY-UNTRUSTED", "AUTH-SIGNATURE-MISSING"]


# --- keys and the CLI -----------------------------------------------------------------------


def test_keys_generate_and_id(tmp_path: Path, vlab_in_process: Any) -> None:
    code, out, _ = vlab_in_process("keys", "generate", "--out", tmp_path / "k")
    assert code == 0
    kid = out.decode().strip()
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert kid == _kid(tmp_path / "k.pub")
    for f in ("k.key", "k.pub"):
        assert vlab_in_process("keys", "id", tmp_path / f)[1].decode().strip() == kid
    assert vlab_in_process("keys", "generate", "--out", tmp_path / "k")[0] == 64  # no overwrite


def test_passphrase_protected_key(
    tmp_path: Path, vlab_in_process: Any, monkeypatch: pytest.MonkeyPatch, pack: Path
) -> None:
    monkeypatch.setenv("VLAB_KEY_PASSPHRASE", "s3cret")
    assert vlab_in_process("keys", "generate", "--out", tmp_path / "k")[0] == 0
    assert b"ENCRYPTED" in (tmp_path / "k.key").read_bytes()
    assert vlab_in_process("pack", "sign", pack, "--key", tmp_path / "k.key")[0] == 0
    monkeypatch.delenv("VLAB_KEY_PASSPHRASE")
    code, _, err = vlab_in_process("pack", "sign", pack, "--key", tmp_path / "k.key")
    assert code == 64 and "VLAB_KEY_PASSPHRASE" in err


def test_cli_seal_sign_and_trust(
    pack: Path, policy: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    shutil.rmtree(pack / "integrity")
    assert vlab_in_process("pack", "seal", pack, "--sign", A_KEY)[0] == 0
    code, out, _ = vlab_in_process("adjudicate", pack, "--trust", policy, "--format", "json")
    assert code == 0 and json.loads(out)["trust"]["signers"] == [_kid(A_PUB)]
    code, out, _ = vlab_in_process("validate", pack, "--trust", policy, "--format", "json")
    assert code == 0 and "ADM-GATE-AUTHENTICITY" in out.decode()
    (pack / "trace" / "events.ndjson").write_bytes(b"{}\n")
    assert vlab_in_process("pack", "seal", pack)[0] == 0
    assert vlab_in_process("adjudicate", pack, "--trust", policy, "-q")[0] == 2


def test_without_trust_extra_is_a_usage_error(
    pack: Path, policy: Path, vlab_in_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vlab.pack.signatures.trust_available", lambda: False)
    for args in (
        ("adjudicate", pack, "--trust", policy),
        ("validate", pack, "--trust", policy),
        ("pack", "sign", pack, "--key", A_KEY),
        ("keys", "id", A_PUB),
        ("attestation", "verify", policy, "--key", A_PUB),
    ):
        code, _, err = vlab_in_process(*args)
        assert code == 64, args
        assert "pip install 'vlab[trust]'" in err and len(err.strip().splitlines()) == 1


# --- signed rulings ---------------------------------------------------------------------------


def _bundle(
    pack: Path, vlab_in_process: Any, tmp_path: Path, *extra: Any
) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path / "b.jsonl"
    code, _, err = vlab_in_process(
        "adjudicate", pack, "-q", "--attest", out, "--sign", A_KEY, *extra
    )
    assert code in (0, 2), err
    lines = out.read_bytes().splitlines()
    return out, [json.loads(base64.b64decode(json.loads(x)["payload"])) for x in lines]


def test_attestation_bundle_and_verify(
    pack: Path, policy: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    sign_pack(pack, key_signer(A_KEY))
    out, (vsa, ruled) = _bundle(
        pack, vlab_in_process, tmp_path, "--trust", policy, "--as-of", "2026-03-01T12:00:00+02:00"
    )
    assert vsa["predicateType"] == "https://slsa.dev/verification_summary/v1"
    p = vsa["predicate"]
    assert p["timeVerified"] == "2026-03-01T10:00:00Z"  # F1: UTC with Z
    assert p["verificationResult"] == "PASSED"
    assert p["verifier"] == {
        "id": "urn:vlab:verifier",
        "version": {"vlab": p["verifier"]["version"]["vlab"]},
    }
    assert p["verifiedLevels"][:2] == ["VLAB_PASS", "VLAB_AUTHENTICITY_PASS"]  # F6
    ruling = ruled["predicate"]
    assert p["resourceUri"] == "vlab-pack:" + ruling["pack"]["digest"]
    assert ruled["predicateType"] == "urn:vlab:attestation:ruling:v1"
    assert vlab_in_process("attestation", "verify", out, "--key", A_PUB)[0] == 0
    code, _, err = vlab_in_process(
        "attestation", "verify", out, "--key", A_PUB, "--pack", pack, "--trust", policy
    )
    assert code == 0, err
    code, _, err = vlab_in_process(
        "attestation", "verify", out, "--key", KEYS / "TEST-ONLY-signer-b.pub"
    )
    assert code == 1 and err.startswith("not verified:")


def test_attestation_bundle_function_is_deterministic(catalog: Catalog, pack: Path) -> None:
    from vlab.tools.attest import attestation_bundle

    ruling = adjudicate(pack, catalog)
    signer = key_signer(A_KEY)
    one = attestation_bundle(ruling, signer, "2026-01-01T00:00:00Z")
    assert one == attestation_bundle(ruling, signer, "2026-01-01T01:00:00+01:00")
    assert one.count(b"\n") == 2


def _resign_line(path: Path, index: int, edit: Any) -> None:
    lines = path.read_bytes().splitlines()
    statement = json.loads(base64.b64decode(json.loads(lines[index])["payload"]))
    lines[index] = envelope_bytes(
        envelope(canonical_bytes(edit(statement)), [key_signer(A_KEY)])
    ).rstrip(b"\n")
    path.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: {**p, "timeVerified": "2026-03-01T12:00:00+02:00"},
        lambda p: {**p, "timeVerified": "yesterday"},
        lambda p: {k: v for k, v in p.items() if k != "timeVerified"},
        lambda p: {k: v for k, v in p.items() if k != "verifier"},
        lambda p: {**p, "verificationResult": "MAYBE"},
        lambda p: {**p, "verifiedLevels": "VLAB_PASS"},
        lambda p: {**p, "resourceUri": "vlab-pack:sha256:" + "0" * 64},
    ],
)
def test_f2_malformed_vsa_fields_are_refused(
    pack: Path, vlab_in_process: Any, tmp_path: Path, edit: Any
) -> None:
    out, _ = _bundle(pack, vlab_in_process, tmp_path)
    _resign_line(out, 0, lambda st: {**st, "predicate": edit(st["predicate"])})
    code, _, err = vlab_in_process("attestation", "verify", out, "--key", A_PUB)
    assert code == 1 and len(err.strip().splitlines()) == 1, err


def test_edited_ruling_in_bundle_is_refused(
    pack: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    out, _ = _bundle(pack, vlab_in_process, tmp_path)

    def flip(st: dict[str, Any]) -> dict[str, Any]:
        st["predicate"]["topline"] = "FAIL"
        return st

    _resign_line(out, 1, flip)
    code, _, err = vlab_in_process("attestation", "verify", out, "--key", A_PUB)
    assert code == 1 and "digest" in err


def test_f7_private_key_for_verify_is_usage_error(
    pack: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    out, _ = _bundle(pack, vlab_in_process, tmp_path)
    assert vlab_in_process("attestation", "verify", out, "--key", A_KEY)[0] == 64


def test_f8_ruling_without_pack_digest_claims_no_binding(
    pack: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    (pack / "integrity" / "sha256sums.txt").unlink()  # refused before the digest is known
    out, (vsa, ruled) = _bundle(pack, vlab_in_process, tmp_path)
    assert ruled["predicate"]["pack"]["digest"] is None
    assert vsa["predicate"]["resourceUri"] == "vlab-pack:unidentified"
    assert vlab_in_process("attestation", "verify", out, "--key", A_PUB)[0] == 0
    code, out_bytes, err = vlab_in_process(
        "attestation", "verify", out, "--key", A_PUB, "--pack", pack
    )
    assert code == 1 and "names no pack" in err and b"for pack" not in out_bytes


def test_f10_ruling_schema_is_closed_with_optional_trust() -> None:
    schema = json.loads((REPO / "src/vlab/data/ruling.schema.json").read_text("utf-8"))
    assert schema["additionalProperties"] is False
    assert "trust" in schema["properties"] and "trust" not in schema["required"]


def test_producer_signs_when_it_seals(tmp_path: Path, catalog: Catalog, policy: Path) -> None:
    from vlab.producer import PackWriter

    shutil.copytree(UNSIGNED, tmp_path / "p")
    shutil.rmtree(tmp_path / "p" / "integrity")
    writer = PackWriter(tmp_path / "p")
    writer.seal(sign_with=A_KEY)
    assert adjudicate(tmp_path / "p", catalog, trust=load_policy(policy)).topline == "PASS"


def test_empty_policy_sha256_is_stable() -> None:
    assert TrustPolicy(keys=()).sha256.startswith("sha256:")


def test_signature_work_is_bounded(pack: Path, policy: Path, catalog: Catalog) -> None:
    from vlab.engine.admission.authenticity import MAX_ENVELOPES, MAX_SIGNATURES

    written = sign_pack(pack, key_signer(A_KEY))
    doc = json.loads(written.read_bytes())
    doc["signatures"] = doc["signatures"] * (MAX_SIGNATURES + 1)
    written.write_bytes(envelope_bytes(doc))
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert _codes(ruling) == ["AUTH-SIGNATURE-INVALID", "AUTH-SIGNATURE-MISSING"]
    for i in range(MAX_ENVELOPES + 1):
        (written.parent / f"{i}.dsse.json").write_bytes(b"{}")
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert _codes(ruling) == ["AUTH-SIGNATURE-INVALID"]


def test_help_loads_no_crypto() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from vlab.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "roots = ('cryptography', 'securesystemslib')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in roots]\n"
        "assert not bad, bad"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_openssl_signed_envelope_verifies_with_vlab(
    pack: Path, policy: Path, catalog: Catalog, tmp_path: Path
) -> None:
    """A signer that shares no code with vlab: the PAE written by hand, signed by
    ``openssl pkeyutl -rawin`` (Ed25519)."""
    import subprocess

    payload = _statement_bytes(pack)
    ptype = PAYLOAD_TYPE.encode()
    (tmp_path / "pae.bin").write_bytes(
        b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    )
    proc = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-sign",
            "-rawin",
            "-inkey",
            str(A_KEY),
            "-in",
            str(tmp_path / "pae.bin"),
            "-out",
            str(tmp_path / "sig.bin"),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"openssl cannot sign Ed25519 raw input: {proc.stderr[:200]!r}")
    sig = (tmp_path / "sig.bin").read_bytes()
    _install(
        pack,
        {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        },
    )
    assert adjudicate(pack, catalog, trust=load_policy(policy)).topline == "PASS"


def test_keys_generate_into_missing_folder_is_usage_error(
    tmp_path: Path, vlab_in_process: Any
) -> None:
    code, _, err = vlab_in_process("keys", "generate", "--out", tmp_path / "no" / "k")
    assert code == 64 and "cannot write" in err


def test_attestation_envelopes_interoperate(catalog: Catalog, pack: Path, tmp_path: Path) -> None:
    """vlab's bundle verifies with securesystemslib and parses as in-toto Statements; a
    bundle whose envelopes securesystemslib signed verifies with vlab."""
    from cryptography.hazmat.primitives import serialization
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner, SSlibKey

    from vlab.pack.signatures import load_public_key_file
    from vlab.tools.attest import attestation_bundle, verify_bundle

    bundle = attestation_bundle(
        adjudicate(pack, catalog), key_signer(A_KEY), "2026-01-01T00:00:00Z"
    )
    key = SSlibKey.from_crypto(
        serialization.load_pem_public_key(A_PUB.read_bytes()), keyid=_kid(A_PUB)
    )
    ours = [Envelope.from_dict(json.loads(line)) for line in bundle.splitlines()]
    payloads = []
    for env in ours:
        env.verify([key], 1)
        pb = json_format.Parse(env.payload, statement_pb2.Statement())
        Statement.copy_from_pb(pb).validate()
        payloads.append(env.payload)
    signer = CryptoSigner(serialization.load_pem_private_key(A_KEY.read_bytes(), password=None))
    lines = []
    for payload in payloads:
        env = Envelope(payload, PAYLOAD_TYPE, {})
        env.sign(signer)
        lines.append(json.dumps(env.to_dict()))
    (tmp_path / "theirs.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    verified = verify_bundle(tmp_path / "theirs.jsonl", load_public_key_file(A_PUB))
    assert verified.vsa["timeVerified"] == "2026-01-01T00:00:00Z"


def test_reseal_warns_of_stale_signatures(pack: Path, vlab_in_process: Any) -> None:
    sign_pack(pack, key_signer(U_KEY))
    code, _, err = vlab_in_process("pack", "seal", pack, "--sign", A_KEY)
    assert code == 0 and "1 older signature file" in err


# --- the hidden tester's findings (issue 16 fixes, decisions 214-219) -----------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("x.dsse.json", b'{"a":1,"a":2}'),
        ("x.dsse.json", b"\xff\xfe not utf-8"),
        ("x.json", b""),
        ("x.ndjson", b'{"a":NaN}\n'),
    ],
)
def test_h2_malformed_signature_file_without_trust_is_ignored(
    pack: Path, catalog: Catalog, name: str, body: bytes
) -> None:
    before = ruling_json(adjudicate(pack, catalog))
    (pack / SIGNATURES_DIR).mkdir(parents=True)
    (pack / SIGNATURES_DIR / name).write_bytes(body)
    assert ruling_json(adjudicate(pack, catalog)) == before


def test_h5_unreadable_bundle_paths_are_usage_errors(tmp_path: Path, vlab_in_process: Any) -> None:
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bundle in (tmp_path, tmp_path / "missing.jsonl", fifo):
        code, _, err = vlab_in_process("attestation", "verify", bundle, "--key", A_PUB)
        assert code == 64, err
        assert "internal error" not in err


def test_h11_key_file_is_read_as_a_bounded_regular_file(tmp_path: Path) -> None:
    import os

    from vlab.core.errors import UsageError

    fifo = tmp_path / "fifo.pub"
    os.mkfifo(fifo)
    big = tmp_path / "big.pub"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    for key in (Path("/dev/zero"), fifo, big, tmp_path):
        path = tmp_path / "p.yaml"
        path.write_text(f"keys:\n  - name: a\n    public_key: {key}\n", "utf-8")
        with pytest.raises(UsageError):
            load_policy(path)


def test_h1_pack_signature_names_the_run(pack: Path) -> None:
    run_id = json.loads((pack / "bundle.manifest.json").read_bytes())["run_id"]
    assert isinstance(run_id, str)
    target = sign_pack(pack, key_signer(A_KEY))
    payload = json.loads(base64.b64decode(json.loads(target.read_bytes())["payload"]))
    assert payload["predicate"]["run_id"] == run_id


def test_h6_vsa_of_a_ruling_with_no_ruleset_says_unidentified(
    pack: Path, vlab_in_process: Any, tmp_path: Path
) -> None:
    (pack / "link").symlink_to("manifest.json")  # refused at SECURITY: no ruleset known
    out, (vsa, ruling) = _bundle(pack, vlab_in_process, tmp_path)
    assert ruling["predicate"]["ruleset"]["id"] is None
    assert vsa["predicate"]["policy"] == {"uri": "vlab-ruleset:unidentified"}
    assert vlab_in_process("attestation", "verify", out, "--key", A_PUB)[0] == 0


@pytest.mark.parametrize("member", ["payload", "sig"])
def test_h3_urlsafe_base64_is_accepted_mixed_alphabets_are_not(
    pack: Path, policy: Path, catalog: Catalog, member: str
) -> None:
    from vlab.pack.signatures import b64decode

    assert b64decode("-_-_") == b64decode("+/+/") is not None
    assert b64decode("+_+_") is None and b64decode("-_-") is None
    sign_pack(pack, key_signer(A_KEY))

    def urlsafe(doc: dict[str, Any]) -> dict[str, Any]:
        holder = doc if member == "payload" else doc["signatures"][0]
        holder[member] = base64.urlsafe_b64encode(base64.b64decode(holder[member])).decode()
        return doc

    _rewrite(pack, urlsafe)
    assert adjudicate(pack, catalog, trust=load_policy(policy)).topline == "PASS"


def test_h4_unknown_members_are_ignored_required_ones_are_not(
    pack: Path, policy: Path, catalog: Catalog
) -> None:
    sign_pack(pack, key_signer(A_KEY))

    def extra(doc: dict[str, Any]) -> dict[str, Any]:
        doc["note"] = {"any": "thing"}
        doc["signatures"][0]["cert"] = None
        return doc

    _rewrite(pack, extra)
    assert adjudicate(pack, catalog, trust=load_policy(policy)).topline == "PASS"

    def no_sig(doc: dict[str, Any]) -> dict[str, Any]:
        doc["signatures"][0]["signature"] = doc["signatures"][0].pop("sig")
        return doc

    _rewrite(pack, no_sig)
    ruling = adjudicate(pack, catalog, trust=load_policy(policy))
    assert _codes(ruling) == ["AUTH-SIGNATURE-INVALID", "AUTH-SIGNATURE-MISSING"]
