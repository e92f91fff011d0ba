# Agent-assist: make help lists the targets.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export ASSIST_DATA_DIR ?= ./data

.PHONY: help setup run ingest test test-fast test-api lint schemas bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "needs $(PY)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the CPU build of torch first, from the local wheel: a plain 'torch' would pull CUDA
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install (fast when nothing changed)

run: setup  ## set up, ingest kb_docs/ if the data dir is empty, and serve
	@if [ ! -f "$(ASSIST_DATA_DIR)/assist.db" ]; then $(BIN)/assist ingest kb_docs; fi
	@# the schema migrations (a data dir of an older release is upgraded in place); serve runs them too
	$(BIN)/assist db upgrade
	@# a local demo key, so a newcomer can open the pages at once (delete the file and revoke it in production)
	@if [ ! -s "$(ASSIST_DATA_DIR)/demo-key.txt" ]; then \
	  $(BIN)/assist keys create --role admin --name demo | tail -n 1 > "$(ASSIST_DATA_DIR)/demo-key.txt"; fi
	@echo "Side panel: http://$(HOST):$(PORT)/   demo admin key: $$(cat $(ASSIST_DATA_DIR)/demo-key.txt)"
	$(BIN)/assist serve --host $(HOST) --port $(PORT)

ingest: setup  ## (re)ingest kb_docs/
	$(BIN)/assist ingest kb_docs

test: setup  ## run the whole test suite (real models included)
	$(BIN)/pytest

test-fast: setup  ## unit tests only (fake embedder), no real models, browser, cluster or schemathesis run
	$(BIN)/pytest -m "not slow and not browser and not postgres and not cluster and not schemathesis"

test-api: setup  ## schemathesis: every API operation against the OpenAPI document (SCHEMATHESIS_EXAMPLES=20)
	$(BIN)/pytest -m schemathesis

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy assist ingest api.py

schemas: setup  ## write docs/schemas/ws-messages.json from the WebSocket message models
	$(BIN)/python -m assist.calls.messages docs/schemas/ws-messages.json

bench: setup  ## run the benchmarks (needs ../shared/data); figures go to docs/benchmarks.md by hand
	$(BIN)/python -m benchmarks.run_all

clean:  ## remove the venv and the data directory
	rm -rf $(VENV) $(ASSIST_DATA_DIR)
