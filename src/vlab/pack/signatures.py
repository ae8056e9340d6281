"""Keys, DSSE envelopes and in-toto Statements (trust.md): the one place vlab touches
cryptography. Low in the stack (``pack``) so the producer library can sign when it seals.

``cryptography`` and ``securesystemslib`` (the ``trust`` extra) are imported lazily, only
when a key or an envelope is handled: ``trust_available()`` lets the CLI say what to
install. The PAE comes from securesystemslib's DSSE ``Envelope``; signing and verifying are
``cryptography``'s Ed25519. Base64 is strict, padded, standard or URL-safe base64, for
payloads and signatures alike (decision 215, superseding 203); vlab writes standard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vlab.core.canonical import canonical_bytes
from vlab.core.errors import UsageError

SIGNATURES_DIR = "integrity/signatures/"
ENVELOPE_SUFFIX = ".dsse.json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PACK_PREDICATE = "urn:vlab:attestation:pack:v1"
PASSPHRASE_ENV = "VLAB_KEY_PASSPHRASE"
TRUST_EXTRA = "the trust extra is not installed: pip install 'vlab[trust]'"


def trust_available() -> bool:
    return all(
        importlib.util.find_spec(m) is not None for m in ("cryptography", "securesystemslib")
    )


def require_trust() -> None:
    if not trust_available():
        raise UsageError(TRUST_EXTRA)


def is_signature_path(path: str) -> bool:
    """Files under integrity/signatures/ sign the sums; the sums never list them."""
    return path.startswith(SIGNATURES_DIR)


# --- base64, one rule for payloads and signatures -------------------------------------


def b64encode(data: bytes) -> str:
    return base64.standard_b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Strict base64 with padding, in the standard or the URL-safe alphabet (DSSE allows
    either, decision 215), or None: no mixed alphabets, no missing padding, no whitespace,
    nothing that does not re-encode to exactly the text given."""
    urlsafe = "-" in text or "_" in text
    if urlsafe and ("+" in text or "/" in text):
        return None
    standard = text.replace("-", "+").replace("_", "/") if urlsafe else text
    try:
        data = base64.b64decode(standard.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return data if b64encode(data) == standard else None


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding, as securesystemslib defines it."""
    from securesystemslib.dsse import Envelope

    return Envelope(payload, payload_type, {}).pae()


# --- keys -----------------------------------------------------------------------------


def _passphrase(prompt: bool) -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value.encode("utf-8")
    if prompt and os.isatty(0):
        import getpass

        return getpass.getpass("key passphrase: ").encode("utf-8") or None
    return None


def public_der(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def key_id(public_key: Any) -> str:
    """sha256 hex of the public key's DER SubjectPublicKeyInfo (trust.md §1)."""
    return hashlib.sha256(public_der(public_key)).hexdigest()


def public_pem(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def generate_keys(out: Path) -> str:
    """Write ``OUT.key`` (PKCS#8 PEM, mode 0600, encrypted when VLAB_KEY_PASSPHRASE is
    set) and ``OUT.pub``; returns the key id."""
    require_trust()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    secret = _passphrase(prompt=False)
    encryption: Any = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    priv_path, pub_path = Path(f"{out}.key"), Path(f"{out}.pub")
    for p in (priv_path, pub_path):
        if p.exists() or p.is_symlink():
            raise UsageError(f"refusing to overwrite {p}")
    try:
        fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private)
        pub_path.write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise UsageError(f"cannot write the key pair {out}: {exc.strerror or exc}") from None
    return key_id(key.public_key())


MAX_KEY_BYTES = 64 * 1024


def _read_key_file(path: Path) -> bytes:
    """A key file's bytes: a regular file of at most 64 KiB, read with that cap (a
    ``/dev/zero`` or a FIFO named as a key is a usage error, never an endless read)."""
    from vlab.core.inputs import read_input

    return read_input(path, what="key file", limit=MAX_KEY_BYTES)


def load_public_key(data: bytes, where: str) -> Any:
    """An Ed25519 public key from PEM SubjectPublicKeyInfo; a private key is refused."""
    require_trust()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if b"PRIVATE KEY" in data:
        raise UsageError(f"{where}: a private key where a public key is expected")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise UsageError(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{where}: not an Ed25519 key")
    return key


def load_public_key_file(path: Path) -> Any:
    return load_public_key(_read_key_file(path), str(path))


def load_private_key_file(path: Path) -> Any:
    require_trust()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_key_file(path)
    if b"PRIVATE KEY" not in data:
        raise UsageError(f"{path}: not a PEM private key")
    encrypted = b"ENCRYPTED PRIVATE KEY" in data
    secret = _passphrase(prompt=encrypted) if encrypted else None
    if encrypted and secret is None:
        raise UsageError(f"{path}: the key is encrypted: set {PASSPHRASE_ENV}")
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise UsageError(f"{path}: cannot load the private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path}: not an Ed25519 key")
    return key


def file_key_id(path: Path) -> str:
    """The key id of a public or private key file."""
    data = _read_key_file(path)
    if b"PRIVATE KEY" in data:
        return key_id(load_private_key_file(path).public_key())
    return key_id(load_public_key(data, str(path)))


# --- the signer interface -------------------------------------------------------------


class Signer(Protocol):
    """What signs: a key id and ``sign(message) -> signature bytes``. A keyless
    (Sigstore) signer would be one more implementation (governance/architecture.md)."""

    @property
    def keyid(self) -> str: ...

    @property
    def name(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """An Ed25519 private key on disk."""

    private_key: Any
    name: str

    @property
    def keyid(self) -> str:
        return key_id(self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        return bytes(self.private_key.sign(message))


def key_signer(path: Path, name: str | None = None) -> KeySigner:
    stem = path.name[: -len(".key")] if path.name.endswith(".key") else path.stem
    return KeySigner(load_private_key_file(path), name or stem)


def signer_of(value: Signer | Path | str) -> Signer:
    if isinstance(value, (Path, str)):
        return key_signer(Path(value))
    return value


# --- envelopes ------------------------------------------------------------------------


def statement(subjects: dict[str, str], predicate_type: str, predicate: Any) -> dict[str, Any]:
    """An in-toto Statement v1; ``subjects`` maps name -> sha256 hex (sorted by name)."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": n, "digest": {"sha256": subjects[n]}}
            for n in sorted(subjects, key=lambda p: p.encode("utf-8"))
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def envelope(payload: bytes, signers: Sequence[Signer]) -> dict[str, Any]:
    message = pae(PAYLOAD_TYPE, payload)
    return {
        "payload": b64encode(payload),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sign(message))} for s in signers],
    }


def envelope_bytes(doc: dict[str, Any]) -> bytes:
    return canonical_bytes(doc) + b"\n"


@dataclass(frozen=True)
class Opened:
    """A well-formed envelope: its payload and signatures (key id hint, signature bytes)."""

    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str | None, bytes], ...]


def open_envelope(doc: Any) -> Opened | str:
    """The envelope's parts, or why it is malformed."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    # Unknown members are ignored, as DSSE requires of consumers (decision 216).
    payload, ptype, sigs = doc.get("payload"), doc.get("payloadType"), doc.get("signatures")
    if not isinstance(payload, str) or not isinstance(ptype, str):
        return "payload and payloadType must be strings"
    data = b64decode(payload)
    if data is None:
        return "payload is not padded base64"
    if not isinstance(sigs, list) or not sigs:
        return "signatures must be a non-empty list"
    out: list[tuple[str | None, bytes]] = []
    for s in sigs:
        if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
            return "a signature must be {keyid?, sig}"
        hint = s.get("keyid")
        if hint is not None and not isinstance(hint, str):
            return "a signature's keyid must be a string"
        raw = b64decode(s["sig"])
        if raw is None:
            return "a signature is not padded base64"
        out.append((hint or None, raw))
    return Opened(ptype, data, tuple(out))


def verifying_key(opened: Opened, sig: bytes, keys: dict[str, Any]) -> str | None:
    """The key id of the first key of ``keys`` (id -> public key) that verifies ``sig``
    over the envelope's PAE: every key is tried, the envelope's key id is only a hint."""
    from cryptography.exceptions import InvalidSignature

    message = pae(opened.payload_type, opened.payload)
    for kid, key in keys.items():
        try:
            key.verify(sig, message)
        except InvalidSignature:
            continue
        return kid
    return None


# --- pack signatures ------------------------------------------------------------------


def pack_statement(
    hashes: dict[str, str], digest: str, run_id: Any, signer_name: str
) -> dict[str, Any]:
    return statement(
        hashes,
        PACK_PREDICATE,
        {"pack_digest": digest, "run_id": run_id, "signer": {"name": signer_name}},
    )


def sign_pack(path: Path, signer: Signer | Path | str) -> Path:
    """Add ``integrity/signatures/<keyid>.dsse.json`` to a sealed pack (the sums as they
    are: a pack whose files differ from its sums is refused, not signed)."""
    from vlab.core import strictjson
    from vlab.pack.reader import PackReader
    from vlab.pack.sums import SUMS_PATH, pack_digest, parse_sums

    who = signer_of(signer)
    sums = path / SUMS_PATH
    if not sums.is_file() or sums.is_symlink():
        raise UsageError(f"not a sealed pack (no {SUMS_PATH}): {path}")
    entries, problems = parse_sums(sums.read_bytes())
    if problems:
        raise UsageError(f"{SUMS_PATH}: {problems[0].message}")
    hashes = {e.path: e.hexdigest for e in entries}
    reader = PackReader(path)
    inventory = reader.inventory()
    if inventory.refusals:
        raise UsageError(f"refused by the SECURITY gate: {inventory.refusals[0].code}")
    present = {f.path for f in inventory.files if f.path != SUMS_PATH}
    present = {p for p in present if not is_signature_path(p)}
    if present != set(hashes):
        raise UsageError("the pack's files differ from its sums: seal it again first")
    for p in sorted(present):
        if reader.hash_file(p, None)[0] != hashes[p]:
            raise UsageError(f"{p} differs from its sums: seal it again first")
    run_id: Any = None  # the run is named by bundle.manifest.json (evidence-pack.md)
    for name in ("bundle.manifest.json", "manifest.json"):
        if run_id is None and name in hashes:
            try:
                doc = strictjson.loads((path / name).read_bytes())
            except (strictjson.StrictJSONError, OSError):
                continue
            found = doc.get("run_id") if isinstance(doc, dict) else None
            run_id = found if isinstance(found, str) else None
    payload = canonical_bytes(pack_statement(hashes, pack_digest(hashes), run_id, who.name))
    folder = path / SIGNATURES_DIR
    if (path / "integrity").is_symlink() or folder.is_symlink():
        raise UsageError("refused: integrity/signatures is a symbolic link")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{who.keyid}{ENVELOPE_SUFFIX}"
    tmp = folder / f".{who.keyid}.tmp"
    tmp.write_bytes(envelope_bytes(envelope(payload, [who])))
    os.replace(tmp, target)
    return target
