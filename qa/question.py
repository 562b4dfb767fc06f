"""What a question asks for: its content terms and the kinds of evidence an answer needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.terms import content_terms

# Kinds of answer a question can need; each maps to evidence a sentence must contain.
AGENT = "agent"  # who: a person, organisation, group or country acting
DATE = "date"  # when
NUMBER = "number"  # how many / how much
PLACE = "place"  # where
DISTANCE = "distance"  # how far
LIST = "list"  # several items ("the four missions", "which countries")

_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
}
_WH_WORDS = frozenset({
    "who", "whom", "whose", "when", "where", "what", "which", "how", "why", "many", "much",
    "far", "did", "does", "do", "is", "are", "was", "were", "has", "have", "had",
})
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (AGENT, re.compile(r"\b(who|whom|whose|which (group|country|countries|organi[sz]ation|"
                       r"person|official|minister|militants?|forces?|army|nations?))\b")),
    (DATE, re.compile(r"\b(when|what (date|day|month|year|time)|which (date|day|month|year)|"
                      r"since when|how long ago|on what day)\b")),
    (NUMBER, re.compile(r"\b(how (many|much)|what (number|percentage|share|amount|cost|"
                        r"proportion)|how (large|big)|population|total number)\b")),
    (DISTANCE, re.compile(r"\b(how far|distance|how (close|near)|kilomet(re|er)s? from|"
                          r"miles from)\b")),
    (PLACE, re.compile(r"\b(where|in which (town|city|country|region|place)|what (town|city|"
                       r"country|region|place))\b")),
]
_COUNTED = re.compile(
    r"\bhow (?:many|much) (.+?)(?=\b(?:are|is|was|were|did|does|do|has|have|had|will|would|can|"
    r"could|should|been|in|at|on|from|to|by|for)\b|[?,.;]|$)"
)
_LIST = re.compile(
    r"\b(list|name (all|the|every)|what are the|which (countries|nations|towns|groups)|"
    r"(two|three|four|five|six|seven|eight|nine|ten|\d+) [a-z]+s\b)"
)


@dataclass(frozen=True)
class Question:
    """A parsed question: text, stemmed content terms, and the answer kinds it needs."""

    text: str
    terms: tuple[str, ...]
    needs: frozenset[str]
    list_size: int | None = None
    counted: tuple[str, ...] = ()  # terms of what "how many/how much" counts ("French troops")


def parse_question(text: str) -> Question:
    """Classify a question by its wording; no model is needed, so this costs microseconds."""
    lowered = " ".join(text.lower().split())
    needs = {kind for kind, pattern in _PATTERNS if pattern.search(lowered)}
    if DISTANCE in needs:
        needs.discard(NUMBER)
        needs.discard(PLACE)
    list_size: int | None = None
    match = _LIST.search(lowered)
    if match:
        needs.add(LIST)
        count = re.search(r"\b(two|three|four|five|six|seven|eight|nine|ten|\d+) [a-z]+s\b", lowered)
        if count:
            word = count.group(1)
            list_size = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            # "the four missions" names a count, it does not ask for one
            if not re.search(r"\bhow many\b", lowered):
                needs.discard(NUMBER)
    terms = tuple(content_terms(text, skip=_WH_WORDS))
    counted: tuple[str, ...] = ()
    match = _COUNTED.search(lowered)
    if match:
        counted = tuple(content_terms(match.group(1), skip=_WH_WORDS))
    return Question(
        text=text, terms=terms, needs=frozenset(needs), list_size=list_size, counted=counted
    )
