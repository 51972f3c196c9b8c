# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Both create the virtual environment .venv here if it is missing and install the project.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench venue lint

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The OMS on its embedded venue, FIX acceptor on 127.0.0.1:9876 (config/oms.toml).
run: $(STAMP)
	$(VENV)/bin/oms serve

# The test suite, then the benchmarks once each (figures printed, nothing timed asserted).
test: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests
	$(VENV)/bin/python -m pytest -q bench --benchmark-disable

bench: $(STAMP)
	$(VENV)/bin/python -m pytest bench --benchmark-only -s

venue: $(STAMP)
	$(VENV)/bin/oms venue

lint: $(STAMP)
	$(VENV)/bin/ruff check oms gateways compliance bench tests
