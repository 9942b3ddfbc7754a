# The two commands of the README: `make demo` (set up, generate demo data, run the pipeline, open the
# dashboard) and `make test`. Every command runs from the repo root with the machine's Python 3.11;
# uv never downloads a Python build.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
# Compile bytecode at install: this machine sets PYTHONDONTWRITEBYTECODE, so imports would otherwise
# recompile pandas, dagster or great_expectations in every process (GX: 17 s instead of 8 s).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3.11 -m uv")
RUN := $(UV) run --frozen

.PHONY: setup browser java demo synth pipeline dashboard dagster test benchmark

setup:  ## create .venv from uv.lock (installs uv first if missing), then the dbt manifest Dagster loads
	@command -v uv >/dev/null 2>&1 || python3.11 -m uv --version >/dev/null 2>&1 || python3.11 -m pip install --quiet uv
	$(UV) sync --frozen
	$(RUN) python -m pipelines.defs.event_models.project

browser:  ## Debian's chromium for the browser tests and PDF reports (never a downloaded browser)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; fi; }

java:  ## Java 17+ for the local Spark session of the dbt parity tests (Debian's JRE, never a downloaded one)
	@java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	  else echo "java 17+ is missing: run 'sudo apt-get install openjdk-17-jre-headless' (Spark tests will be skipped; under CI=true they fail)"; fi; }

# The demo runs with the public demo pseudonymization key (ENT_DEMO=1); real data needs
# ENT_PSEUDONYMIZATION_KEY and no ENT_DEMO. Its data: 1,500 schools, 50 in every académie, the first
# trimester of 2025-2026 as exported on the last Sunday before the Christmas holidays (README "Demo data").
DEMO_SYNTH := --schools 1500 --min-per-academie 50 --until 2025-12-21
demo: setup
	ENT_DEMO=1 $(RUN) ent-equity synth $(DEMO_SYNTH)
	ENT_DEMO=1 $(RUN) ent-equity run
	$(RUN) ent-equity users demo
	$(RUN) ent-equity dashboard

synth: setup
	$(RUN) ent-equity synth $(DEMO_SYNTH)

pipeline: setup
	$(RUN) ent-equity run

dashboard: setup
	$(RUN) ent-equity dashboard

dagster: setup  ## the Dagster UI on the project's instance (dagster.yaml)
	DAGSTER_HOME=$(CURDIR) $(RUN) dagster dev

test: setup browser java
	$(RUN) pytest

benchmark: setup  ## scripts that print figures (ingest throughput; event layer; re-runs; dashboard pages on national-scale serving data)
	$(RUN) python benchmarks/ingest.py
	$(RUN) python benchmarks/rerun.py
	$(RUN) python benchmarks/dashboard.py
	$(RUN) python benchmarks/event_layer.py
