# A newcomer's targets: install, test, lint, build, demo, bench.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export SAM_CLI_TELEMETRY := 0

# sam build needs python3.13 (the Lambda runtime) on PATH. pyenv's bare `python3.13` shim refuses
# unless that version is selected, so put the real interpreter's folder first.
PY313_DIR := $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin) \
                         $(dir $(shell command -v python3.13 2>/dev/null)))
SAM_PATH := $(if $(PY313_DIR),$(PY313_DIR):)$(abspath $(BIN)):$(PATH)

.PHONY: install test lint format build validate demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

build: install
	@test -n "$(PY313_DIR)" || { echo "python3.13 not found: install it (pyenv install 3.13)"; exit 1; }
	PATH="$(SAM_PATH)" $(BIN)/sam build

validate: install
	PATH="$(SAM_PATH)" $(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

# The whole rotation on loopback: moto, the GeckoForm emulator, the built function (see README).
demo: install
	$(BIN)/python -m demo

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf .aws-sam build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis .demo
