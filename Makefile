# innostat: the Makefile is the interface between the parts. Start with `make demo` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export INNOSTAT_LANDING ?= $(CURDIR)/data/landing
export INNOSTAT_WAREHOUSE ?= $(CURDIR)/warehouse/innostat.duckdb
DEMO_SCALE ?= 0.05
DAGSTER_PORT ?= 3000
RUN_DIR := $(CURDIR)/.run

.PHONY: help install demo run test test-fast lint format dagster dagster-home stop clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@echo "[make] installing uv (not found on PATH)"
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

install: $(VENV)/.installed ## create the pipeline environment from uv.lock and parse the dbt project

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@echo "[make] uv sync (pipeline environment, Python 3.11)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@

dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project/models dbt_project/macros dbt_project/seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
	@echo "[make] dbt parse (manifest for Dagster; no database needed)"
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp pipelines/instance/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install dbt_project/target/manifest.json dagster-home ## sample feeds → full pipeline → publish, then start Dagster on localhost
	$(BIN)/innostat demo --scale $(DEMO_SCALE)
	@$(MAKE) --no-print-directory dagster
	@echo "[make] Dagster: http://127.0.0.1:$(DAGSTER_PORT)   published warehouse: $(INNOSTAT_WAREHOUSE)"
	@echo "[make] stop everything with: make stop"

run: install dbt_project/target/manifest.json ## run the pipeline once on $$INNOSTAT_LANDING (needs INNOSTAT_PII_KEY)
	$(BIN)/innostat run

dagster: install dbt_project/target/manifest.json dagster-home ## start the Dagster webserver and daemon in the background
	@mkdir -p $(RUN_DIR)
	@if [ -f $(RUN_DIR)/dagster.pid ] && kill -0 $$(cat $(RUN_DIR)/dagster.pid) 2>/dev/null; then \
		echo "[make] Dagster already running (pid $$(cat $(RUN_DIR)/dagster.pid))"; \
	else \
		INNOSTAT_DEMO=1 nohup $(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p $(DAGSTER_PORT) \
			> $(RUN_DIR)/dagster.log 2>&1 & echo $$! > $(RUN_DIR)/dagster.pid; \
		echo "[make] Dagster starting (pid $$(cat $(RUN_DIR)/dagster.pid), log $(RUN_DIR)/dagster.log)"; \
	fi

stop: ## stop what `make demo` started (by recorded process ids)
	@for f in $(RUN_DIR)/*.pid; do \
		[ -f "$$f" ] || continue; pid=$$(cat $$f); \
		if kill -0 $$pid 2>/dev/null; then kill -- -$$(ps -o pgid= $$pid | tr -d ' ') 2>/dev/null || kill $$pid; echo "[make] stopped $$(basename $$f .pid) ($$pid)"; fi; \
		rm -f $$f; \
	done

test: install dbt_project/target/manifest.json ## run the test suite
	$(BIN)/pytest -q

lint: install ## ruff (lint + format check) and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models

format: install ## apply ruff and sqlfluff fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/sqlfluff fix dbt_project/models

clean: stop ## remove generated data, builds and environments' caches (keeps .venv)
	rm -rf data warehouse/*.duckdb* warehouse/*.state dbt_project/target .dagster_home .run
