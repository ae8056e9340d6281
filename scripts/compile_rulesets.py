"""Write rulesets/<id>/ruleset.compiled.json for every installed ruleset.

    python -m scripts.compile_rulesets [--check]

The compiled file is a cache of the checked, resolved ruleset that lets `vlab` start
without parsing YAML; it is only used while its fingerprint matches its inputs.
With --check, exit 1 if any compiled file is missing or stale (tests run this).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vlab.ruleset.catalog import Catalog
from vlab.ruleset.loader import (
    COMPILED_FILE,
    RULESET_FILE,
    compiled_record,
    fingerprint,
    load_ruleset,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    catalog = Catalog()
    stale = []
    for ruleset_id in catalog.ids():
        path = catalog.root / ruleset_id / RULESET_FILE
        # Always from the YAML: the compiled file must never vouch for itself.
        fresh = Catalog(catalog.root, use_compiled=False)
        ruleset = load_ruleset(path, fresh.parent_document)
        extends = fresh_extends(path)
        # From the YAML's own extends, never from a compiled file that may be absent or old.
        parent_fp = catalog.fingerprint(extends) if extends else None
        data = compiled_record(ruleset, fingerprint(path, parent_fp), extends)
        target = path.parent / COMPILED_FILE
        if args.check:
            if not target.exists() or target.read_bytes() != data:
                stale.append(str(target))
        else:
            target.write_bytes(data)
    if stale:
        print("stale compiled rulesets (run make rulesets):", *stale, file=sys.stderr)
        return 1
    return 0


def fresh_extends(path: Path) -> str | None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(path)
    value = data.get("extends")
    return value if isinstance(value, str) else None


if __name__ == "__main__":
    raise SystemExit(main())
