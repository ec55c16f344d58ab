# Two commands do everything on a fresh machine with Python >= 3.11, pip, git and make:
#   make run    set-up, then the main job on synthetic data (generate -> ingest -> build -> deliver)
#   make test   set-up, then the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
DATA_DIR ?= $(CURDIR)/data
SCALE ?= 0.005
SEED ?= 1
YEARS ?= 2021-2025
PYTEST_ARGS ?=

.PHONY: help setup prepare run test lint ui bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## the environment only: .venv with the locked stack, dbt manifest prepared
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@$(MAKE) --no-print-directory prepare

prepare: ## dbt parse: dagster-dbt needs target/manifest.json before definitions load
	@if [ -f dbt_project/dbt_project.yml ]; then \
		cd dbt_project && STRALEBRUK_DATA_DIR=$(DATA_DIR) ../.venv/bin/dbt parse --quiet; \
	fi

run: setup ## set-up, generate a small synthetic history (five years), ingest, build, publish, deliver
	.venv/bin/stralebruk generate --out $(DATA_DIR)/inbox --years $(YEARS) --scale $(SCALE) --seed $(SEED)
	STRALEBRUK_DATA_DIR=$(DATA_DIR) .venv/bin/stralebruk run

test: setup ## set-up, then the whole test suite
	.venv/bin/pytest $(PYTEST_ARGS)

lint: setup ## ruff (Python), sqlfluff (dbt SQL, DuckDB dialect, jinja templater), mypy (types)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/sqlfluff lint dbt_project --processes 2
	.venv/bin/mypy
	@# one call per benchmark: benchmarks/extract.py shares its module name with the extract package
	for b in benchmarks/*.py; do .venv/bin/mypy $$b || exit 1; done

ui: setup ## the Dagster UI on ./data (Ctrl-C stops it)
	STRALEBRUK_DATA_DIR=$(DATA_DIR) .venv/bin/stralebruk ui

bench: setup ## the benchmarks (each ends with one JSON line)
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

clean: ## remove generated data and build artefacts (keeps .venv)
	rm -rf $(DATA_DIR)/* dbt_project/target dbt_project/logs
	touch $(DATA_DIR)/.gitkeep
