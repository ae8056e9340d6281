"""The producer library's public face: its names importable from ``vlab.producer``, each
documented; ``schema_bundle_sha256`` giving exactly what the CLI says a pack pins; the one
lazy import that lets it; ``pointer``; ``created_at`` from the clock on this side only; and
what ships with the package (``py.typed``, the Apache-2.0 LICENSE)."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import vlab.producer
from vlab.core.errors import UsageError
from vlab.producer import PackWriter, SpendCap, SpendingCap, pointer, schema_bundle_sha256

if TYPE_CHECKING:
    from conftest import Runner
    from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
PRODUCER = ROOT / "src" / "vlab" / "producer"
ACME = ROOT / "examples" / "acme-rulesets"
HEX64 = re.compile(r"[0-9a-f]{64}")
# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt (11,358 bytes).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
# The producer may import these packages (pyproject.toml's import-linter contract) ...
ALLOWED = ("vlab.core", "vlab.pack", "vlab.producer")
# ... and, as its one exception, this: (module file, enclosing function, imported module).
EXCEPTION = ("pins.py", "schema_bundle_sha256", "vlab.ruleset.catalog")


# -- the public names ---------------------------------------------------------------------------


def test_every_public_name_is_importable_and_documented() -> None:
    names = vlab.producer.__all__
    assert len(set(names)) == len(names)
    for name in names:
        value = getattr(vlab.producer, name)
        if name == "Clock":  # a type alias: Callable[[], datetime]
            continue
        assert inspect.getdoc(value), f"vlab.producer.{name} has no docstring"
    # What the CLI spec imports, and the classes a run uses.
    for name in ("PackWriter", "SpendCap", "RunGuard", "AppendLog", "EventLog", "SpendLedger"):
        assert name in names
    assert SpendCap is SpendingCap


def test_the_public_names_are_the_modules_own() -> None:
    """Re-exports, not copies: ``vlab.producer.X`` is the object its module defines."""
    from vlab.producer import appendlog, packwriter, pins, runguard, spendcap

    homes = [appendlog, packwriter, pins, runguard, spendcap]
    for name in vlab.producer.__all__:
        if name == "SpendCap":
            continue
        owners = [m for m in homes if getattr(m, name, None) is getattr(vlab.producer, name)]
        assert owners, name


# -- schema_bundle_sha256 ------------------------------------------------------------------------


def test_schema_bundle_sha256_is_what_the_cli_says_a_pack_pins(
    vlab: Runner, catalog: Catalog
) -> None:
    assert catalog.ids() == ["mplp-compat-1.3", "ruleset-1.1", "ruleset-1.2", "ruleset-1.3"]
    for ruleset_id in catalog.ids():
        proc = vlab("rulesets", "show", ruleset_id, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        shown = json.loads(proc.stdout)["schema_bundle_sha256"]
        digest = schema_bundle_sha256(ruleset_id)
        assert HEX64.fullmatch(digest)
        assert digest == shown


def test_schema_bundle_sha256_of_an_added_ruleset(vlab: Runner) -> None:
    proc = vlab("rulesets", "show", "acme-budget-1.0", "--rulesets-dir", ACME, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["schema_bundle_sha256"]
    assert schema_bundle_sha256("acme-budget-1.0", rulesets_dirs=[ACME]) == shown


def test_schema_bundle_sha256_of_an_unknown_ruleset_names_the_known_ones() -> None:
    known = (
        r"unknown ruleset 'ruleset-9' "
        r"\(known: mplp-compat-1\.3, ruleset-1\.1, ruleset-1\.2, ruleset-1\.3\)"
    )
    with pytest.raises(UsageError, match=known):
        schema_bundle_sha256("ruleset-9")


# -- the one import outside core and pack ---------------------------------------------------------


def vlab_imports(source: str) -> list[tuple[str | None, str]]:
    """Every ``vlab.*`` module a source imports, with the function it is imported in (None:
    module level)."""
    found: list[tuple[str | None, str]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, ast.ImportFrom) and child.module:
                found.append((function, child.module))
            elif isinstance(child, ast.Import):
                found.extend((function, alias.name) for alias in child.names)
            visit(child, function)

    visit(ast.parse(source), None)
    return [(f, m) for f, m in found if m == "vlab" or m.startswith("vlab.")]


def test_the_import_scanner_sees_function_level_imports() -> None:
    source = "import vlab.core.money\ndef f():\n    from vlab.ruleset.catalog import Catalog\n"
    assert vlab_imports(source) == [(None, "vlab.core.money"), ("f", "vlab.ruleset.catalog")]


def test_the_producer_imports_only_core_and_pack_but_for_one_lazy_import() -> None:
    outside = [
        (path.name, function, module)
        for path in sorted(PRODUCER.glob("*.py"))
        for function, module in vlab_imports(path.read_text("utf-8"))
        if not module.startswith(ALLOWED)
    ]
    assert outside == [EXCEPTION]
    # ... and the import-linter contract names exactly that import as its exception.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (producer,) = [c for c in contracts if c.get("source_modules") == ["vlab.producer"]]
    assert producer["ignore_imports"] == ["vlab.producer.pins -> vlab.ruleset.catalog"]


def test_importing_the_producer_loads_no_engine_code() -> None:
    code = (
        "import sys, vlab.producer\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('vlab'))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = proc.stdout.split()
    assert "vlab.producer.pins" in loaded
    assert [m for m in loaded if m != "vlab" and not m.startswith(ALLOWED)] == []


# -- pointer ---------------------------------------------------------------------------------------


def test_pointer_writes_what_the_contract_accepts() -> None:
    digest = "sha256:" + "ab" * 32
    assert pointer("RQ-D1-01", "trace/events.ndjson", "event_id:evt-1") == {
        "requirement_id": "RQ-D1-01",
        "artifact_path": "trace/events.ndjson",
        "locator": "event_id:evt-1",
        "status": "PRESENT",
    }
    assert pointer(
        "RQ-D1-02", "artifacts/r.json", "file:", status="ABSENT", content_hash=digest, note="n"
    ) == {
        "requirement_id": "RQ-D1-02",
        "artifact_path": "artifacts/r.json",
        "locator": "file:",
        "status": "ABSENT",
        "content_hash": digest,
        "note": "n",
    }
    for locator in ("line:3", "jsonptr:", "jsonptr:/a/0", "file:"):
        assert pointer("RQ-X", "a.json", locator)["locator"] == locator


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("", "a.json", "file:"), {}, "requirement_id"),
        (("RQ", "../a.json", "file:"), {}, "unsafe artifact_path"),
        (("RQ", "/a.json", "file:"), {}, "unsafe artifact_path"),
        (("RQ", "a.json", "line:0"), {}, "malformed locator"),
        (("RQ", "a.json", "event:x"), {}, "malformed locator"),
        (("RQ", "a.json", "file:x"), {}, "malformed locator"),
        (("RQ", "a.json", "file:"), {"status": "present"}, "status"),
        (("RQ", "a.json", "file:"), {"content_hash": "ab" * 32}, "content_hash"),
        (("RQ", "a.json", "file:"), {"content_hash": "sha256:" + "AB" * 32}, "content_hash"),
        (("RQ", "a.json", "file:"), {"content_hash": "sha256:abc"}, "content_hash"),
    ],
)
def test_pointer_refuses_what_the_contract_would(
    args: tuple[str, str, str], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pointer(*args, **kwargs)


# -- created_at ----------------------------------------------------------------------------------


def _control_files(root: Path, **extra: str) -> dict[str, object]:
    PackWriter(root).control_files(
        pack_id="p",
        run_id="r",
        ruleset_ref="ruleset-1.1",
        schema_bundle_sha256="0" * 64,
        pointers=[],
        **extra,
    )
    manifest: dict[str, object] = json.loads((root / "manifest.json").read_text("utf-8"))
    return manifest


def test_created_at_defaults_to_the_current_utc_time(tmp_path: Path) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    manifest = _control_files(tmp_path / "a")
    after = datetime.now(timezone.utc)
    stamp = manifest["created_at"]
    assert isinstance(stamp, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_created_at_given_is_written_as_given(tmp_path: Path) -> None:
    manifest = _control_files(tmp_path / "a", created_at="2026-05-29T10:00:00Z")
    assert manifest["created_at"] == "2026-05-29T10:00:00Z"


def test_the_engine_never_reads_the_producer_clock() -> None:
    """The clock is read on the producer side only: no engine-side module calls it."""
    clocks = re.compile(r"datetime\.now|datetime\.utcnow|time\.time\(|utc_now\(")
    producer_side = {
        ROOT / "src" / "vlab" / "tools" / "init.py",  # makes a pack
        # a signed ruling's VSA timeVerified without --as-of (never in the ruling: trust.md §3)
        ROOT / "src" / "vlab" / "cli" / "common.py",
    }
    readers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "src" / "vlab").rglob("*.py"))
        if PRODUCER not in path.parents
        and path not in producer_side
        and clocks.search(path.read_text("utf-8"))
    ]
    assert readers == []


# -- what ships ------------------------------------------------------------------------------------


def test_the_package_is_typed() -> None:
    assert resources.files("vlab").joinpath("py.typed").is_file()


def test_license_is_the_apache_2_0_text() -> None:
    data = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(data).hexdigest() == APACHE_2_0_SHA256
