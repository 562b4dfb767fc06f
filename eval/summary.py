"""Aggregate per-question results into overall and per-category figures."""

from __future__ import annotations

from collections.abc import Sequence

from eval import metrics
from eval.gold import CATEGORIES
from eval.runner import QuestionResult

Figures = dict[str, float | int | None]

# Figures where higher is better; the gate compares these against minimums.
SCORES = (
    "pass_rate", "answerable_pass_rate", "answer_recall", "token_f1", "citation_validity",
    "citation_support", "citation_precision", "recall_at_k", "mrr", "abstention_precision",
    "abstention_recall", "abstention_f1",
)


def figures(results: Sequence[QuestionResult]) -> Figures:
    """Every figure for one group of results (None where a figure does not apply)."""
    answerable = [r for r in results if not r.must_abstain]  # an error scores 0, not "skipped"
    answered = [r for r in answerable if not r.abstained and r.error is None]
    citations = [c for r in results for c in r.citations]
    answerable_citations = [c for r in answerable for c in r.citations]
    latencies = [r.latency for r in results if r.latency is not None]
    nets = sum(r.safety_net for r in results)
    out: Figures = {
        "questions": len(results),
        "passed": sum(r.passed for r in results),
        "errors": sum(r.error is not None for r in results),
        "pass_rate": sum(r.passed for r in results) / len(results) if results else None,
        "answerable_pass_rate": metrics.mean([float(r.passed) for r in answerable]),
        "answer_recall": metrics.mean([r.answer_recall or 0.0 for r in answerable]),
        "token_f1": metrics.mean([r.token_f1 or 0.0 for r in answerable]),
        "citations": len(citations),
        # an answer the safety net replaced counts as one invalid citation (measured before it)
        "citation_validity": (
            sum(c.valid for c in citations) / (len(citations) + nets) if citations or nets else 1.0
        ),
        "safety_net": nets,
        "citation_support": metrics.mean(
            [float(any(c.supported for c in r.citations)) for r in answered]
        ),
        "citation_precision": metrics.mean([float(c.supported) for c in answerable_citations]),
        "recall_at_k": metrics.mean([r.retrieval_recall or 0.0 for r in answerable]),
        "mrr": metrics.mean([r.reciprocal_rank or 0.0 for r in answerable]),
        "latency_p50": metrics.percentile(latencies, 50),
        "latency_p95": metrics.percentile(latencies, 95),
        "llm_answers": sum(r.mode == "llm" for r in results),
        "fallbacks": sum(r.fallback_reason is not None for r in results),
    }
    done = [r for r in results if r.error is None]
    out.update(metrics.abstention_scores([(r.must_abstain, r.abstained) for r in done]))
    return out


def summarize(results: Sequence[QuestionResult]) -> dict[str, Figures]:
    """Figures for ``overall`` and for every category present, in the gold file's order."""
    summary = {"overall": figures(results)}
    for category in CATEGORIES:
        group = [r for r in results if r.category == category]
        if group:
            summary[category] = figures(group)
    return summary
