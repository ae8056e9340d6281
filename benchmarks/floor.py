"""The parse floor of a replay: read every line of the given NDJSON files and
``orjson.loads`` each non-blank one, nothing else (``python -m benchmarks.floor FILE ...``).
A replay is measured against this: a checker cannot be cheaper than parsing its input once."""

from __future__ import annotations

import sys

import orjson


def main(paths: list[str]) -> int:
    records = 0
    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    orjson.loads(line)
                    records += 1
    print(records)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
