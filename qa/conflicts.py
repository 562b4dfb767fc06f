"""One source against the rest, for written (LLM) answers: an answer that rests on a key fact
(actor, date, figure) which one document alone gives, while other retrieved documents give a
different value for the same question, is replaced by the values side by side, each with its
source and date, as the extractive answerer shows them (``qa.answer.lone_value_rivals``)."""

from __future__ import annotations

import msgspec

from qa.answer import ExtractiveGenerator, lone_value_rivals
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
    """``answer``, or the sources-differ answer when it adopts a value other documents contradict."""
    if answer.abstained or not answer.citations:
        return answer
    parts = evidence.parts or (evidence,)
    for part in parts:
        parsed = parse_question(part.question)
        for cited in _cited(answer, part)[:1]:  # the sentence the answer rests on: the best cited
            rivals = lone_value_rivals(parsed, list(part.sentences), [cited], focus=part.focus,
                                       titles=[p.title for p in part.passages])
            cited_docs = {c.doc_id for c in answer.citations}
            if rivals and not {r.sentence.doc_id for r in rivals} <= cited_docs:
                side_by_side = ExtractiveGenerator().compose(parsed, part, [cited, *rivals])
                return msgspec.structs.replace(
                    side_by_side, question=question, mode="extractive", fallback_reason=SOURCES_DIFFER
                )
    return answer
