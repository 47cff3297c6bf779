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
export INNOSTAT_RUN_DIR := $(CURDIR)/.run
RUN_DIR := $(INNOSTAT_RUN_DIR)
# Superset has its own environment (superset/uv.lock): its pins clash with the pipeline's.
SUPERSET_VENV := superset/.venv
SUPERSET_BIN := $(SUPERSET_VENV)/bin
SUPERSET_PORT ?= 8088
SUPERSET_WORKERS ?= 1
export SUPERSET_CONFIG_PATH := $(CURDIR)/superset/superset_config.py
export SUPERSET_STATE_DIR ?= $(CURDIR)/superset/.state
export SUPERSET_HOME ?= $(SUPERSET_STATE_DIR)

.PHONY: help install install-test java demo run sql test test-fast lint format deploy-lint bench dagster dagster-home stop clean \
	superset superset-install

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/\$$\$$/$$/g' | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@echo "[make] installing uv (not found on PATH)"
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

install: $(VENV)/.installed ## create the pipeline environment from uv.lock and parse the dbt project

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@echo "[make] uv sync (pipeline environment, Python 3.11)"
	$(UV) sync --frozen --compile-bytecode
	@rm -f $(VENV)/.installed-test  # that exact sync removed the spark group
	@touch $@

install-test: $(VENV)/.installed-test ## the environment plus the test tools, the `spark` group (pyspark, dbt-spark) and `bench`

$(VENV)/.installed-test: pyproject.toml uv.lock | $(UV)
	@echo "[make] uv sync (pipeline environment + dev + spark + bench groups)"
	$(UV) sync --frozen --compile-bytecode --group dev --group spark --group bench
	@touch $@ $(VENV)/.installed

# Spark (the `spark` dbt target, tests/spark) needs a Java 17+ runtime. Debian 12 packages OpenJDK 17; a newer
# Debian only 21, which Spark 4 supports too. INNOSTAT_SKIP_SPARK=1 skips this and the Spark tests.
java: ## install a Java runtime for Spark from Debian's packages (root), unless one is there
	@if [ "$${INNOSTAT_SKIP_SPARK:-0}" = 1 ]; then echo "[make] INNOSTAT_SKIP_SPARK=1: no Java needed"; \
	elif java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then echo "[make] $$(java -version 2>&1 | head -1)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq; \
		pkg=openjdk-17-jre-headless; \
		apt-cache policy $$pkg 2>/dev/null | grep -q 'Candidate: [0-9]' || pkg=openjdk-21-jre-headless; \
		echo "[make] apt-get install $$pkg"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$pkg >/dev/null; \
		java -version 2>&1 | head -1; \
	else echo "[make] Spark needs Java 17+: sudo apt-get install openjdk-17-jre-headless (or INNOSTAT_SKIP_SPARK=1)"; exit 1; fi

dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project/models dbt_project/macros dbt_project/seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
	@echo "[make] dbt parse (manifest for Dagster; no database needed)"
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp pipelines/instance/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install dbt_project/target/manifest.json dagster-home ## sample feeds → full pipeline → publish, then start Dagster and Superset on localhost
	$(BIN)/innostat demo --scale $(DEMO_SCALE)
	@# only the demo's Dagster may pseudonymise with the demo key (make dagster alone refuses without INNOSTAT_PII_KEY)
	@INNOSTAT_DEMO=1 $(MAKE) --no-print-directory dagster
	@$(MAKE) --no-print-directory superset
	@echo "[make] Dagster: http://127.0.0.1:$(DAGSTER_PORT)   published warehouse: $(INNOSTAT_WAREHOUSE)"
	@echo "[make] Superset dashboards: http://127.0.0.1:$(SUPERSET_PORT)   user $${SUPERSET_ADMIN_USER:-admin}, password:" \
		"$$(if [ -n "$$SUPERSET_ADMIN_PASSWORD" ]; then echo '$$SUPERSET_ADMIN_PASSWORD'; else echo "in $(SUPERSET_STATE_DIR)/admin_password"; fi)"
	@echo "[make] stop everything with: make stop"

run: install dbt_project/target/manifest.json ## run the pipeline once on $$INNOSTAT_LANDING (needs INNOSTAT_PII_KEY; DEMO=1 uses the demo key)
	$(BIN)/innostat run $(if $(filter 1,$(DEMO)),--demo)

sql: install ## a read-only SQL shell over the published warehouse ($$INNOSTAT_WAREHOUSE)
	$(BIN)/innostat sql

dagster: install dbt_project/target/manifest.json dagster-home ## start the Dagster webserver and daemon in the background
	@# `dg dev` (webserver + daemon) replaces `dagster dev`; VIRTUAL_ENV spares dg's warning about another venv
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/python -m pipelines.orchestration.services start dagster --log $(RUN_DIR)/dagster.log -- \
		$(BIN)/dg dev --no-check-yaml -h 127.0.0.1 -p $(DAGSTER_PORT)
	@$(BIN)/python -m pipelines.orchestration.services wait dagster --url http://127.0.0.1:$(DAGSTER_PORT)/server_info

superset-install: $(SUPERSET_VENV)/.installed ## create the Superset environment from superset/uv.lock

$(SUPERSET_VENV)/.installed: superset/pyproject.toml superset/uv.lock | $(UV)
	@echo "[make] uv sync (Superset environment, superset/uv.lock)"
	cd superset && $(UV) sync --frozen --compile-bytecode
	@touch $@

superset: superset-install install ## provision Superset (idempotent) and start it on 127.0.0.1:$$SUPERSET_PORT in the background
	$(SUPERSET_BIN)/python superset/provision.py
	@$(BIN)/python -m pipelines.orchestration.services start superset --log $(RUN_DIR)/superset.log -- \
		$(SUPERSET_BIN)/gunicorn -w $(SUPERSET_WORKERS) -k gthread --threads 8 --timeout 120 \
		-b 127.0.0.1:$(SUPERSET_PORT) "superset.app:create_app()"
	@$(SUPERSET_BIN)/python superset/provision.py wait --url http://127.0.0.1:$(SUPERSET_PORT)

stop: ## stop what `make demo` started: every process of Dagster and Superset, waiting until none is left
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m pipelines.orchestration.services stop; \
	else echo "[make] no environment, so nothing was started"; fi

test: install-test java superset-install dbt_project/target/manifest.json ## run the test suite (INNOSTAT_SKIP_SPARK=1 skips the Spark tests)
	$(BIN)/pytest -q

SIZE ?= district
BENCH_WORK ?= /tmp/innostat-bench
bench: install-test dbt_project/target/manifest.json ## benchmark at SIZE=tiny|district|city (benchmarks/RESULTS.md); REPEAT=n
	$(BIN)/python -m benchmarks.run --size $(SIZE) --work $(BENCH_WORK) $(if $(REPEAT),--repeat $(REPEAT)) \
		$(if $(filter tiny,$(SIZE)),,--record)

lint: install-test ## ruff (lint + format check), sqlfluff and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models
	$(BIN)/lint-imports

deploy-lint: install-test ## check deploy/ offline: hadolint (Dockerfile), yamllint + check-jsonschema (Helm values)
	deploy/lint.sh

format: install-test ## apply ruff and sqlfluff fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/sqlfluff fix dbt_project/models

clean: stop ## remove generated data, builds and environments' caches (keeps .venv)
	rm -rf data warehouse/*.duckdb* warehouse/*.state dbt_project/target .dagster_home .run
