"""The answer-writing seams: ``Generator`` (generate, stream) and ``Reranker`` (between fusion and scoring).

Implementations: ``qa.answer.ExtractiveGenerator`` and ``qa.llm.LLMGenerator``, picked by mode from
``qa.service.GENERATORS``; ``NoReranker`` (the default) keeps the fused order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from qa.records import Answer, Evidence, Passage, Question, StreamEvent
from qa.text import MARKER

__all__ = ["Completing", "Generator", "Guided", "NoReranker", "Reranker", "answer_events"]


class Generator(Protocol):
    """Writes an answer from evidence, whole or as a stream of events ending in ``done``."""

    async def generate(self, question: str, evidence: Evidence) -> Answer:
        """The answer record, every claim cited."""
        ...

    def stream(self, question: str, evidence: Evidence) -> AsyncIterator[StreamEvent]:
        """``delta`` and ``citation`` events as the answer is written, then ``done`` with the record."""
        ...


@runtime_checkable
class Guided(Protocol):
    """A fallback generator that can take another reader's answer as a hint (``qa.llm``'s fallback)."""

    async def guided(self, question: str, evidence: Evidence, hint: str) -> Answer:
        """Its own answer, preferring among what it would answer the evidence that states ``hint``'s
        values; never anything it would not answer without the hint."""
        ...


@runtime_checkable
class Completing(Protocol):
    """A fallback generator that can supply the part of an answer another reader left out."""

    async def about_names(self, question: str, evidence: Evidence, names: frozenset[str]) -> Answer:
        """For a question about names joined by "and"/"or": what it would answer of each of ``names``
        (their content terms) alone, or an abstention."""
        ...


class Reranker(Protocol):
    """Reorders the fused candidate passages before their sentences are scored."""

    def rerank(self, question: Question, passages: Sequence[Passage]) -> list[Passage]:
        """The same passages, best first (the retriever keeps the first top_k)."""
        ...


class NoReranker:
    """The default: the fused (reciprocal rank) order as it is."""

    def rerank(self, question: Question, passages: Sequence[Passage]) -> list[Passage]:
        """``passages`` unchanged."""
        return list(passages)


async def answer_events(answer: Answer) -> AsyncIterator[StreamEvent]:
    """A finished answer as stream events: a delta per cited sentence, its citations, then done."""
    by_marker = {c.marker: c for c in answer.citations}
    for piece in _pieces(answer.answer):
        yield StreamEvent(event="delta", data={"text": piece})
        for marker in MARKER.findall(piece):
            if int(marker) in by_marker:
                yield StreamEvent(event="citation", data=by_marker.pop(int(marker)))
    yield StreamEvent(event="done", data=answer)


def _pieces(text: str) -> list[str]:
    """Split answer text after each run of citation markers, so deltas end on a cited sentence."""
    pieces: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        end = match.end()
        if end < len(text) and text[end:end + 2] == " [":
            continue
        pieces.append(text[last:end])
        last = end
    if last < len(text):
        pieces.append(text[last:])
    return [p for p in pieces if p]
