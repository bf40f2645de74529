# Two commands for a fresh machine (see README): `make run` and `make test`.
# The first use of either creates .venv and installs Specks with its extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.specks-installed

.PHONY: run test test-fast lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[host,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/specks models

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/sparse_conv.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
