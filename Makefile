# Every target creates/uses .venv by itself: `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SRC := src tests scripts benchmarks

.PHONY: setup demo test lint bench vectors rulesets receipts clean

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
bench: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q src
	$(BIN)/python -m benchmarks.run

rulesets: $(STAMP)
	$(BIN)/python -m scripts.compile_rulesets

vectors: rulesets
	$(BIN)/python -m scripts.make_vectors

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
