"""llm-mode latency for ``qa bench --llm``: whole answers and the first streamed sentence."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from eval.metrics import percentile
from qa.records import Answer
from qa.service import QAService

QUESTIONS = 6  # each takes a few seconds with the bundled 1.5B model on two free cores


async def _timed(service: QAService, question: str) -> tuple[float | None, float, Answer | None]:
    """(seconds to the first delta, seconds to done, the answer) of one streamed question."""
    started = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    async for event in service.stream(question, mode="llm"):
        if event.event == "delta" and first is None:
            first = time.perf_counter() - started
        if event.event == "done" and isinstance(event.data, Answer):
            answer = event.data
    return first, time.perf_counter() - started, answer


def run_llm(report: Any, service: QAService, questions: list[str], base_url: str) -> None:
    """Stream each question in llm mode against ``base_url`` and add the latency figures."""
    generator = replace(service.settings.generator, mode="llm", llm_base_url=base_url,
                        llm_timeout=600.0)
    llm = QAService(replace(service.settings, generator=generator), service.store, service.encoder)

    async def all_of() -> list[tuple[float | None, float, Answer | None]]:
        try:
            return [await _timed(llm, q) for q in questions]
        finally:
            await llm.aclose()

    timings = asyncio.run(all_of())
    totals = [t for _, t, _ in timings]
    firsts = [f for f, _, _ in timings if f is not None]
    report.add("llm_p50_s", f"llm mode, {len(questions)} questions: latency p50",
               percentile(totals, 50) or 0, "s")
    report.add("llm_p95_s", "llm mode: latency p95", percentile(totals, 95) or 0, "s")
    report.add("llm_first_sentence_p50_s", "llm mode: first streamed sentence p50",
               percentile(firsts, 50) or 0, "s")
    kept = sum(a is not None and a.mode == "llm" for _, _, a in timings)
    report.add("llm_kept", "llm mode: answers kept from the model", kept, f"of {len(questions)}")
    report.details["llm"] = [{"question": q, "first_s": f, "total_s": round(t, 2),
                              "mode": a.mode if a else None,
                              "fallback_reason": a.fallback_reason if a else None}
                             for q, (f, t, a) in zip(questions, timings, strict=True)]
