"""SARIF 2.1.0 (``--format sarif``): one run, one result per non-advisory detail of a
failing clause or gate, so code-scanning UIs show each failure on its evidence line.

- ``tool.driver``: ``vlab`` and its version; ``rules``: every code a result uses, sorted,
  each with its one-line meaning from the reason-code registry (``vlab.core.codes``).
- A result: ``ruleId`` the detail's code, level ``error``, ``message.text`` the detail's
  message, one location: the pack-relative artifact path (percent-encoded, against the
  URI base ``PACKROOT``) and ``region.startLine`` when the line is known; the clause id,
  requirement, gate and locator in ``properties``. A failing clause or gate with no
  non-advisory detail gives one result with its reason code (``vlab.render.located_findings``
  says where it points). Advisories give no result: they never fail a ruling, and a code
  scanner would keep each as an alert to dismiss (``--format github`` shows them).
- ``PACKROOT`` in ``originalUriBaseIds``: when the pack path given is relative, its
  ``uri`` is that path against ``%SRCROOT%`` (the folder vlab ran in, left unrecorded);
  an absolute pack path is never written (no machine-specific paths in output).
- Bytes: RFC 8785 canonical JSON and one newline, as ``--format json``: the same ruling
  and pack path always give the same bytes.

Message text is shown to people by SARIF viewers, so data goes through ``human``
(``vlab.core.escape``: no control, bidi or invisible character reaches a reviewer's page)
and then SARIF's own message syntax: ``{``/``}`` doubled (SARIF 3.11.5, placeholders) and
``[``/``]`` behind a backslash (3.11.6, embedded links), so evidence cannot render as a
link. Property values are data for programs and stay raw (JSON escapes them).
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from vlab import __version__
from vlab.core.canonical import canonical_bytes
from vlab.core.escape import human
from vlab.engine.ruling import Ruling
from vlab.render import UNREGISTERED, LocatedFinding, located_findings

SARIF_VERSION = "2.1.0"
# The OASIS Standard's schema (errata01), the one tests/data/ ships and validates against.
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
PACKROOT = "PACKROOT"
SRCROOT = "%SRCROOT%"

_SARIF_TEXT = str.maketrans({"{": "{{", "}": "}}", "[": "\\[", "]": "\\]"})


def sarif_text(text: object) -> str:
    """Data as a SARIF plain-text message: ``human``, then braces doubled and square
    brackets escaped (no placeholder, no embedded link)."""
    return human(text).translate(_SARIF_TEXT)


def uri_reference(path: str) -> str:
    """A POSIX path as a relative URI reference: every byte outside the unreserved set
    and ``/`` percent-encoded (a ``:`` too, so the first segment never reads as a scheme).
    Names that are not UTF-8 arrive as lone surrogates and are encoded as their bytes."""
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate surrogateescape cannot map back to a byte
        raw = path.encode("utf-8", "surrogatepass")
    return quote(raw, safe="/")


def _relative_pack(pack: str | None) -> str | None:
    """The pack path as a folder URI relative to where vlab ran, or None when there is
    none to record (no path, or an absolute one)."""
    if not pack or PurePosixPath(pack).is_absolute() or PureWindowsPath(pack).anchor:
        return None
    norm = posixpath.normpath(pack)
    return "./" if norm == "." else uri_reference(norm) + "/"


def _result(f: LocatedFinding, rule_index: int) -> dict[str, Any]:
    text = sarif_text(f.message)
    if f.detail is None:  # a reason code's meaning: say whose
        text = f"{sarif_text(f.owner)}: {text}"
    physical: dict[str, Any] = {
        "artifactLocation": {
            "uri": uri_reference(f.artifact_path) if f.artifact_path is not None else "./",
            "uriBaseId": PACKROOT,
        }
    }
    if f.line is not None:
        physical["region"] = {"startLine": f.line}
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        # a declared low severity is a warning; undeclared (medium) and above stay errors
        "level": "warning" if f.clause is not None and f.clause.severity == "low" else "error",
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "properties": f.properties(),
    }
    if f.clause is not None and f.clause.waiver is not None:
        w = f.clause.waiver
        # SARIF 2.1.0 §3.35: a waiver is an external suppression, accepted by its approver
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": sarif_text(w.reason),
                "properties": {
                    "waiver_id": w.id,
                    "approved_by": w.approved_by,
                    "expires": w.expires,
                },
            }
        ]
    return result


def sarif_log(ruling: Ruling, *, pack: str | None = None) -> dict[str, Any]:
    """The SARIF log as a JSON value."""
    from vlab.core.codes import meaning

    findings = [f for f in located_findings(ruling) if not f.advisory]
    codes = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "shortDescription": {"text": meaning(code) or UNREGISTERED},
            "defaultConfiguration": {"level": "error"},
        }
        for code in codes
    ]
    packroot: dict[str, Any] = {
        "description": {"text": "the evidence pack's root folder (the pack path given to vlab)"}
    }
    base_ids: dict[str, Any] = {PACKROOT: packroot}
    rel = _relative_pack(pack)
    if rel is not None:
        packroot["uri"] = rel
        packroot["uriBaseId"] = SRCROOT
        base_ids[SRCROOT] = {"description": {"text": "the folder vlab was run in"}}
    rs, pk = ruling.ruleset, ruling.pack
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "vlab",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "originalUriBaseIds": base_ids,
        "results": [_result(f, index[f.code]) for f in findings],
        "properties": {
            "topline": ruling.topline,
            "admission": ruling.admission.status,
            "reason_codes": list(ruling.reason_codes),
            "ruleset": {"id": rs.id, "version": rs.version, "override": rs.override},
            "pack": {"pack_id": pk.pack_id, "run_id": pk.run_id, "digest": pk.digest},
            "ruling_digest": ruling.digest,
            **({"as_of": ruling.as_of} if ruling.as_of is not None else {}),
            **({"waivers": ruling.waivers.to_json()} if ruling.waivers is not None else {}),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(ruling: Ruling, *, pack: str | None = None) -> bytes:
    """The ``--format sarif`` bytes: canonical JSON (RFC 8785) and one newline."""
    return canonical_bytes(sarif_log(ruling, pack=pack)) + b"\n"
