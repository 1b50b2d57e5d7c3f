# Everything a fresh machine with Python 3.13 and make needs: `make run`, `make test`, `make bench`.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PORT ?= 3000
export PYTHONPATH := $(CURDIR)/layers/common:$(CURDIR)

.PHONY: install run test lint typecheck pytest bench clean

install: $(VENV)/.installed $(SAM_VENV)/.installed

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) $(BIN)/python -m local

# pytest includes the template checks: cfn-lint, `sam validate --lint` and the full SAM transform.
test: install lint typecheck pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: install
	SAM_CLI=$(CURDIR)/$(SAM_VENV)/bin/sam $(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts
