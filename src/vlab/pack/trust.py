"""The trust policy (``--trust FILE``, never read from a pack): which keys are trusted and
how many distinct ones must have signed (trust.md §2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlab.core.canonical import canonical_bytes
from vlab.core.errors import UsageError

MAX_POLICY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TrustedKey:
    name: str
    keyid: str
    public_key: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class TrustPolicy:
    keys: tuple[TrustedKey, ...]
    require: int = 1

    @property
    def sha256(self) -> str:
        """``policy_sha256`` (decision 205): sha256 of the RFC 8785 canonical JSON of
        ``{"keys": [{"name", "keyid"}...] in file order, "require": n}`` — what the policy
        means, not how its file is spelled or where its key files lie."""
        doc = {
            "keys": [{"name": k.name, "keyid": k.keyid} for k in self.keys],
            "require": self.require,
        }
        return "sha256:" + hashlib.sha256(canonical_bytes(doc)).hexdigest()

    def by_id(self) -> dict[str, Any]:
        return {k.keyid: k.public_key for k in self.keys}


# What a ruleset's ``requires_signature: true`` runs under when no policy is given: no key
# is trusted, so the gate fails with AUTH-SIGNATURE-MISSING.
EMPTY_POLICY = TrustPolicy(keys=())


def load_policy(path: Path) -> TrustPolicy:
    """A policy file, or a one-line UsageError saying what is wrong with it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from vlab.core.memo import parse_once
    from vlab.pack.signatures import load_public_key, load_public_key_file, require_trust

    require_trust()
    where = str(path)
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise UsageError(f"{where}: trust policy larger than {MAX_POLICY_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read trust policy {where}: {exc}") from None
    try:
        doc = parse_once(  # once per process for the same text (core/memo.py)
            "trust policy",
            text.encode("utf-8"),
            lambda b: YAML(typ="safe", pure=True).load(b.decode("utf-8")),
        )
    except YAMLError as exc:
        raise UsageError(f"{where}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or set(doc) - {"keys", "require"}:
        raise UsageError(f"{where}: a trust policy is a mapping of keys and require")
    require = doc.get("require", 1)
    if isinstance(require, bool) or not isinstance(require, int) or require < 1:
        raise UsageError(f"{where}: require must be a whole number >= 1")
    entries = doc.get("keys")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{where}: keys must be a non-empty list")
    keys: list[TrustedKey] = []
    for i, entry in enumerate(entries):
        at = f"{where}: keys[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "public_key"}:
            raise UsageError(f"{at}: each key is {{name, public_key}}")
        name, value = entry["name"], entry["public_key"]
        if not isinstance(name, str) or not name or not isinstance(value, str) or not value:
            raise UsageError(f"{at}: name and public_key must be non-empty strings")
        if "-----BEGIN" in value:
            key = load_public_key(value.encode("utf-8"), at)
        else:
            key_path = Path(value)
            key = load_public_key_file(
                key_path if key_path.is_absolute() else path.parent / key_path
            )
        from vlab.pack.signatures import key_id

        kid = key_id(key)
        if any(k.name == name for k in keys):
            raise UsageError(f"{at}: the key name {name!r} is used twice")
        if any(k.keyid == kid for k in keys):
            raise UsageError(f"{at}: the same public key is listed twice")
        keys.append(TrustedKey(name, kid, key))
    if require > len(keys):
        raise UsageError(f"{where}: require {require} but only {len(keys)} keys are trusted")
    return TrustPolicy(tuple(keys), require)
