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
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the local CPU wheel: anything else would pull GBs of CUDA packages
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,llm]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

data/CURRENT: | $(STAMP)
	$(BIN)/qa index

index: $(STAMP)
	$(BIN)/qa index

serve: $(STAMP) data/CURRENT
	$(BIN)/qa serve

# Debian's chromium for the browser tests (Playwright drives it; `playwright install` cannot work here)
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# the eval gate runs on an index built afresh from seeds/ by the code under test
EVAL_DATA := $(CURDIR)/.eval-data
test: $(STAMP) browser
	$(BIN)/pytest -q -p no:cacheprovider
	rm -rf $(EVAL_DATA) && QA_DATA_DIR=$(EVAL_DATA) $(BIN)/qa index
	QA_DATA_DIR=$(EVAL_DATA) $(BIN)/qa eval --check --report artifacts/eval.html
	QA_DATA_DIR=$(EVAL_DATA) $(BIN)/python -m eval.llm_eval --json artifacts/llm-eval.json

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

eval: $(STAMP) data/CURRENT
	$(BIN)/qa eval

bench: $(STAMP) data/CURRENT
	$(BIN)/qa bench

lint: $(STAMP)
	$(BIN)/ruff check qa embeddings eval tests
	$(BIN)/mypy qa embeddings eval

clean:
	rm -rf data .pytest_cache artifacts

-include mk/*.mk
