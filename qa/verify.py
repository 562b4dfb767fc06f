"""Citations and the invariants every answer must satisfy, whoever wrote it."""

from __future__ import annotations

from collections.abc import Callable

from embeddings.records import Sentence
from qa.records import Answer, Citation, Mode, Passage
from qa.text import MARKER, quotes_exactly

ABSTENTION = "The sources don't answer this question."


def cite(marker: int, sentence: Sentence, passage: Passage, score: float) -> Citation:
    """A citation quoting one indexed sentence, byte-exact at its offsets."""
    return Citation(
        marker=marker, doc_id=sentence.doc_id, title=passage.title, source=passage.source,
        published=passage.published, quote=sentence.text, start=sentence.start,
        end=sentence.end, score=round(score, 4),
    )


def abstain(question: str, mode: Mode, reason: str | None = None) -> Answer:
    """The answer that says plainly the sources don't answer the question."""
    return Answer(
        question=question, answer=ABSTENTION, abstained=True, citations=[], mode=mode,
        fallback_reason=reason,
    )


def invariant_violations(answer: Answer, text_of: Callable[[str], str | None]) -> list[str]:
    """Every way ``answer`` breaks the citation invariants (empty when it keeps them all)."""
    problems: list[str] = []
    used = {int(m) for m in MARKER.findall(answer.answer)}
    markers = [c.marker for c in answer.citations]
    if len(markers) != len(set(markers)):
        problems.append(f"duplicate citation markers {markers}")
    if used != set(markers):
        problems.append(f"markers in text {sorted(used)} != citations {sorted(set(markers))}")
    if answer.abstained and answer.citations:
        problems.append("an abstention carries citations")
    if not answer.abstained and not answer.citations:
        problems.append("an answer without citations")
    for c in answer.citations:
        text = text_of(c.doc_id)
        if text is None:
            problems.append(f"[{c.marker}] cites unknown document {c.doc_id!r}")
        elif not quotes_exactly(text, c.start, c.end, c.quote):
            problems.append(f"[{c.marker}] quote differs from {c.doc_id}[{c.start}:{c.end}]")
    return problems
