"""RFC 8785 (JCS) canonical JSON and the sha256 digests built on it."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

import rfc8785


class CanonicalError(ValueError):
    """The value has no RFC 8785 form (e.g. an integer beyond 2**53)."""


_SURROGATES = re.compile("[\ud800-\udfff]")


def _jcs_ready(value: Any) -> Any:
    # JCS defines numbers by their IEEE-754 double value, so a parsed Decimal is
    # canonicalised through float here. This is serialisation for hashing only;
    # no money is ever compared through this path.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalError("non-finite number")
        return float(value)
    if isinstance(value, str):
        # Rulings must always serialise: a lone surrogate that slipped into a message from
        # evidence becomes U+FFFD instead of an engine error.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Each surrogate alone becomes U+FFFD (not via "replace", whose '?' would also
            # swallow every real question mark of the string).
            return _SURROGATES.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {_jcs_ready(k): _jcs_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jcs_ready(v) for v in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    try:
        return bytes(rfc8785.dumps(_jcs_ready(value)))
    except CanonicalError:
        raise
    except Exception as exc:  # rfc8785 raises its own domain errors
        raise CanonicalError(str(exc)) from exc


def canonical_text(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def sha256_ref(data: bytes) -> str:
    """A digest as written everywhere in a ruling: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
