"""Mutators: each takes ``(rng, spec, corpus)``, changes the in-memory pack and returns a
short description of what it did (``None`` when it did not apply to this pack).

Families (the prefix of a mutator's name): ``byte_`` raw bytes of any file; ``json_`` the
structure of a JSON document (type confusion, keys, nesting, duplicates, NaN, huge
numbers); ``field_`` hostile values for fields the engine reads (ids, pins, money,
timestamps, scenario_meta, tokens); ``nd_`` NDJSON logs and ledgers; ``yaml_`` YAML
policies; ``ptr_`` evidence pointers and locators; ``fs_`` the file system (links, FIFOs,
names, folders, counts); ``seal_`` / ``sums_`` the integrity file (stale seal, malformed
sums); ``opt_`` how the pack is judged (small safety limits, shadow runs).

Content mutators run before the pack is sealed, so by default a mutation reaches CONTRACT
and clause evaluation; ``seal_stale`` keeps the old sums (INTEGRITY sees the change) and the
``sums_`` mutators edit the sums after sealing.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fuzz.hostile import (
    ADMISSION_RECEIPT,
    BUNDLE,
    CONTROL,
    EVENTS,
    MANIFEST,
    OUTCOME,
    POINTERS,
    POLICY,
    SETTLEMENT,
    SUMS,
    Corpus,
    PackSpec,
    Special,
)

# -- a JSON tree that keeps what json.loads would lose -----------------------------------


@dataclass
class Raw:
    """Literal JSON text (numbers kept exactly, NaN, 1e400, deep nesting, bad escapes)."""

    text: str


class Obj:
    """A JSON object as a list of [key, value] pairs: duplicate keys survive."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[list[Any]]) -> None:
        self.pairs = pairs


def parse(data: bytes) -> Any:
    """The tree of a JSON document, or raises ValueError (RecursionError included)."""
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=lambda p: Obj([list(x) for x in p]),
            parse_int=Raw,
            parse_float=Raw,
            parse_constant=Raw,
        )
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


def _string(s: str, ascii_only: bool) -> str:
    try:
        return json.dumps(s, ensure_ascii=ascii_only)
    except UnicodeEncodeError:
        return json.dumps(s, ensure_ascii=True)


def dump(node: Any, *, indent: int | None = None, ascii_only: bool = False) -> str:
    out: list[str] = []

    def emit(n: Any, level: int) -> None:
        pad = "" if indent is None else "\n" + " " * (indent * (level + 1))
        end = "" if indent is None else "\n" + " " * (indent * level)
        sep = ", " if indent is None else ","
        if isinstance(n, Raw):
            out.append(n.text)
        elif isinstance(n, Obj):
            if not n.pairs:
                out.append("{}")
                return
            out.append("{")
            for i, (k, v) in enumerate(n.pairs):
                out.append((sep if i else "") + pad + _string(str(k), ascii_only) + ": ")
                emit(v, level + 1)
            out.append(end + "}")
        elif isinstance(n, list):
            if not n:
                out.append("[]")
                return
            out.append("[")
            for i, v in enumerate(n):
                out.append((sep if i else "") + pad)
                emit(v, level + 1)
            out.append(end + "]")
        elif isinstance(n, str):
            out.append(_string(n, ascii_only))
        elif n is True:
            out.append("true")
        elif n is False:
            out.append("false")
        elif n is None:
            out.append("null")
        elif isinstance(n, dict):
            emit(Obj([[k, v] for k, v in n.items()]), level)
        else:
            out.append(json.dumps(n))

    emit(node, 0)
    return "".join(out)


def dump_bytes(node: Any, rng: random.Random, *, one_line: bool = False) -> bytes:
    indent = None if one_line else rng.choice([None, 2, 2, 4])
    text = dump(node, indent=indent, ascii_only=rng.random() < 0.3)
    return text.encode("utf-8", "surrogatepass") + (b"" if one_line else b"\n")


def to_tree(value: Any) -> Any:
    """A plain parsed value (from the corpus) as a tree."""
    if isinstance(value, dict):
        return Obj([[k, to_tree(v)] for k, v in value.items()])
    if isinstance(value, list):
        return [to_tree(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return Raw(json.dumps(value))


# Slots: (container, key) so a value can be replaced in place; container None is the root.
Slot = tuple[Any, Any]


def slots(root: Any, limit: int = 4000) -> list[Slot]:
    found: list[Slot] = [(None, None)]
    stack = [root]
    while stack and len(found) < limit:
        node = stack.pop()
        if isinstance(node, Obj):
            for i, pair in enumerate(node.pairs):
                found.append((node, i))
                stack.append(pair[1])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                found.append((node, i))
                stack.append(v)
    return found


def get(slot: Slot, root: Any) -> Any:
    container, key = slot
    if container is None:
        return root
    return container.pairs[key][1] if isinstance(container, Obj) else container[key]


def key_of(slot: Slot) -> str:
    container, key = slot
    return str(container.pairs[key][0]) if isinstance(container, Obj) else ""


def put(slot: Slot, root: Any, value: Any) -> Any:
    """Set the slot; returns the (possibly new) root."""
    container, key = slot
    if container is None:
        return value
    if isinstance(container, Obj):
        container.pairs[key][1] = value
    else:
        container[key] = value
    return root


# -- hostile values ----------------------------------------------------------------------

HOSTILE_STRINGS = [
    "",
    " ",
    "\t",
    "\n",
    "line\nbreak",
    "cr\rlf\r\n",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07",
    "\x1b[2J\x1b[H",
    "\u202egnp.exe",
    "\u2066isolate\u2069",
    "\u200bzero-width",
    "nul\x00byte",
    "\x7f\x85\x9b",
    "\u2028\u2029",
    "\ufeffbom",
    "🙂" * 3,
    "é",
    "e\u0301",
    "ǅ",
    "İ",
    "ß",
    "[bold red]markup[/]",
    "<script>&amp;</script>",
    "]]>",
    "|pipe|cell|",
    "`code` *em* _u_ # h",
    "{0}",
    "{}",
    "{record.x}",
    "{pack.run_id}",
    "%s%n%x",
    "${HOME}",
    "../../etc/passwd",
    "/abs/path",
    "C:\\win\\path",
    "null",
    "None",
    "true",
    "PASS",
    "NOT_ADMISSIBLE",
    "NaN",
    "1e400",
    "-0",
    "sha256:" + "0" * 64,
    "x" * 5000,
]
HOSTILE_KEYS = [
    "",
    " ",
    "\u0000",
    "__proto__",
    "constructor",
    "$ref",
    "event_id",
    "k\nnl",
    "\u202ek",
    "x" * 1000,
    "1",
    "~0~1/",
]
MONEY = [
    "0",
    "0.00",
    "-0",
    "-0.01",
    "0.1",
    "1.00",
    "1e400",
    "1E+9999",
    "1e-400",
    "0.1e-999999999",
    "1e999999999999999999",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1,00",
    " 1.00",
    "1.00 ",
    "+1",
    "1.",
    ".5",
    "0x10",
    "1_000",
    "١٢",
    "１",
    "1" + "0" * 5000,
    "0." + "0" * 5000 + "1",
    "99999999999999999999999999999999.99",
    "",
    "USD 1",
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1E-400"),
    Raw("0.1"),
    Raw("1.5"),
    Raw("-1"),
    Raw("0"),
    Raw("-0"),
    Raw("1" + "0" * 400),
    Raw("1" + "0" * 5000),
    Raw("1e999999999999"),
    Raw("4.9e-324"),
    Raw("123456789012345678901234567890.123456789"),
    True,
    None,
]
TIMESTAMPS = [
    "2026-05-29T10:00:00Z",
    "2026-05-29T10:00:00+00:00",
    "2026-05-29T10:00:00-23:59",
    "2026-05-29T10:00:00+24:00",
    "2026-05-29T10:00:00+99:99",
    "2026-02-30T10:00:00Z",
    "2026-05-29T24:00:00Z",
    "2026-05-29T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59Z",
    "2026-05-29t10:00:00z",
    "2026-05-29 10:00:00Z",
    "2026-05-29T10:00:00." + "1" * 60 + "Z",
    "2026-05-29T10:00:00",
    "2026-05-29",
    "20260529T100000Z",
    "2026-W22-5",
    "２０２６-05-29T10:00:00Z",
    "+002026-05-29T10:00:00Z",
    "-2026-05-29T10:00:00Z",
    "2026-05-29T10:00:00+05:30:15",
    "2026-05-29T10:00:00.Z",
    "2026-05-29T10:00:00Z\n",
    "Z",
    "",
    Raw("1748512800"),
    Raw("1.5e9"),
    None,
    [],
]
IDENTS = [
    "",
    " ",
    "a" * 201,
    "a" * 20_000,
    "run\n0001",
    "run\x1b[2Jx",
    "\u202erun",
    "run\x00",
    "../../x",
    "run/0001",
    "run 0001",
    "évt",
    "e\u0301",
    "🙂" * 20,
    "{0}",
    "[red]x[/red]",
    "<x>&'\"",
    "|",
    Raw('"\\ud800"'),
    Raw('"a\\udc00b"'),
    Raw('"\\u0000"'),
    Raw("1"),
    True,
    None,
    [],
    Obj([]),
]
TOKENS = [
    "budget",
    "Budget",
    " BUDGET ",
    "rate-limit",
    "rate_limit",
    "rate  limit",
    "RATE--LIMIT",
    "rate\tlimit",
    "allow",
    "ALLOW",
    "deny",
    "DENY",
    "Deny ",
    "authz",
    "quota",
    "completed",
    "failed",
    "terminated",
    "cancelled",
    "running",
    "decision",
    "run_state_transition",
    "budget.check",
    "budget.charge",
    "budget.decision",
    "tool.call",
    "authz.decision",
    "termination",
    "run.terminated",
    "trial.dispatch",
    "trial.complete",
    "trial.skipped",
    "matrix.status",
    "-",
    "_",
    "",
]


def deep(depth: int) -> Raw:
    opener, closer = ("[", "]") if depth % 2 else ('{"a":', "}")
    return Raw(opener * depth + "0" + closer * depth)


def hostile_value(rng: random.Random, corpus: Corpus) -> Any:
    roll = rng.randrange(14)
    if roll == 0:
        return rng.choice([Raw("0"), Raw("-1"), Raw(str(2**63)), Raw(str(-(2**63) - 1))])
    if roll == 1:
        return rng.choice(MONEY)
    if roll == 2:
        return rng.choice([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400")])
    if roll == 3:
        return rng.choice([True, False, None])
    if roll == 4:
        return rng.choice(HOSTILE_STRINGS)
    if roll == 5:
        return rng.choice(corpus.strings) if corpus.strings else ""
    if roll == 6:
        return rng.choice([[], Obj([]), [None], Obj([["k", None]])])
    if roll == 7:
        return deep(rng.choice([63, 64, 65, 66, 200, 3000]))
    if roll == 8:
        n = rng.choice([100, 1000, 5000])
        return [rng.choice([Raw("0"), "x", None, Obj([])])] * n
    if roll == 9:
        return rng.choice(TIMESTAMPS)
    if roll == 10:
        return rng.choice(IDENTS)
    if roll == 11:
        return rng.choice(TOKENS)
    if roll == 12:
        return to_tree(rng.choice(corpus.documents)) if corpus.documents else None
    return Raw(rng.choice(['"\\ud800"', '"\\uDFFF\\uD800"', '"\\u0041\\u00e9"', '"\\/"']))


# -- choosing files ----------------------------------------------------------------------


def pick(
    rng: random.Random,
    spec: PackSpec,
    endings: tuple[str, ...] | None = None,
    control: float = 1.5,
) -> str | None:
    """A file of the pack to mutate (``control``: the weight of the three control files
    against 3 for the event log and 2.5 for other artifacts)."""
    paths = [p for p in spec.files if p != SUMS and (endings is None or p.endswith(endings))]
    if not paths:
        return None
    if spec.gentle:
        control = 0.1
    weights = [
        control if p in CONTROL else 3.0 if p.startswith("trace/") else 2.5 if "/" in p else 1.0
        for p in paths
    ]
    return rng.choices(paths, weights)[0]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


# -- byte mutators -----------------------------------------------------------------------

INTERESTING_BYTES = [
    b'"',
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\x1b[",
    b"9" * 30,
    b"-",
    b"e999",
    b"NaN",
    b"null",
    b"\t",
    b"  ",
]


def byte_flip(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Flip 1-8 random bits of any file."""
    path = pick(rng, spec)
    if path is None or not spec.files[path]:
        return None
    data = bytearray(spec.files[path])
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    spec.files[path] = bytes(data)
    return path


def byte_insert(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Insert JSON punctuation, escapes, CR/LF, NUL, 0xFF, a BOM, surrogate bytes, ESC or
    random bytes."""
    path = pick(rng, spec)
    if path is None:
        return None
    data = spec.files[path]
    i = rng.randrange(len(data) + 1)
    chunk = rng.choice(INTERESTING_BYTES) if rng.random() < 0.8 else rng.randbytes(4)
    spec.files[path] = data[:i] + chunk * rng.choice([1, 1, 3]) + data[i:]
    return f"{path}@{i}"


def byte_delete(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Delete a run of bytes."""
    path = pick(rng, spec)
    if path is None or not spec.files[path]:
        return None
    data = spec.files[path]
    i = rng.randrange(len(data))
    n = rng.choice([1, 1, 2, 8, 64])
    spec.files[path] = data[:i] + data[i + n :]
    return f"{path}@{i}+{n}"


def byte_truncate(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Truncate a file anywhere (mid-token, mid-UTF-8 sequence)."""
    path = pick(rng, spec)
    if path is None or not spec.files[path]:
        return None
    n = rng.randrange(len(spec.files[path]))
    spec.files[path] = spec.files[path][:n]
    return f"{path}[:{n}]"


def byte_splice(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Splice a piece of another seed's file in (inserted or overwriting)."""
    path = pick(rng, spec)
    if path is None:
        return None
    _, donor = rng.choice(corpus.artifacts)
    a = rng.randrange(len(donor) + 1)
    piece = donor[a : a + rng.choice([8, 64, 512])]
    data = spec.files[path]
    i = rng.randrange(len(data) + 1)
    spec.files[path] = data[:i] + piece + data[i + rng.choice([0, len(piece)]) :]
    return path


def byte_duplicate(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Repeat a piece of a file 2-100 times in place."""
    path = pick(rng, spec)
    if path is None or not spec.files[path]:
        return None
    data = spec.files[path]
    i = rng.randrange(len(data))
    piece = data[i : i + rng.choice([4, 32, 256])]
    spec.files[path] = data[:i] + piece * rng.choice([2, 10, 100]) + data[i:]
    return path


# -- JSON structure ----------------------------------------------------------------------


def _json_target(rng: random.Random, spec: PackSpec) -> tuple[str, Any] | None:
    for _ in range(3):
        path = pick(rng, spec, (".json",), control=0.8)
        if path is None:
            return None
        try:
            return path, parse(spec.files[path])
        except ValueError:
            continue
    return None


TreeOp = Callable[[random.Random, Any, Corpus], tuple[Any, str] | None]


def _tree_op(op: TreeOp) -> Callable[[random.Random, PackSpec, Corpus], str | None]:
    def mutator(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
        target = _json_target(rng, spec)
        if target is None:
            return None
        path, root = target
        try:
            result = op(rng, root, corpus)
            if result is None:
                return None
            root, what = result
            spec.files[path] = dump_bytes(root, rng)
        except RecursionError:
            return None
        return f"{path}: {what}"

    mutator.__doc__ = op.__doc__
    return mutator


def op_replace(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Type confusion: any value becomes a number, bool, null, string, list, object, a huge
    integer, 1e400, NaN, deep nesting or a huge array."""
    found = slots(root)
    slot = rng.choice(found[1:] if len(found) > 1 and rng.random() < 0.95 else found)
    value = hostile_value(rng, corpus)
    return put(slot, root, value), f"{key_of(slot) or '#'} := {_short(value)}"


def op_delete(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Delete an object member or a list item."""
    found = [s for s in slots(root)[1:]]
    if not found:
        return None
    container, key = rng.choice(found)
    if isinstance(container, Obj):
        name = container.pairs[key][0]
        del container.pairs[key]
        return root, f"del {name}"
    del container[key]
    return root, f"del [{key}]"


def _objects(root: Any) -> list[Obj]:
    objs = [get(s, root) for s in slots(root)]
    return [o for o in objs if isinstance(o, Obj)]


def op_add_key(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Add a member: an unknown key, a known key in the wrong place, a hostile key."""
    objs = _objects(root)
    if not objs:
        return None
    obj = rng.choice(objs)
    key = rng.choice(corpus.keys) if rng.random() < 0.6 else rng.choice(HOSTILE_KEYS)
    obj.pairs.insert(rng.randrange(len(obj.pairs) + 1), [key, hostile_value(rng, corpus)])
    return root, f"+{key[:20]!r}"


def op_dup_key(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Duplicate a key of an object (same or other value)."""
    objs = [o for o in _objects(root) if o.pairs]
    if not objs:
        return None
    obj = rng.choice(objs)
    k, v = rng.choice(obj.pairs)
    obj.pairs.append([k, v if rng.random() < 0.5 else hostile_value(rng, corpus)])
    return root, f"dup {k}"


def op_container_swap(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """An object becomes the list of its values (or a list an object of its items)."""
    found = [s for s in slots(root) if isinstance(get(s, root), (Obj, list))]
    if not found:
        return None
    slot = rng.choice(found)
    node = get(slot, root)
    if isinstance(node, Obj):
        new: Any = [v for _, v in node.pairs]
    else:
        new = Obj([[str(i), v] for i, v in enumerate(node)])
    return put(slot, root, new), "swap container"


def op_splice_tree(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """A value becomes a subtree of another seed document."""
    found = slots(root)
    slot = rng.choice(found)
    donor = to_tree(rng.choice(corpus.documents + corpus.events))
    donor_slots = slots(donor)
    piece = get(rng.choice(donor_slots), donor)
    return put(slot, root, piece), f"splice at {key_of(slot) or '#'}"


def op_root(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """The whole document becomes something else: a list, a scalar, an empty object, the
    document twice, the document wrapped in a list."""
    choice = rng.randrange(7)
    if choice == 0:
        return [root], "wrapped in a list"
    if choice == 1:
        return Raw(dump(root) + " " + dump(root)), "twice"
    if choice == 2:
        return Raw(dump(root) + rng.choice([",", " x", "\x00", "]", "}"])), "trailing garbage"
    if choice == 3:
        return Obj([]), "{}"
    return rng.choice([[], None, "", Raw("0"), "str"]), "scalar root"


def op_string(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Edit a string value: control characters, newlines, ESC, bidi, case, padding,
    normalisation variants, length."""
    found = [s for s in slots(root) if isinstance(get(s, root), str)]
    if not found:
        return None
    slot = rng.choice(found)
    s = get(slot, root)
    edit = rng.randrange(8)
    if edit == 0:
        s = s.upper() if rng.random() < 0.5 else s.swapcase()
    elif edit == 1:
        s = rng.choice([" ", "\t", "\n", "  "]) + s + rng.choice(["", " ", "\n", "\r"])
    elif edit == 2:
        s = s.replace("_", rng.choice(["-", " ", "__", "-_- "])).replace("-", "_")
    elif edit == 3:
        i = rng.randrange(len(s) + 1)
        s = s[:i] + rng.choice(HOSTILE_STRINGS[:22]) + s[i:]
    elif edit == 4:
        s = s * rng.choice([2, 100, 3000])
    elif edit == 5:
        s = s[: rng.randrange(len(s) + 1)]
    elif edit == 6:
        s = s + "\udcff" if rng.random() < 0.5 else "\ud83d" + s
    else:
        s = rng.choice(corpus.strings) if corpus.strings else s
    return put(slot, root, s), f"{key_of(slot) or '#'} ~ {_short(s)}"


_MONEY_KEY = re.compile(r"usd|cost|amount|price|cap|limit|over|estimate|budget|spend", re.I)
_TIME_KEY = re.compile(r"time|_at$|^ts$|date|stamp|observed", re.I)
_COUNT_KEY = re.compile(r"tokens|calls|seconds|count|trials|n_|max_|minutes|size|index", re.I)


def op_money(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Money and counters as floats, strings, exponents, huge, negative, non-numbers."""
    found = [
        s
        for s in slots(root)[1:]
        if _MONEY_KEY.search(key_of(s))
        or _COUNT_KEY.search(key_of(s))
        or isinstance(get(s, root), Raw)
    ]
    if not found:
        return None
    slot = rng.choice(found)
    value = rng.choice(MONEY)
    return put(slot, root, value), f"{key_of(slot)} := {_short(value)}"


def op_timestamp(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Timestamps malformed, out of range, with odd offsets or the wrong type."""
    found = [s for s in slots(root)[1:] if _TIME_KEY.search(key_of(s))]
    if not found:
        return None
    slot = rng.choice(found)
    value = rng.choice(TIMESTAMPS)
    return put(slot, root, value), f"{key_of(slot)} := {_short(value)}"


def op_token(rng: random.Random, root: Any, corpus: Corpus) -> tuple[Any, str] | None:
    """Vocabulary fields (kinds, outcomes, states, types) get other tokens and variants."""
    found = [
        s
        for s in slots(root)[1:]
        if re.search(r"kind|outcome|state|type|status|decision|verdict|grade|guard", key_of(s))
    ]
    if not found:
        return None
    slot = rng.choice(found)
    value = rng.choice(TOKENS) if rng.random() < 0.8 else rng.choice(IDENTS)
    return put(slot, root, value), f"{key_of(slot)} := {_short(value)}"


TREE_OPS: dict[str, TreeOp] = {
    "replace": op_replace,
    "delete": op_delete,
    "add_key": op_add_key,
    "dup_key": op_dup_key,
    "container_swap": op_container_swap,
    "splice": op_splice_tree,
    "root": op_root,
    "string": op_string,
    "money": op_money,
    "timestamp": op_timestamp,
    "token": op_token,
}


def json_encoding(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Encoding hostility: BOM, UTF-16, Latin-1 bytes, CRLF, lone surrogate escapes,
    overlong UTF-8, U+2028 in strings, NUL."""
    path = pick(rng, spec, (".json", ".ndjson", ".jsonl"))
    if path is None:
        return None
    data = spec.files[path]
    edit = rng.randrange(8)
    if edit == 0:
        data = b"\xef\xbb\xbf" + data
    elif edit == 1:
        try:
            data = data.decode("utf-8").encode(rng.choice(["utf-16", "utf-16-le", "utf-32"]))
        except UnicodeDecodeError:
            return None
    elif edit == 2:
        data = data.replace(b'"', b'"\xe9', 1)
    elif edit == 3:
        data = data.replace(b"\n", b"\r\n")
    elif edit == 4:
        data = data.replace(b'":"', b'":"\\ud800', 1).replace(b'": "', b'": "\\udfff', 1)
    elif edit == 5:
        data = data.replace(b'"', b'"\xc0\xaf', 1)  # an overlong "/"
    elif edit == 6:
        data = data.replace(b'"', b'"\xe2\x80\xa8', 2)
    else:
        data = data + b"\x00"
    spec.files[path] = data
    return f"{path} encoding {edit}"


# -- fields the engine reads -------------------------------------------------------------


def _edit_json(
    spec: PackSpec, path: str, rng: random.Random, edit: Callable[[Obj], str | None]
) -> str | None:
    if path not in spec.files:
        return None
    try:
        root = parse(spec.files[path])
    except ValueError:
        return None
    if not isinstance(root, Obj):
        return None
    what = edit(root)
    if what is None:
        return None
    spec.files[path] = dump_bytes(root, rng)
    return f"{path}: {what}"


def _set(obj: Obj, key: str, value: Any) -> None:
    for pair in obj.pairs:
        if pair[0] == key:
            pair[1] = value
            return
    obj.pairs.append([key, value])


def _member(obj: Obj, key: str) -> Any:
    for k, v in obj.pairs:
        if k == key:
            return v
    return None


def field_ids(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """run_id, pack_id, substrate.type/version, created_at: hostile strings and types."""

    def edit(obj: Obj) -> str | None:
        key = rng.choice(["run_id"] if path == BUNDLE else ["pack_id", "substrate", "created_at"])
        if key == "substrate":
            sub = _member(obj, "substrate")
            if not isinstance(sub, Obj) or rng.random() < 0.3:
                sub = Obj([["type", "langgraph"], ["version", "1"]])
                _set(obj, "substrate", sub if rng.random() < 0.8 else hostile_value(rng, corpus))
            if isinstance(sub, Obj):
                _set(sub, rng.choice(["type", "version", "x"]), rng.choice(IDENTS))
            return "substrate"
        value = rng.choice(TIMESTAMPS) if key == "created_at" else rng.choice(IDENTS)
        if spec.gentle and key != "run_id":
            return None  # pack_id and created_at have patterns: any change is a refusal
        if spec.gentle and not isinstance(value, str):
            value = rng.choice([v for v in IDENTS if isinstance(v, str)])
        _set(obj, key, value)
        return f"{key} := {_short(value)}"

    path = rng.choice([BUNDLE, MANIFEST])
    return _edit_json(spec, path, rng, edit)


def field_pins(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Pins: other, unknown, placeholder, path-like rulesets; protocol pins; schema digests
    in the wrong case or length; contract versions."""
    from fuzz.hostile import REPO

    rulesets = [
        *corpus.ruleset_ids,
        "ruleset-1.3",
        "ruleset-9",
        "RULESET-1.1",
        " ruleset-1.1",
        "ruleset-1.1\n",
        "placeholder",
        "TBD",
        "unknown",
        "my-placeholder-1",
        "../rulesets/ruleset-1.1",
        "rulesets/ruleset-1.2",
        str(REPO / "rulesets" / "ruleset-1.2" / "ruleset.yaml"),
        "/etc/passwd",
        "",
        Raw("1.1"),
        None,
    ]
    digests = [p[2] for p in corpus.pins]
    digest_values = [
        *digests,
        *(d.upper() for d in digests),
        *(d[:63] for d in digests),
        *(d + "0" for d in digests),
        *("sha256:" + d for d in digests),
        "0" * 64,
        "",
        "placeholder",
    ]

    def edit(obj: Obj) -> str | None:
        key = rng.choice(["ruleset_ref", "protocol_pin", "schema_bundle_sha256", "drop"])
        if key == "drop":
            name = rng.choice(["ruleset_ref", "protocol_pin", "schema_bundle_sha256", "run_id"])
            obj.pairs = [p for p in obj.pairs if p[0] != name]
            return f"del {name}"
        value: Any
        if key == "ruleset_ref":
            value = rng.choice(rulesets)
        elif key == "protocol_pin":
            value = rng.choice(
                ["1.0.0", "1.0", "1", "1.0.0-rc1", "v1.0.0", "1.0.0 ", "", "TBD", Raw("1.0")]
            )
        else:
            value = rng.choice(digest_values)
        _set(obj, key, value)
        return f"{key} := {_short(value)}"

    def manifest_edit(obj: Obj) -> str | None:
        value = rng.choice(
            ["1.0", "1.1", "1.2", "1.10", "01.1", "1.1.0", "", Raw("1.1"), None, "1.1\n"]
        )
        key = rng.choice(["contract_version", "contract_version", "protocol_version"])
        _set(obj, key, value)
        return f"{key} := {_short(value)}"

    if rng.random() < 0.7:
        return _edit_json(spec, BUNDLE, rng, edit)
    return _edit_json(spec, MANIFEST, rng, manifest_edit)


SCENARIO_KEYS = [
    "partial_execution",
    "privileged_action",
    "termination_case",
    "settlement_expected",
    "spend_cap",
    "eval_matrix",
    "mission_policy",
    "domain",
]


def field_scenario(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """scenario_meta: flags flipped, given as strings/numbers/null, the whole object of the
    wrong type; turns clauses on and off across domains."""

    def edit(obj: Obj) -> str | None:
        meta = _member(obj, "scenario_meta")
        if rng.random() < 0.1 and not spec.gentle:
            whole: Any = rng.choice([None, [], "true", Raw("1"), Obj([])])
            _set(obj, "scenario_meta", whole)
            return f"scenario_meta := {_short(whole)}"
        if not isinstance(meta, Obj):
            meta = Obj([])
            _set(obj, "scenario_meta", meta)
        changed = []
        for _ in range(rng.choice([1, 2, 4])):
            key = rng.choice(SCENARIO_KEYS)
            value: Any = rng.choice(
                [True, False] if spec.gentle else [True, False, "true", Raw("1"), None, "yes"]
            )
            _set(meta, key, value)
            changed.append(f"{key}={_short(value)}")
        return "scenario_meta " + ",".join(changed)

    return _edit_json(spec, BUNDLE, rng, edit)


def field_crossref(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Receipt cross-references: admission_receipt_ref, policy_sha256, run_id/attempt_id
    agreeing or not with the bundle and the other receipt."""
    candidates = [p for p in (SETTLEMENT, ADMISSION_RECEIPT, OUTCOME) if p in spec.files]
    if not candidates:
        return None
    path = rng.choice(candidates)

    def edit(obj: Obj) -> str | None:
        key = rng.choice(["run_id", "attempt_id", "receipt_id", "admission_receipt_ref"])
        if path == OUTCOME:
            key = rng.choice(["policy_sha256", "verdict", "integrity_grade", "blocked_reasons"])
        value = hostile_value(rng, corpus) if rng.random() < 0.5 else rng.choice(IDENTS)
        _set(obj, key, value)
        return f"{key} := {_short(value)}"

    return _edit_json(spec, path, rng, edit)


# -- NDJSON ------------------------------------------------------------------------------


def _nd_target(rng: random.Random, spec: PackSpec) -> str | None:
    return pick(rng, spec, (".ndjson", ".jsonl"))


def nd_dup_event_id(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Two records with the same event_id (a copy of a line, or an id reused)."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    lines = _lines(spec.files[path])
    full = [i for i, line in enumerate(lines) if line.strip()]
    if not full:
        return None
    i = rng.choice(full)
    if rng.random() < 0.5:
        lines.insert(rng.randrange(len(lines) + 1), lines[i])
    else:
        try:
            record = parse(lines[rng.choice(full)])
            other = parse(lines[i])
        except ValueError:
            return None
        if isinstance(record, Obj) and isinstance(other, Obj):
            _set(record, "event_id", _member(other, "event_id"))
            lines[full[0]] = dump(record).encode("utf-8", "surrogatepass")
    spec.files[path] = b"\n".join(lines)
    return path


def nd_lines(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Blank lines, whitespace-only lines, deleted, duplicated, shuffled, reversed lines."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    lines = _lines(spec.files[path])
    edit = rng.randrange(6)
    if edit == 0:
        for _ in range(rng.choice([1, 3, 50])):
            lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b" ", b"\t", b"\r"]))
    elif edit == 1 and lines:
        del lines[rng.randrange(len(lines))]
    elif edit == 2 and lines:
        i = rng.randrange(len(lines))
        lines[i:i] = [lines[i]] * rng.choice([1, 10, 500])
    elif edit == 3:
        rng.shuffle(lines)
    elif edit == 4:
        lines.reverse()
    else:
        lines = lines[: rng.randrange(len(lines) + 1)]
    spec.files[path] = b"\n".join(lines)
    return f"{path} lines {edit}"


def nd_terminators(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Line endings: CRLF, lone CR, CR CR LF, LF CR, no final newline, BOM at the start,
    U+2028 / U+0085 as would-be line breaks."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    data = spec.files[path]
    edit = rng.randrange(7)
    if edit == 0:
        data = data.replace(b"\n", b"\r\n")
    elif edit == 1:
        data = data.replace(b"\n", b"\r")
    elif edit == 2:
        data = data.replace(b"\n", b"\r\r\n", 1)
    elif edit == 3:
        data = data.replace(b"\n", b"\n\r")
    elif edit == 4:
        data = data.rstrip(b"\n")
    elif edit == 5:
        data = b"\xef\xbb\xbf" + data
    else:
        data = data.replace(b"\n", rng.choice([b"\xe2\x80\xa8", b"\xc2\x85", b"\x0b", b"\x0c"]))
    spec.files[path] = data
    return f"{path} terminators {edit}"


def nd_long_line(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A long line (a long string value, or whitespace padding)."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    size = rng.choice([300, 5000, 70_000, 250_000])
    if rng.random() < 0.5:
        line = b'{"event_id":"evt-long-1","event_type":"x","pad":"' + b"p" * size + b'"}'
    else:
        line = b" " * size + b'{"event_id":"evt-long-2"}' + b" " * rng.choice([0, size])
    lines = _lines(spec.files[path])
    lines.insert(rng.randrange(len(lines) + 1), line)
    spec.files[path] = b"\n".join(lines)
    return f"{path} +{size}"


def nd_non_object(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A line that is not a JSON object: an array, a scalar, invalid JSON, two objects."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    bad = rng.choice(
        [
            b"[]",
            b"[{}]",
            b"1",
            b'"x"',
            b"null",
            b"true",
            b"{",
            b"}",
            b'{"a":1}{"b":2}',
            b'{"a":1},',
            b"{'a': 1}",
            b'{"event_id":NaN}',
            b'{"event_id":"e","x":1e400}',
            b'{"event_id":"e","x":' + b"9" * 5000 + b"}",
            b'{"event_id":"a","event_id":"b"}',
            b'{"event_id":"\\ud800"}',
            b'{"event_id":"e\x00"}',
            b'{"event_id":"\xff"}',
            b"\x00",
            deep(70).text.encode(),
            b'{"event_id":"' + deep(1).text.encode() + b'"}',
        ]
    )
    lines = _lines(spec.files[path])
    i = rng.randrange(len(lines) + 1)
    if rng.random() < 0.5 and i < len(lines):
        lines[i] = bad
    else:
        lines.insert(i, bad)
    spec.files[path] = b"\n".join(lines)
    return f"{path}:{i + 1} := {bad[:30]!r}"


def nd_record(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A JSON structural mutation of one record (type confusion, keys, tokens, money,
    timestamps), kept on one line."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    lines = _lines(spec.files[path])
    full = [i for i, line in enumerate(lines) if line.strip()]
    if not full:
        return None
    i = rng.choice(full)
    try:
        record = parse(lines[i])
        name = rng.choice(list(TREE_OPS))
        result = TREE_OPS[name](rng, record, corpus)
        if result is None:
            return None
        record, what = result
        lines[i] = dump_bytes(record, rng, one_line=True).replace(b"\n", b"\\n")
    except (ValueError, RecursionError):
        return None
    spec.files[path] = b"\n".join(lines)
    return f"{path}:{i + 1} {name}: {what}"


def nd_inject(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Events borrowed from other seeds' logs, inserted anywhere (other domains' events
    meet this pack's clauses)."""
    path = EVENTS if EVENTS in spec.files and rng.random() < 0.8 else _nd_target(rng, spec)
    if path is None or not corpus.events:
        return None
    lines = _lines(spec.files[path])
    for n in range(rng.choice([1, 1, 3, 10])):
        event = rng.choice(corpus.events)
        if isinstance(event, dict) and (spec.gentle or rng.random() < 0.5):
            event = {**event, "event_id": f"evt-injected-{n}-{rng.randrange(10**6)}"}
        line = json.dumps(event, separators=(",", ":")).encode("utf-8", "surrogatepass")
        lines.insert(rng.randrange(len(lines) + 1), line)
    spec.files[path] = b"\n".join(lines)
    return path


def nd_invalid_utf8(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Invalid UTF-8 inside a record's string, or a NUL, or a truncated multi-byte char."""
    path = _nd_target(rng, spec)
    if path is None:
        return None
    data = spec.files[path]
    marks = [m.start() for m in re.finditer(rb'":"', data)]
    if not marks:
        return None
    at = rng.choice(marks) + 3
    spec.files[path] = (
        data[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + data[at:]
    )
    return path


# -- YAML --------------------------------------------------------------------------------

YAML_SCALARS = [
    "~",
    "null",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    ".nan",
    ".inf",
    "-.inf",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1e400",
    "1" + "0" * 5000,
    "2001-12-14t21:59:43.10-05:00",
    "2026-05-29",
    "12:30:00",
    "!!binary aGVsbG8=",
    "!!python/object:os.system ls",
    "!!python/name:os.system",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom x",
    "!!str 1",
    "!!int x",
    "!!float nan",
    "&x 1",
    "*undefined",
    "[a, [b, [c]]]",
    "{a: {b: {c: d}}}",
    "[" * 200 + "]" * 200,
    "'quoted\\n'",
    '"\\x1b[31m\\u202e\\0"',
    '"\\ud800"',
    "|\n  block\n  text",
    ">-\n  folded",
    "'" + "a" * 100_000 + "'",
    "- list",
    "? complex",
    ":",
    "%TAG ! tag:x,2000:",
    "\t",
    "",
]


def _yaml_target(rng: random.Random, spec: PackSpec) -> str | None:
    return pick(rng, spec, (".yaml", ".yml"))


def yaml_scalar(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A scalar after a ``key:`` gets a hostile YAML scalar (tags, aliases, specials,
    huge, deep flow nesting, other types)."""
    path = _yaml_target(rng, spec)
    if path is None:
        return None
    lines = spec.files[path].split(b"\n")
    keyed = [
        i for i, line in enumerate(lines) if b":" in line and not line.lstrip().startswith(b"#")
    ]
    if not keyed:
        return None
    i = rng.choice(keyed)
    head = lines[i].split(b":", 1)[0]
    value = rng.choice(YAML_SCALARS).encode("utf-8", "surrogatepass")
    lines[i] = head + b": " + value
    spec.files[path] = b"\n".join(lines)
    return f"{path}:{i + 1} {head.strip()[:20]!r} := {value[:30]!r}"


def yaml_structure(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Document structure: aliases (recursive, merge keys), several documents, duplicate
    keys, tabs, bad indentation, complex keys, a document that is a list or a scalar."""
    path = _yaml_target(rng, spec)
    if path is None:
        return None
    data = spec.files[path]
    edit = rng.randrange(10)
    if edit == 0:
        data = b"base: &b {mission_hard_limit_usd: 1}\n" + data + b"\nbudget:\n  <<: *b\n"
    elif edit == 1:
        data = b"r: &r [*r]\n" + data
    elif edit == 2:
        data = data + b"\n---\n" + data
    elif edit == 3:
        lines = data.split(b"\n")
        if lines:
            lines.append(rng.choice(lines))
        data = b"\n".join(lines)
    elif edit == 4:
        data = data.replace(b"  ", b"\t", 1)
    elif edit == 5:
        data = data.replace(b"\n  ", b"\n   ", 1)
    elif edit == 6:
        data = b"? [a, b]\n: c\n" + data
    elif edit == 7:
        data = rng.choice([b"- a\n- b\n", b"just a string\n", b"", b"~\n", b"[]\n", b"{}\n"])
    elif edit == 8:
        data = b"%YAML 1.1\n---\n" + data
    else:
        data = b"a: &a\n  b: *a\n" + data
    spec.files[path] = data
    return f"{path} structure {edit}"


def yaml_patterns(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Glob patterns of protect/allow: backtracking shapes, brackets, escapes, very long or
    very many patterns, and changed-file lists to match them against."""
    if POLICY not in spec.files:
        return None
    pats = [
        "**/" * 30 + "x",
        "*" * 200,
        "*a" * 100,
        "[",
        "[!]",
        "[a-",
        "\\",
        "{a,b}",
        "**",
        "/",
        "",
        ".",
        "..",
        "../**",
        "tests/**/**/**/**/**/**/**/**/**/**/*.mjs",
        "?" * 500,
        "a" * 10_000,
        "\x1b[31m",
        "é/**",
        "[[:alpha:]]",
        "(a|b)",
        "a+b",
        "^$",
    ]
    chosen = [rng.choice(pats) for _ in range(rng.choice([1, 3, 300]))]
    key = rng.choice([b"protect", b"allow"])
    text = json.dumps(chosen).encode()
    data = spec.files[POLICY]
    m = re.search(rb"(?m)^(\s*)" + key + rb":.*$", data)
    if m:
        data = data[: m.start()] + m.group(1) + key + b": " + text + data[m.end() :]
    else:
        data = data + b"\nverification:\n  " + key + b": " + text + b"\n"
    spec.files[POLICY] = data
    if OUTCOME in spec.files and rng.random() < 0.7:
        try:
            receipt = parse(spec.files[OUTCOME])
            ver = _member(receipt, "verification") if isinstance(receipt, Obj) else None
            if isinstance(ver, Obj):
                changed = ["a" * 3000, "tests/" + "a/" * 200 + "x.mjs", "../x", "", "\x00"]
                _set(ver, "changed_files", [rng.choice(changed) for _ in range(5)])
                spec.files[OUTCOME] = dump_bytes(receipt, rng)
        except ValueError:
            pass
    return f"{POLICY} {key.decode()} x{len(chosen)}"


# -- evidence pointers and locators -----------------------------------------------------


def _pointers(spec: PackSpec) -> tuple[Any, list[Obj]] | None:
    if POINTERS not in spec.files:
        return None
    try:
        root = parse(spec.files[POINTERS])
    except ValueError:
        return None
    if not isinstance(root, Obj):
        return None
    items = _member(root, "pointers")
    if not isinstance(items, list):
        return None
    return root, [p for p in items if isinstance(p, Obj)]


def _event_ids(spec: PackSpec, path: str) -> list[str]:
    ids = []
    for line in _lines(spec.files.get(path, b""))[:2000]:
        m = re.search(rb'"event_id"\s*:\s*"([^"\\]*)"', line)
        if m:
            ids.append(m.group(1).decode("utf-8", "replace"))
    return ids


def hostile_locator(rng: random.Random, spec: PackSpec, artifact: str) -> str:
    ids = _event_ids(spec, artifact) or ["evt-budget-001"]
    n_lines = spec.files.get(artifact, b"").count(b"\n") + 1
    roll = rng.randrange(5)
    if roll == 0:
        return "event_id:" + rng.choice(
            [
                rng.choice(ids),
                rng.choice(ids) + " ",
                rng.choice(ids).upper(),
                "",
                " ",
                "evt\nx",
                "\u202eevt",
                "x" * 5000,
                "evt:with:colons",
                "\udcff",
            ]
        )
    if roll == 1:
        return "line:" + rng.choice(
            [
                str(rng.randrange(1, n_lines + 2)),
                "0",
                "-1",
                "+1",
                "01",
                " 1",
                "1 ",
                "1.0",
                "1e3",
                str(n_lines),
                str(n_lines + 1),
                str(2**31),
                str(2**63),
                "9" * 18,
                "9" * 19,
                "9" * 5000,
                "١",
                "",
            ]
        )
    if roll == 2:
        return "jsonptr:" + rng.choice(
            [
                "",
                "/",
                "/pointers",
                "/pointers/0",
                "/pointers/-",
                "/pointers/01",
                "/pointers/" + "9" * 30,
                "/a~0b",
                "/a~1b",
                "/~",
                "/~2",
                "/a~",
                "~01",
                "no-slash",
                "/" + "a/" * 3000,
                "/0" * 500,
                "/actual/cost_usd",
                "/verification/protected_files/0/path",
                "/\u202e",
                "/\x00",
                "#/a",
            ]
        )
    if roll == 3:
        return rng.choice(["file:", "file:x", "file: ", "file:/", "FILE:", "file"])
    return rng.choice(
        [
            "",
            ":",
            "sql:select",
            "EVENT_ID:evt-budget-001",
            "event_id",
            "line",
            "jsonpath:$.a",
            "xpath://a",
            "event_id:evt-budget-001\n",
            " event_id:evt-budget-001",
        ]
    )


_LINE = re.compile(r"[1-9][0-9]*")
_BAD_TILDE = re.compile(r"~(?![01])")


def well_formed(locator: str) -> bool:
    """The locator grammar of evidence-pack.md (a well-formed locator may still find
    nothing)."""
    kind, sep, value = locator.partition(":")
    if not sep:
        return False
    if kind == "event_id":
        return value != ""
    if kind == "line":
        return _LINE.fullmatch(value) is not None
    if kind == "jsonptr":
        return (value == "" or value.startswith("/")) and not _BAD_TILDE.search(value)
    return kind == "file" and value == ""


def ptr_locator(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A pointer's locator: every kind with edge values (huge line numbers, ~0/~1 and bad
    escapes, unknown kinds, ids that almost match)."""
    found = _pointers(spec)
    if found is None or not found[1]:
        return None
    root, pointers = found
    p = rng.choice(pointers)
    artifact = _member(p, "artifact_path")
    target = artifact if isinstance(artifact, str) else EVENTS
    locator = hostile_locator(rng, spec, target)
    for _ in range(20 if spec.gentle else 0):
        if well_formed(locator):
            break
        locator = hostile_locator(rng, spec, target)
    _set(p, "locator", locator)
    spec.files[POINTERS] = dump_bytes(root, rng)
    return f"locator := {_short(locator)}"


ARTIFACT_PATHS = [
    "../manifest.json",
    "/etc/passwd",
    "trace\\events.ndjson",
    "trace//events.ndjson",
    "./trace/events.ndjson",
    "trace/./events.ndjson",
    "trace/../trace/events.ndjson",
    "trace/",
    "trace",
    "",
    SUMS,
    "integrity/signatures/x.json",
    "TRACE/events.ndjson",
    "trace/events.ndjson\x00",
    "trace/events.ndjson\n",
    "trace/e\u0301vents.ndjson",
    "~/x.json",
    "C:\\x.json",
    "C:/x.json",
    "file:///etc/passwd",
    "a" * 5000 + ".json",
    POLICY,
    "artifacts/notes.txt",
    "artifacts/x.csv",
    "artifacts/decisions.jsonl",
    "\udcff.json",
    MANIFEST,
    BUNDLE,
    POINTERS,
]


def ptr_artifact(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A pointer's artifact_path: unsafe, absolute, backslash, other pack files (of other
    kinds), missing files, the sums file, names that differ by case or normalisation."""
    found = _pointers(spec)
    if found is None or not found[1]:
        return None
    root, pointers = found
    p = rng.choice(pointers)
    others = [f for f in spec.files if f != SUMS]
    value: Any = rng.choice(ARTIFACT_PATHS + others) if rng.random() < 0.9 else None
    if rng.random() < 0.05:
        value = rng.choice([Raw("1"), [], Obj([])])
    if spec.gentle:  # safe relative paths only: other files, missing ones, other kinds
        value = rng.choice([*others, POLICY, "artifacts/missing.json", "trace/other.ndjson"])
    _set(p, "artifact_path", value)
    if isinstance(value, str) and rng.random() < 0.5:
        _set(p, "locator", hostile_locator(rng, spec, value))
    spec.files[POINTERS] = dump_bytes(root, rng)
    return f"artifact_path := {_short(value)}"


def _line_hash(data: bytes, n: int) -> str | None:
    lines = data.split(b"\n")
    if not 1 <= n <= len(lines):
        return None
    return hashlib.sha256(lines[n - 1].removesuffix(b"\r")).hexdigest()


def ptr_fields(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """status, requirement_id, content_hash (right, wrong, malformed), note."""
    found = _pointers(spec)
    if found is None or not found[1]:
        return None
    root, pointers = found
    p = rng.choice(pointers)
    key = rng.choice(["status", "requirement_id", "content_hash", "content_hash", "note"])
    if spec.gentle:
        key = rng.choice(["requirement_id", "content_hash", "content_hash", "note"])
    value: Any
    if key == "status":
        value = rng.choice(
            [
                *("PRESENT", "ABSENT", "NOT_EVALUATED", "present", " PRESENT", "NOT-EVALUATED"),
                *("", None, Raw("1"), True),
            ]
        )
    elif key == "requirement_id":
        value = rng.choice(
            [
                *corpus.requirement_ids,
                *("RQ-D1-1", "RQ-D1-010", "rq-d1-01", "RQ-D9-99", "RQ-D1-01 ", "RQ-", "RQ-D1-0l"),
                *("RQ-" + "9" * 5000, "", None),
            ]
        )
    elif key == "content_hash":
        artifact = _member(p, "artifact_path")
        locator = _member(p, "locator")
        data = spec.files.get(artifact, b"") if isinstance(artifact, str) else b""
        right: str | None = None
        if isinstance(locator, str):
            if locator == "file:":
                right = hashlib.sha256(data).hexdigest()
            elif locator.startswith("line:") and locator[5:].isdigit() and len(locator) < 12:
                right = _line_hash(data, int(locator[5:]))
            elif locator.startswith("event_id:"):
                wanted = locator[9:]
                for n, line in enumerate(data.split(b"\n"), 1):
                    if wanted and f'"{wanted}"'.encode() in line:
                        right = _line_hash(data, n)
                        break
        h = right or hashlib.sha256(b"x").hexdigest()
        value = rng.choice(
            [
                "sha256:" + h,
                "sha256:" + h,
                "sha256:" + h.upper(),
                h,
                "sha256:" + h[:63],
                "sha256:",
                "SHA256:" + h,
                "md5:" + h[:32],
                "sha256:" + "g" * 64,
                "",
                None,
                Raw("0"),
            ]
        )
    else:
        value = rng.choice(HOSTILE_STRINGS)
    if spec.gentle and not isinstance(value, str):
        value = rng.choice(corpus.requirement_ids) if key == "requirement_id" else "x"
    _set(p, key, value)
    spec.files[POINTERS] = dump_bytes(root, rng)
    return f"{key} := {_short(value)}"


def ptr_many(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Many pointers: one pointer repeated, every requirement pointed at every line."""
    found = _pointers(spec)
    if found is None:
        return None
    root, pointers = found
    items = _member(root, "pointers")
    n = rng.choice([10, 100, 1000])
    if pointers and rng.random() < 0.5:
        items.extend([rng.choice(pointers)] * n)
    else:
        n_lines = spec.files.get(EVENTS, b"").count(b"\n") + 1
        for i in range(min(n, 300)):
            items.append(
                Obj(
                    [
                        ["requirement_id", rng.choice(corpus.requirement_ids)],
                        ["artifact_path", EVENTS],
                        ["locator", f"line:{i % max(n_lines, 1) + 1}"],
                        ["status", "PRESENT"],
                    ]
                )
            )
    spec.files[POINTERS] = dump_bytes(root, rng)
    return f"+{n} pointers"


def ptr_shape(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """The pointers file's shape: pointers not a list, items not objects, members missing,
    unknown members, pointers key missing or duplicated."""
    found = _pointers(spec)
    if found is None:
        return None
    root, pointers = found
    edit = rng.randrange(6)
    if edit == 0:
        _set(root, "pointers", rng.choice([None, Obj([]), "x", Raw("1")]))
    elif edit == 1:
        _member(root, "pointers").append(rng.choice([None, "x", [], Raw("1")]))
    elif edit == 2 and pointers:
        p = rng.choice(pointers)
        name = rng.choice(["requirement_id", "artifact_path", "locator", "status"])
        p.pairs = [x for x in p.pairs if x[0] != name]
    elif edit == 3 and pointers:
        rng.choice(pointers).pairs.append([rng.choice([*HOSTILE_KEYS, "extra"]), "x"])
    elif edit == 4:
        root.pairs = [x for x in root.pairs if x[0] != "pointers"]
    else:
        root.pairs.append(["pointers", []])
    spec.files[POINTERS] = dump_bytes(root, rng)
    return f"shape {edit}"


# -- the file system ---------------------------------------------------------------------

WEIRD_NAMES = [
    "\udcff\udcfe.json",  # bytes ff fe: not UTF-8
    "a\udcc3.json",
    "ctl\x01.json",
    "esc\x1b[31m.json",
    "\u202egnp.json",
    "new\nline.json",
    "tab\t.json",
    "cr\r.json",
    "space name.json",
    " lead.json",
    "trail .json",
    "-dash.json",
    ".hidden.json",
    "x" * 250 + ".json",
    "é.json",
    "e\u0301.json",
    "A.json",
    "a.json",
    "con.json",
    "emoji🙂.json",
    "a:b.json",
    "*.json",
    "?.json",
    "[x].json",
    "%00.json",
    "..json",
    "...json",
    "\u00a0.json",
    "\ufeff.json",
    "\u2028.json",
    "back\\slash.json",
]
BAD_ENDINGS = [
    ".exe",
    ".JSON",
    ".json~",
    ".json.bak",
    "",
    ".jsonl.gz",
    ".toml",
    ".sha256",
    ".log",
    ".sh",
    ".py",
    ".json.",
    ".Json",
]


def _rename(spec: PackSpec, old: str, new: str) -> None:
    spec.files[new] = spec.files.pop(old)


def _some_dir(rng: random.Random, spec: PackSpec) -> str:
    dirs = sorted({p.rsplit("/", 1)[0] for p in spec.files if "/" in p})
    return rng.choice(["", *dirs, "artifacts", "integrity", "integrity/signatures", "native"])


def _join(d: str, name: str) -> str:
    return f"{d}/{name}" if d else name


def fs_symlink(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Symbolic links: to a pack file, outside the pack, /dev/zero, dangling, a loop, to a
    folder; in place of a control file, the event log or a folder."""
    target = rng.choice(
        [
            "/etc/passwd",
            "/dev/zero",
            "..",
            ".",
            MANIFEST,
            "../" * 8 + "etc/hostname",
            "nonexistent.json",
            "trace",
            "self.json",
            "artifacts",
        ]
    )
    if rng.random() < 0.5 and spec.files:
        path = rng.choice([p for p in spec.files if p != SUMS] or [MANIFEST])
        spec.files.pop(path, None)
    else:
        path = _join(_some_dir(rng, spec), rng.choice(["link.json", "self.json", "trace", "d"]))
        if path in spec.files:
            spec.files.pop(path)
    if path.endswith("self.json"):
        target = path.rsplit("/", 1)[-1]
    spec.specials.append(Special("symlink", path, target))
    return f"{path} -> {target}"


def fs_special(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A FIFO, a socket or a device node: in place of a control file or the event log
    (would block a naive reader), or as an extra entry."""
    kind = rng.choice(["fifo", "fifo", "socket", "device"])
    if rng.random() < 0.6:
        path = rng.choice([*CONTROL, EVENTS, SUMS, *[p for p in spec.files if "/" in p]])
        spec.files.pop(path, None)
    else:
        path = _join(_some_dir(rng, spec), rng.choice(["x.json", "pipe.ndjson", "s.txt"]))
    spec.specials.append(Special(kind, path))
    return f"{kind} {path}"


def fs_dirs(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Folders: empty ones, very deep ones, a folder where a file is expected (the sums
    file, a control file), integrity/signatures/."""
    edit = rng.randrange(4)
    if edit == 0:
        path = _join(
            _some_dir(rng, spec), rng.choice(["empty", "snapshots", "signatures", "\u202ed"])
        )
        spec.specials.append(Special("dir", path))
    elif edit == 1:
        depth = rng.choice([20, 100, 300, 600])
        path = "/".join(["d"] * depth)
        if rng.random() < 0.5:
            spec.files[path + "/x.json"] = b"{}"
        else:
            spec.specials.append(Special("dir", path))
    elif edit == 2:
        path = rng.choice([*CONTROL, EVENTS, SUMS, "integrity"])
        spec.files.pop(path, None)
        spec.specials.append(Special("dir", path))
        if path == SUMS:
            spec.seal = "keep"
        elif path == "integrity":
            spec.files.pop(SUMS, None)
            spec.seal = "keep"
    else:
        spec.specials.append(Special("dir", "integrity/signatures"))
        if rng.random() < 0.5:
            spec.files["integrity/signatures/sig.json"] = rng.choice([b"{}", b"\xff", b""])
    return f"dirs {edit}"


def fs_many_files(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Many small files (folders of them; some JSON, some empty)."""
    n = rng.choice([20, 100, 500])
    d = rng.choice(["artifacts/many", "snapshots", "x"])
    for i in range(n):
        spec.files[f"{d}/f{i:04d}" + rng.choice([".json", ".txt", ".ndjson"])] = rng.choice(
            [b"{}", b"", b"[]", b'{"event_id":"e"}\n']
        )
    return f"{n} files in {d}"


def fs_names(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """File names: non-UTF-8 bytes, control characters, U+202E, newlines, NFC/NFD and case
    twins, very long, leading dash or dot, reserved-looking names."""
    name = rng.choice(WEIRD_NAMES)
    d = _some_dir(rng, spec)
    path = _join(d, name)
    if rng.random() < 0.4:
        victim = pick(rng, spec)
        if victim is not None and victim not in CONTROL:
            _rename(spec, victim, _join(victim.rsplit("/", 1)[0] if "/" in victim else "", name))
            return f"{victim} -> {name!r}"
    spec.files[path] = rng.choice([b"{}", b"", b'{"a":1}'])
    if name in ("é.json", "e\u0301.json", "A.json", "a.json"):
        twin = {"é.json": "e\u0301.json", "e\u0301.json": "é.json", "A.json": "a.json"}
        spec.files[_join(d, twin.get(name, "A.json"))] = b"{}"
    return f"+{path!r}"


def fs_hardlink(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A hard link: a second name for a pack file (listed in the sums like any file)."""
    source = pick(rng, spec)
    if source is None:
        return None
    new = _join(_some_dir(rng, spec), rng.choice(["hard.json", "events-copy.ndjson", "h.txt"]))
    if new in spec.files:
        return None
    spec.specials.append(Special("hardlink", new, source))
    return f"{new} = {source}"


def fs_endings(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Disallowed endings (and allowed ones in odd places: native/*.toml, .log)."""
    ending = rng.choice(BAD_ENDINGS)
    if rng.random() < 0.5:
        victim = pick(rng, spec)
        if victim is None:
            return None
        new = victim.rsplit(".", 1)[0] + ending
        if new in spec.files:
            return None
        _rename(spec, victim, new)
        return f"{victim} -> {new}"
    d = rng.choice(["native", "artifacts", "", "native/sub"])
    spec.files[_join(d, "extra" + ending)] = b"x = 1\n"
    return f"+{_join(d, 'extra' + ending)}"


def fs_empty(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Zero-byte files (control files, the event log, receipts, policies)."""
    path = pick(rng, spec)
    if path is None:
        return None
    spec.files[path] = b""
    return path


def fs_remove(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """A file removed (a control file, the event log, an artifact a clause reads)."""
    path = rng.choice([p for p in spec.files if p != SUMS] or [MANIFEST])
    spec.files.pop(path, None)
    return path


def fs_move(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Control files renamed (case, spaces) or the whole pack nested one folder down."""
    if rng.random() < 0.3:
        nest = rng.choice(["pack", "x", "pack/pack"])
        spec.files = {f"{nest}/{p}": b for p, b in spec.files.items()}
        spec.specials = [Special(s.kind, f"{nest}/{s.path}", s.target) for s in spec.specials]
        spec.seal = rng.choice(["keep", "reseal"])
        return f"nested under {nest}/"
    path = rng.choice([p for p in CONTROL if p in spec.files] or [None])
    if path is None:
        return None
    new = rng.choice([path.capitalize(), path.upper(), path + " ", " " + path, "trace/" + path])
    _rename(spec, path, new)
    return f"{path} -> {new!r}"


# -- the seal ----------------------------------------------------------------------------


def seal_stale(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Keep the sums file as it was before the mutations (INTEGRITY sees them)."""
    spec.seal = "keep"
    return "stale seal"


def sums_lines(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Malformed or odd sums lines: upper-case hex, short hex, a tab, one space, ``*``,
    trailing space, CRLF, BOM, blank and comment lines, ``./`` prefixes, a NUL."""
    data = spec.files.get(SUMS)
    if data is None:
        return None
    lines = data.split(b"\n")
    full = [i for i, line in enumerate(lines) if line]
    edit = rng.randrange(12)
    if full:
        i = rng.choice(full)
        line = lines[i]
        if edit == 0:
            line = line[:64].upper() + line[64:]
        elif edit == 1:
            line = line[:63] + line[64:]
        elif edit == 2:
            line = line[:64] + b"\t" + line[66:]
        elif edit == 3:
            line = line[:64] + b" " + line[66:]
        elif edit == 4:
            line = line[:64] + b" *" + line[66:]
        elif edit == 5:
            line = line + b" "
        elif edit == 6:
            line = line + b"\r"
        elif edit == 7:
            line = line[:66] + b"./" + line[66:]
        elif edit == 8:
            line = b"\\" + line
        elif edit == 9:
            line = line + b"\x00"
        lines[i] = line
    if edit == 10:
        lines.insert(0, rng.choice([b"", b"# comment", b"\xef\xbb\xbf", b" "]))
    elif edit == 11:
        data = b"\xef\xbb\xbf" + b"\n".join(lines)
        spec.files[SUMS] = data
        return "bom"
    spec.files[SUMS] = b"\n".join(lines)
    return f"sums line edit {edit}"


def sums_entries(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Entries: duplicated, dropped, a missing file listed, unsafe paths (``..``, absolute,
    backslash, NUL), the sums file listing itself, a signature listed, reordered, empty."""
    data = spec.files.get(SUMS)
    if data is None:
        return None
    lines = [line for line in data.split(b"\n") if line]
    h = hashlib.sha256(b"").hexdigest().encode()
    edit = rng.randrange(7)
    if edit == 0 and lines:
        lines.append(rng.choice(lines))
    elif edit == 1 and lines:
        del lines[rng.randrange(len(lines))]
    elif edit == 2:
        path = rng.choice(
            [
                b"missing.json",
                b"../outside.json",
                b"/etc/passwd",
                b"a\\b.json",
                b"a\x00b.json",
                b"./manifest.json",
                b"trace//events.ndjson",
                b"integrity/sha256sums.txt",
                b"integrity/signatures/x.json",
                b"\xff.json",
                b"",
                b"trace",
            ]
        )
        lines.append(h + b"  " + path)
    elif edit == 3:
        rng.shuffle(lines)
    elif edit == 4:
        lines = []
    elif edit == 5 and lines:
        i = rng.randrange(len(lines))
        lines[i] = lines[i][:66] + lines[i][66:].upper()
    else:
        lines = lines * rng.choice([2, 50])
    spec.files[SUMS] = b"\n".join(lines) + rng.choice([b"\n", b"", b"\n\n"])
    return f"sums entries {edit}"


def sums_bytes_flip(rng: random.Random, spec: PackSpec, corpus: Corpus) -> str | None:
    """Raw byte damage to the sums file after sealing."""
    data = spec.files.get(SUMS)
    if not data:
        return None
    b = bytearray(data)
    for _ in range(rng.choice([1, 2, 5])):
        i = rng.randrange(len(b))
        b[i] = rng.choice([0, 0x20, 0x0A, 0xFF, b[i] ^ 1, ord("g")])
    spec.files[SUMS] = bytes(b)
    return "sums bytes"


# -- how the pack is judged (recorded in the options, not in the files) -------------------


@dataclass
class Options:
    limits: dict[str, int] | None = None
    shadow: str | None = None  # adjudicate under this ruleset (--ruleset)
    via_symlink: bool = False  # judge the pack through a symbolic link to its folder

    def to_json(self) -> dict[str, Any]:
        return {"limits": self.limits, "shadow": self.shadow, "via_symlink": self.via_symlink}


def opt_limits(rng: random.Random, opts: Options, corpus: Corpus) -> str:
    """Judge under small safety limits (--max-files, --max-file-bytes, --max-pack-bytes,
    --max-line-bytes)."""
    limits = dict(opts.limits or {})
    for _ in range(rng.choice([1, 1, 2])):
        name = rng.choice(["max_files", "max_file_bytes", "max_pack_bytes", "max_line_bytes"])
        bound = {"max_files": 12, "max_file_bytes": 6000, "max_pack_bytes": 30_000}.get(name, 400)
        limits[name] = rng.choice([1, 2, rng.randrange(1, bound + 1), bound])
    opts.limits = limits
    return ",".join(f"{k}={v}" for k, v in sorted(limits.items()))


def opt_shadow(rng: random.Random, opts: Options, corpus: Corpus) -> str:
    """Judge as a shadow run under another ruleset (--ruleset)."""
    opts.shadow = rng.choice(corpus.ruleset_ids)
    return opts.shadow


def opt_symlink(rng: random.Random, opts: Options, corpus: Corpus) -> str:
    """Judge the pack through a symbolic link to its folder."""
    opts.via_symlink = True
    return "via symlink"


# -- the registry ------------------------------------------------------------------------

PackMutator = Callable[[random.Random, PackSpec, Corpus], "str | None"]
OptionMutator = Callable[[random.Random, Options, Corpus], str]


@dataclass(frozen=True)
class Mutator:
    name: str
    weight: float
    phase: str  # content (before sealing) | sealed (after) | options
    fn: Any

    @property
    def doc(self) -> str:
        text = (self.fn.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(text.split())


def _registry() -> dict[str, Mutator]:
    content: list[tuple[str, float, PackMutator]] = [
        ("byte_flip", 4, byte_flip),
        ("byte_insert", 4, byte_insert),
        ("byte_delete", 2, byte_delete),
        ("byte_truncate", 2, byte_truncate),
        ("byte_splice", 1.5, byte_splice),
        ("byte_duplicate", 1, byte_duplicate),
        *(
            (f"json_{name}", 3 if name == "replace" else 2, _tree_op(op))
            for name, op in TREE_OPS.items()
        ),
        ("json_encoding", 1.5, json_encoding),
        ("field_ids", 2, field_ids),
        ("field_pins", 2, field_pins),
        ("field_scenario", 3, field_scenario),
        ("field_crossref", 1.5, field_crossref),
        ("nd_dup_event_id", 1.5, nd_dup_event_id),
        ("nd_lines", 2, nd_lines),
        ("nd_terminators", 1.5, nd_terminators),
        ("nd_long_line", 1, nd_long_line),
        ("nd_non_object", 1.5, nd_non_object),
        ("nd_record", 5, nd_record),
        ("nd_inject", 3, nd_inject),
        ("nd_invalid_utf8", 1, nd_invalid_utf8),
        ("yaml_scalar", 2.5, yaml_scalar),
        ("yaml_structure", 1.5, yaml_structure),
        ("yaml_patterns", 1.5, yaml_patterns),
        ("ptr_locator", 4, ptr_locator),
        ("ptr_artifact", 2.5, ptr_artifact),
        ("ptr_fields", 3, ptr_fields),
        ("ptr_many", 1, ptr_many),
        ("ptr_shape", 1, ptr_shape),
        ("fs_symlink", 1, fs_symlink),
        ("fs_special", 1, fs_special),
        ("fs_dirs", 1, fs_dirs),
        ("fs_many_files", 0.5, fs_many_files),
        ("fs_names", 1.5, fs_names),
        ("fs_hardlink", 0.7, fs_hardlink),
        ("fs_endings", 1, fs_endings),
        ("fs_empty", 1, fs_empty),
        ("fs_remove", 1, fs_remove),
        ("fs_move", 0.5, fs_move),
        ("seal_stale", 1.5, seal_stale),
    ]
    sealed: list[tuple[str, float, PackMutator]] = [
        ("sums_lines", 1, sums_lines),
        ("sums_entries", 1, sums_entries),
        ("sums_bytes", 0.5, sums_bytes_flip),
    ]
    options: list[tuple[str, float, OptionMutator]] = [
        ("opt_limits", 2, opt_limits),
        ("opt_shadow", 2, opt_shadow),
        ("opt_symlink", 0.3, opt_symlink),
    ]
    out: dict[str, Mutator] = {}
    for phase, table in (("content", content), ("sealed", sealed), ("options", options)):
        for name, weight, fn in table:
            out[name] = Mutator(name, float(weight), phase, fn)
    return out


MUTATORS: dict[str, Mutator] = _registry()

# Mutators that usually leave a pack admissible (with ``spec.gentle`` they spare the control
# files): a "gentle" plan uses only these, so that clause evaluation sees hostile evidence.
GENTLE = (
    "json_replace",
    "json_delete",
    "json_add_key",
    "json_container_swap",
    "json_splice",
    "json_string",
    "json_money",
    "json_timestamp",
    "json_token",
    "field_ids",
    "field_scenario",
    "field_crossref",
    "nd_record",
    "nd_inject",
    "nd_lines",
    "yaml_scalar",
    "yaml_structure",
    "yaml_patterns",
    "ptr_locator",
    "ptr_artifact",
    "ptr_fields",
    "ptr_many",
    "opt_shadow",
)


def fix_crossrefs(spec: PackSpec) -> bool:
    """Make the receipts' hash references agree with the (mutated) files they name, so a
    mutation of a policy or an admission receipt is judged past the reference check."""
    changed = False
    for receipt, target, keys in (
        (OUTCOME, POLICY, ("policy_sha256",)),
        (SETTLEMENT, ADMISSION_RECEIPT, ("admission_receipt_ref", "sha256")),
    ):
        if receipt not in spec.files or target not in spec.files:
            continue
        try:
            root = parse(spec.files[receipt])
        except ValueError:
            continue
        holder: Any = root
        for key in keys[:-1]:
            holder = _member(holder, key) if isinstance(holder, Obj) else None
        if not isinstance(holder, Obj):
            continue
        old = _member(holder, keys[-1])
        new = "sha256:" + hashlib.sha256(spec.files[target]).hexdigest()
        if not isinstance(old, str) or old == new:
            continue
        raw = old.encode("utf-8", "surrogatepass")
        if raw in spec.files[receipt]:
            spec.files[receipt] = spec.files[receipt].replace(raw, new.encode(), 1)
            changed = True
    return changed


def _short(value: Any) -> str:
    text = (
        value.text
        if isinstance(value, Raw)
        else dump(value)
        if not isinstance(value, str)
        else repr(value)
    )
    return text if len(text) <= 40 else text[:37] + "..."
