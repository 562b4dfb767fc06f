"""One source against the rest, for written (LLM) answers: an answer that rests on a key fact
(actor, date, figure) while other retrieved documents give a different value for the same question
(whether or not another document repeats the answer's value) is replaced by the values side by side,
each with its source and date, as the extractive answerer shows them (``ExtractiveGenerator.differing``)."""

from __future__ import annotations

import msgspec

from qa.answer import MAX_SENTENCES, ExtractiveGenerator, lone_value_rivals
from qa.question import parse_question
from qa.records import Answer, Evidence, ScoredSentence

SOURCES_DIFFER = "sources_differ"  # fallback_reason of a replaced answer


def _cited(answer: Answer, evidence: Evidence) -> list[ScoredSentence]:
    """The evidence sentences the answer's citations quote, best first."""
    spans = {(c.doc_id, c.start, c.end) for c in answer.citations}
    return [
        s for s in evidence.sentences
        if any(d == s.sentence.doc_id and a < s.sentence.end and s.sentence.start < b for d, a, b in spans)
    ]


def hold_lone_values(question: str, answer: Answer, evidence: Evidence) -> Answer:
    """``answer``, or the sources-differ answer when other documents give another value for its key fact."""
    if answer.abstained or not answer.citations:
        return answer
    generator = ExtractiveGenerator()
    cited_docs = {c.doc_id for c in answer.citations}
    for part in evidence.parts or (evidence,):
        parsed = parse_question(part.question)
        for cited in _cited(answer, part)[:1]:  # the sentence the answer rests on: the best cited
            rivals = lone_value_rivals(parsed, list(part.sentences), [cited], focus=part.focus,
                                       titles=[p.title for p in part.passages])
            # a runner-up alone is no contradiction (any other figure scoring close), but once documents
            # differ the answer shows what the extractive one shows (same-count runners-up too)
            if rivals and not {r.sentence.doc_id for r in rivals} <= cited_docs:
                beside = generator.differing(parsed, part, [cited])
                side_by_side = generator.compose(parsed, part, [cited, *beside][:MAX_SENTENCES])
                return msgspec.structs.replace(
                    side_by_side, question=question, mode="extractive", fallback_reason=SOURCES_DIFFER
                )
    return answer
