"""Prometheus metrics for the service, on one registry exposed at ``GET /metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "qa_http_requests_total", "HTTP requests by route and status.", ["route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "qa_http_request_seconds", "HTTP request latency by route.", ["route"],
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
    registry=REGISTRY,
)
ANSWERS = Counter(
    "qa_answers_total", "Answers by mode and outcome (answered|abstained).", ["mode", "outcome"],
    registry=REGISTRY,
)
ERRORS = Counter("qa_errors_total", "Errors by kind.", ["kind"], registry=REGISTRY)
LLM_FALLBACKS = Counter(
    "qa_llm_fallbacks_total",
    "LLM answers replaced by the extractive answer or an abstention, by reason.",
    ["reason"],
    registry=REGISTRY,
)
LLM_COMPLETED = Counter(
    "qa_llm_completed_total",
    "LLM answers completed with the extractive reader's sentence about a name they left out.",
    registry=REGISTRY,
)
LLM_SENTENCES = Counter(
    "qa_llm_sentences_total", "LLM answer sentences by verification outcome (kept|dropped).",
    ["outcome"], registry=REGISTRY,
)
