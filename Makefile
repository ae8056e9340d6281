# Every target creates/uses .venv by itself: `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SRC := src tests scripts benchmarks fuzz

.PHONY: setup demo test lint bench bench-hostile vectors rulesets receipts clean fuzz

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@$(BIN)/python -m scripts.demo

lint: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy

test: lint
	$(BIN)/pytest
	$(BIN)/vlab regress evidence_packs --jobs 2
	$(BIN)/python -m scripts.receipt_fixtures check

receipts: $(STAMP)
	$(BIN)/python -m scripts.receipt_fixtures check

# Bytecode as an installed wheel would have it (start-up time is measured).
# The big group also measures peak RSS on a 5,000,000-event pack (1.15 GB, generated once
# into benchmarks/out/): BENCH_ARGS='--rss-events 0' leaves it out.
BENCH_ARGS ?=
bench: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q src
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# The attacker's resource cases of issue 11 at full size (RSS and seconds; not in make test).
bench-hostile: $(STAMP)
	$(BIN)/python -m benchmarks.hostile

rulesets: $(STAMP)
	$(BIN)/python -m scripts.compile_rulesets

vectors: rulesets
	$(BIN)/python -m scripts.make_vectors

# A bounded, seeded fuzz campaign of hostile packs (fuzz/README.md); not part of `make test`.
# Findings go to fuzz/out/; exit 1 if anything crashed, hung or broke an invariant.
FUZZ_EXECS ?= 200000
FUZZ_SEED ?= 1
FUZZ_JOBS ?= 2
fuzz: $(STAMP)
	$(BIN)/python -m fuzz --execs $(FUZZ_EXECS) --seed $(FUZZ_SEED) --jobs $(FUZZ_JOBS) \
		--report-json fuzz/out/report.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
