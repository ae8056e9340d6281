"""Importer for hal0 (importers.md §3): a persona's spending cap and its spend ledger.

``vlab import hal0 ROOT [--agent ID] [--persona ID] [--checks FILE]``. ROOT is hal0's
state folder (what hal0 keeps under ``/var/lib/hal0``): the persona at
``agents/<agent>/personas/<persona>.toml`` (its ``[persona.budget]`` table) and the ledger
hal0 appends to at ``agents/<agent>/personas/<persona>/spend.jsonl``. Agent and persona
default to the only one present. hal0 stores no check decisions; ``--checks`` takes a log
of its ``POST …/budget/check`` calls as a client or proxy records them.

Native layout (``native/hal0/``), fixed:

- ``agents/<agent>/personas/<persona>.toml`` and ``agents/<agent>/personas/<persona>/spend.jsonl``:
  hal0's files at their paths relative to ROOT, byte for byte (no ledger: hal0 has
  recorded no charge yet);
- ``checks.jsonl``: the ``--checks`` file, byte for byte, whatever its name was.

Derived (a pure function of those bytes and the recorded options ``agent``, ``persona``
and, with ``--checks``, ``checks``):

- ``artifacts/budget/persona_budget.json``: ``agent_id``, ``persona_id``, ``source``, then
  ``[persona.budget]``'s keys in file order, money as the exact decimal text of the TOML
  literal; ``per_call_max_usd`` becomes ``per_call_usd``; a key vlab does not know is
  copied under its own name (``[persona.budget].<key>`` when that name is one vlab gives a
  meaning), so CL-D1-03 names it; a cap that is not a TOML number is written as
  ``{"toml_value", "toml_type"}``, never as money.
- ``artifacts/budget/spend.jsonl``: one record per non-blank native line: ``entry_id``
  ``hal0:<line>``, ``ts``, ``amount_usd`` (exact decimal of ``cost_usd``), ``call_id``
  (``request_id``), ``source``. A line hal0 itself would skip or choke on (not UTF-8, not
  JSON, not an object, a field hal0 requires missing) is kept as ``{"entry_id",
  "source", "unparseable": "torn_tail" | "invalid", "reason"}``; ``torn_tail`` is only
  the final line, without terminator, that is not JSON (a crash artefact).
- ``trace/events.ndjson``: one ``budget.check`` per non-blank ``--checks`` line (outcome
  ``DENY`` when not allowed, ``WARN`` when allowed with a reason, else ``ALLOW``), with
  the response as hal0 gave it; empty without ``--checks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.money import fmt
from vlab.core.timestamps import utc_micros
from vlab.importers.base import (
    EPOCH,
    JSON,
    Collected,
    Derived,
    Importer,
    ImportRefused,
    json_bytes,
    lines,
    load_toml,
    money_text,
    native_path,
    ndjson_bytes,
    read_native,
    scenario,
    source,
)
from vlab.pack.limits import unsafe_path_reason

SYSTEM = "hal0"
CHECKS_FILE = "checks.jsonl"
BUDGET_FILE = "artifacts/budget/persona_budget.json"
LEDGER_FILE = "artifacts/budget/spend.jsonl"
LOG_FILE = "trace/events.ndjson"
EXPECTED = "expected hal0's state folder: agents/<agent>/personas/<persona>.toml"
# [persona.budget] keys (hal0 600b56b, src/hal0/agents/budget.py) -> vlab budget keys.
BUDGET_KEYS = {
    "daily_usd": "daily_usd",
    "monthly_usd": "monthly_usd",
    "lifetime_usd": "lifetime_usd",
    "per_call_max_usd": "per_call_usd",
    "hard_cap": "hard_cap",
}
CAPS = frozenset(k for k in BUDGET_KEYS if k != "hard_cap")
# Names that mean something in the derived budget: an unknown hal0 key never takes one.
RESERVED = frozenset({*BUDGET_KEYS.values(), "agent_id", "persona_id", "source"})
# The fields SpendRow.from_json reads: hal0 skips a line that lacks one.
ROW_FIELDS = ("ts", "persona_id", "surface", "model", "cost_usd", "request_id")
NO_CHECKS_NOTE = "hal0 records no check decisions: CL-D1-03 judges the ledger alone"


def persona_rel(agent: str, persona: str) -> str:
    return f"agents/{agent}/personas/{persona}.toml"


def ledger_rel(agent: str, persona: str) -> str:
    return f"agents/{agent}/personas/{persona}/spend.jsonl"


# -- collect: read ROOT as hal0 wrote it -------------------------------------------------------


def _choose(kind: str, found: list[str], given: Any, where: str) -> str:
    if given is not None:
        if not isinstance(given, str) or given not in found:
            raise UsageError(
                f"vlab import hal0: no {kind} {given!r} in {where} "
                f"(there: {', '.join(found) or 'none'})"
            )
        return given
    if len(found) > 1:
        raise UsageError(
            f"vlab import hal0: {where} holds several {kind}s ({', '.join(found)}); "
            f"give --{kind} ID"
        )
    return found[0]


def _personas(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".toml")] for p in folder.glob("*.toml") if p.is_file())


def collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    if len(sources) != 1:
        raise UsageError("vlab import hal0 takes one SOURCE: hal0's state folder")
    root = sources[0]
    agents_dir = root / "agents"
    if not root.is_dir() or not agents_dir.is_dir():
        raise ImportRefused(str(root), EXPECTED)
    agents = sorted(d.name for d in agents_dir.iterdir() if _personas(d / "personas"))
    if not agents:
        raise ImportRefused(str(agents_dir), EXPECTED)
    agent = _choose("agent", agents, options.get("agent"), str(agents_dir))
    personas_dir = agents_dir / agent / "personas"
    persona = _choose("persona", _personas(personas_dir), options.get("persona"), str(personas_dir))
    for rel in (persona_rel(agent, persona), ledger_rel(agent, persona)):
        unsafe = unsafe_path_reason(native_path(SYSTEM, rel))
        if unsafe is not None:
            raise ImportRefused(str(root / rel), f"not a name a pack can hold ({unsafe})")
    toml_path = root / persona_rel(agent, persona)
    native = {persona_rel(agent, persona): read_native(toml_path, "a hal0 persona TOML")}
    _persona_table(native[persona_rel(agent, persona)], str(toml_path))
    ledger = root / ledger_rel(agent, persona)
    if ledger.exists() or ledger.is_symlink():  # one that cannot be read is refused, not skipped
        native[ledger_rel(agent, persona)] = read_native(ledger, "a hal0 spend.jsonl ledger")
    recorded: JSON = {"agent": agent, "persona": persona}
    checks = options.get("checks")
    if checks is not None:
        checks_path = Path(checks)
        if not (checks_path.exists() or checks_path.is_symlink()):
            raise UsageError(f"--checks {checks}: no such file")
        native[CHECKS_FILE] = read_native(checks_path, "a --checks log of budget-check calls")
        recorded["checks"] = CHECKS_FILE
    return Collected(native, recorded)


# -- derive: a pure function of the native bytes and the options ------------------------------


def _persona_table(data: bytes, where: str) -> JSON:
    """The ``[persona]`` table, or ImportRefused: a file that is not TOML, or has no
    ``[persona]`` table, is not a hal0 persona."""
    try:
        document = load_toml(data)
    except (ValueError, RecursionError) as exc:
        raise ImportRefused(
            where, f"not TOML ({str(exc)[:160]}); expected a hal0 persona"
        ) from None
    persona = document.get("persona")
    if not isinstance(persona, dict):
        raise ImportRefused(where, "no [persona] table; expected a hal0 persona")
    return persona


def plain(value: Any) -> Any:
    """A parsed native value as strict JSON: decimals as text, TOML dates as ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 256 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, Decimal):
        return money_text(value)  # never a billion-digit expansion of 1e999999999
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return str(value)


def amount(value: Any) -> Any:
    """A native number as the exact decimal text of its literal; anything else as it is
    (a string stays a string, as hal0's ``float()`` reads one), for the clause to judge."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return plain(value) if value.bit_length() > 256 else fmt(Decimal(value))
    return plain(value)


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, Decimal)):
        return "number"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    return "datetime"


def _budget(persona: JSON, agent: str, persona_id: str, toml_path: str) -> JSON:
    out: JSON = {
        "agent_id": agent,
        "persona_id": persona_id,
        "source": source(toml_path, jsonptr="/persona/budget"),
    }
    if "budget" not in persona:
        return out  # hal0: no budget table is no cap (hard_cap defaults to true)
    table = persona["budget"]
    if not isinstance(table, dict):
        out[_free_name("[persona.budget]", out)] = plain(table)
        return out
    for name, value in table.items():
        if name in CAPS:
            is_number = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
            out[BUDGET_KEYS[name]] = (
                amount(value)
                if is_number
                else {"toml_value": plain(value), "toml_type": _toml_type(value)}
            )
        elif name == "hard_cap":
            out["hard_cap"] = plain(value)
        else:
            out[_free_name(name if name not in RESERVED else f"[persona.budget].{name}", out)] = (
                plain(value)
            )
    return out


def _free_name(name: str, taken: Mapping[str, Any]) -> str:
    while name in taken or name in RESERVED:
        name = f"[persona.budget].{name}"
    return name


def _decoded(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 at byte {exc.start}"


def _parse(text: str) -> tuple[Any, str | None]:
    """One line as hal0 reads it (``json.loads(line.strip())``), but strict: what hal0's
    lenient parser alone accepts (NaN, a repeated key) does not parse here either."""
    try:
        return strictjson.loads(text.strip().encode("utf-8")), None
    except strictjson.StrictJSONError as exc:
        return None, f"not JSON: {str(exc)[:160]}"
    except (ValueError, RecursionError) as exc:  # e.g. an integer too long to convert
        return None, f"not JSON: {type(exc).__name__}"


def _ledger(data: bytes, path: str) -> tuple[list[JSON], list[int]]:
    """The derived ledger records, and the native lines that did not parse."""
    records: list[JSON] = []
    damaged: list[int] = []
    numbered = list(lines(data))
    last = numbered[-1][0] if numbered else 0
    for number, raw, terminated in numbered:
        text, why = _decoded(raw)
        if text is not None and not text.strip():
            continue  # hal0 skips blank lines
        where = source(path, line=number)
        if why is not None:
            why += " (hal0 fails reading the ledger)"
        row: Any = None
        if text is not None:
            row, why = _parse(text)
        if why is None and not isinstance(row, dict):
            why = "not a JSON object"
        if why is None:
            missing = [f for f in ROW_FIELDS if f not in row]
            if missing:
                why = f"hal0 skips it: no {', '.join(missing)}"
        if why is not None:
            # A crash mid-append leaves the final line without its terminator, cut anywhere
            # (even inside a multi-byte character).
            torn = number == last and not terminated and why.startswith(("not JSON", "not UTF-8"))
            damaged.append(number)
            records.append(
                {
                    "entry_id": f"hal0:{number}",
                    "source": where,
                    "unparseable": "torn_tail" if torn else "invalid",
                    "reason": why,
                }
            )
            continue
        records.append(
            {
                "entry_id": f"hal0:{number}",
                "ts": plain(row["ts"]),
                "amount_usd": amount(row["cost_usd"]),
                "call_id": plain(row["request_id"]),
                "source": where,
            }
        )
    return records, damaged


def outcome(response: Any) -> str | None:
    """DENY when not allowed, WARN when allowed with a reason, else ALLOW (importers.md)."""
    allowed = response.get("allowed") if isinstance(response, dict) else None
    if allowed is False:
        return "DENY"
    if allowed is True:
        reason = response.get("reason")
        return "ALLOW" if reason is None or reason == "" else "WARN"
    return None  # not a response hal0 gives: the clause reports the check as invalid


def _checks(data: bytes, path: str, agent: str) -> list[JSON]:
    events: list[JSON] = []
    for number, raw, _ in lines(data):
        text, why = _decoded(raw)
        if text is not None and not text.strip():
            continue
        event_id = f"hal0-check-{number}"
        head: JSON = {"event_id": event_id, "event_type": "budget.check"}
        row: Any = None
        if text is not None:
            row, why = _parse(text)
        if why is None and not isinstance(row, dict):
            why = "not a JSON object"
        if why is not None:
            events.append({**head, "source": source(path, line=number), "unparseable": why})
            continue
        response = row.get("response")
        events.append(
            {
                **head,
                "timestamp": plain(row.get("ts")),
                "decision_id": event_id,
                "decision_kind": "budget",
                "decision_outcome": outcome(response),
                "estimate_usd": amount(row.get("estimated_cost_usd")),
                "call_id": plain(row.get("request_id")),
                "target": {"kind": "agent", "id": agent},
                "source": source(path, line=number),
                "response": plain(response),
            }
        )
    return events


def _created_at(records: list[JSON], events: list[JSON]) -> str:
    """The earliest RFC 3339 timestamp the evidence holds, as written."""
    stamps = [r.get("ts") for r in records] + [e.get("timestamp") for e in events]
    best: tuple[int, str] | None = None
    for stamp in stamps:
        at = utc_micros(stamp)
        if at is not None and isinstance(stamp, str) and (best is None or at < best[0]):
            best = (at, stamp)
    return best[1] if best is not None else EPOCH


def derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    agent, persona_id = options.get("agent"), options.get("persona")
    if not isinstance(agent, str) or not isinstance(persona_id, str):
        raise ImportRefused("import.json", "options agent and persona are required")
    toml_rel = persona_rel(agent, persona_id)
    if toml_rel not in native:
        raise ImportRefused(native_path(SYSTEM, toml_rel), EXPECTED)
    toml_path = native_path(SYSTEM, toml_rel)
    persona = _persona_table(native[toml_rel], toml_path)
    notes: list[str] = []
    if persona.get("id") != persona_id:
        notes.append(
            f"[persona].id is not {persona_id!r} (the file's name): hal0 refuses to load it"
        )
    budget = _budget(persona, agent, persona_id, toml_path)

    ledger_path = native_path(SYSTEM, ledger_rel(agent, persona_id))
    ledger_data = native.get(ledger_rel(agent, persona_id))
    records, damaged = _ledger(ledger_data, ledger_path) if ledger_data is not None else ([], [])
    if ledger_data is None:
        notes.append("no spend.jsonl: hal0 has recorded no charge for this persona")
    if damaged:
        shown = ", ".join(str(n) for n in damaged[:10]) + (", ..." if len(damaged) > 10 else "")
        notes.append(
            f"{len(damaged)} spend.jsonl line(s) do not parse (line {shown}): imported as they "
            "are, CL-D1-03 judges them"
        )

    checks = options.get("checks")
    events: list[JSON] = []
    derived_from: list[JSON] = [
        {
            "path": BUDGET_FILE,
            "from": [toml_path],
            "rule": "[persona.budget] keys as written; per_call_max_usd is per_call_usd",
        },
        {
            "path": LEDGER_FILE,
            "from": [ledger_path] if ledger_data is not None else [],
            "rule": "one record per non-blank line: entry_id hal0:<line>, amount_usd = "
            "cost_usd, call_id = request_id; a line that does not parse is kept, marked",
        },
    ]
    if checks is not None:
        if not isinstance(checks, str) or checks not in native:
            raise ImportRefused(native_path(SYSTEM, CHECKS_FILE), "the --checks log is missing")
        checks_path = native_path(SYSTEM, checks)
        events = _checks(native[checks], checks_path, agent)
        derived_from.append(
            {
                "path": LOG_FILE,
                "from": [checks_path],
                "rule": "one budget.check per non-blank line: DENY when not allowed, WARN "
                "when allowed with a reason, else ALLOW",
            }
        )
    else:
        notes.insert(0, NO_CHECKS_NOTE)

    files = {
        BUDGET_FILE: json_bytes(budget),
        LEDGER_FILE: ndjson_bytes(records),
        LOG_FILE: ndjson_bytes(events),
    }
    return Derived(
        files=files,
        pointers=[
            {
                "requirement_id": "RQ-D1-03",
                "artifact_path": LEDGER_FILE,
                "locator": "file:",
                "status": "PRESENT",
            }
        ],
        run_id=f"{agent}-{persona_id}",
        created_at=_created_at(records, events),
        scenario_meta=scenario("spend_cap"),
        claims={},
        evidence={
            "checks_recorded": checks is not None,
            "ledger": ledger_path if ledger_data is not None else None,
            "persona": toml_path,
        },
        notes=notes,
        derived_from=derived_from,
    )


IMPORTERS: tuple[Importer, ...] = (
    Importer(
        system=SYSTEM,
        version=1,
        summary="hal0 state folder: a persona's [persona.budget] and spend.jsonl (CL-D1-03)",
        collect=collect,
        derive=derive,
        options={
            "agent": "the agent under agents/ (default: the only one)",
            "persona": "the persona under agents/<agent>/personas/ (default: the only one)",
            "checks": "a log of hal0 budget-check calls and responses, one JSON object a line",
        },
    ),
)
