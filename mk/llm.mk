# `make serve-llm`: llama.cpp's OpenAI-compatible server on the bundled SmolLM2-135M GGUF
# (127.0.0.1:$(LLM_PORT)), then the service in llm mode against it; Ctrl-C stops both.
LLM_PORT ?= 8081
# a CPU-only model reading five passages needs more than the 30 s default on a busy machine
QA_LLM_TIMEOUT ?= 120

.PHONY: serve-llm

serve-llm: $(STAMP) data/store/store.db
	QA_LLM_TIMEOUT=$(QA_LLM_TIMEOUT) $(BIN)/python -m qa.llm_local --port $(LLM_PORT) -- $(BIN)/qa serve
