"""What a question asks for: its content terms and the kinds of evidence an answer needs."""

from __future__ import annotations

import re

from qa.records import Question
from qa.text import content_terms, number_words

# Kinds of answer a question can need; each maps to evidence a sentence must contain.
AGENT = "agent"  # who did something: a person, organisation, group or country
PERSON = "person"  # who *is* someone ("Who is the foreign minister?"): a person's name
NAME = "name"  # what something is called: a proper name the question does not contain
DATE = "date"  # when
DURATION = "duration"  # how long
NUMBER = "number"  # how many / how much
PLACE = "place"  # where
DISTANCE = "distance"  # how far
LIST = "list"  # several items ("the four missions", "which countries")

# proper names joined by "and"/"or" ("Spain and Peru", "Chile, Peru or Bolivia")
_PROPER = r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*"
_COORDINATED = re.compile(rf"(?<!^){_PROPER}(?:,\s+{_PROPER})*,?\s+(?:and|or)\s+{_PROPER}")
_NAME_WORD = re.compile(_PROPER)
_NUMBER_WORDS = number_words(2, 10)
_COUNT = "|".join(_NUMBER_WORDS)
_WH_WORDS = frozenset({
    "who", "whom", "whose", "when", "where", "what", "which", "how", "why", "many", "much",
    "far", "did", "does", "do", "is", "are", "was", "were", "has", "have", "had", "long",
    "name", "called", "call",
})
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (PERSON, re.compile(r"\bwho (is|was|are|were|heads|leads|runs|chairs)\b(?! (said|told|reported))")),
    (AGENT, re.compile(r"\b(who|whom|whose|which (group|country|countries|organi[sz]ation|"
                       r"person|official|minister|militants?|forces?|army|nations?|company))\b")),
    (NAME, re.compile(r"\b(what (is|was|are|were) (it|they|[\w'’]+( [\w'’]+){0,7}) called|what name|"
                      r"(what|which) is the name|name of the|what (do|did|does) .+ call|called what)\b")),
    (DATE, re.compile(r"\b(when|what (date|day|month|year|time)|which (date|day|month|year)|"
                      r"since when|how long ago|on what day)\b")),
    (DURATION, re.compile(r"\b(how long|for how many (days|weeks|months|years|hours))\b(?! ago)")),
    (NUMBER, re.compile(r"\b(how (many|much|old)|what age|what (number|percentage|share|amount|cost|"
                        r"proportion)|how (large|big)|population|total number|"
                        # "what is the typical annual cost": a quantity named after a few words
                        r"what (is|was|are|were) the ([a-z-]+ ){0,3}(cost|costs|price|amount|fee|fees|rate|"
                        r"percentage|proportion|total|value)|"
                        # "what was Acme's net income for 2004": a sum of money a firm or a person has
                        r"what (is|was|are|were) (the |[a-z][\w.-]*['’]s )([a-z-]+ ){0,2}(income|profits?|"
                        r"revenues?|turnover|earnings|loss|losses|debts?|deficit|surplus|salary)"
                        r"(?= *(\?|$|(for|in|of|at|on|from|during|last|this|over|since)\b))|"
                        # "what is output expected to grow by": the change is an amount
                        r"what (is|was|are|were|will|would|did|does|do) [^?]*\b(grow|grew|rise|rose|fall|"
                        r"fell|increase|decrease|drop|climb|shrink|shrank|expand|jump|slide|slid)(s|d|ed)? by"
                        r"(?= *(\?|$|(in|this|next|last|over|during|since)\b)))")),
    (DISTANCE, re.compile(r"\b(how far|distance|how (close|near)|kilomet(re|er)s? from|"
                          r"miles from)\b")),
    (PLACE, re.compile(r"\b(where|(in|at|to|from) (which|what) ([A-Za-z]+ )?(town|city|country|state|"
                       r"county|province|region|place|capital)|"
                       r"what (town|city|country|state|region|place))\b")),
]
# A wh-phrase asks something when it opens the question (after at most two words, as in
# "On what day ...") or a coordinated part of it ("... and when?"); elsewhere "who" is relative.
_OPENS = re.compile(r"^(\S+ ){0,2}$")
_JOINED = re.compile(r"(\band|\bor|,|;)\s*$")
_COUNTED = re.compile(
    r"\bhow (?:many|much) (.+?)(?=\b(?:are|is|was|were|did|does|do|has|have|had|will|would|can|"
    r"could|should|been|in|at|on|from|to|by|for)\b|[?,.;]|$)"
)
_AUXILIARY = re.compile(r"(?:are|is|was|were|did|does|do|has|have|had|will|would|can|could|should)\b")
_LIST = re.compile(
    r"\b(list|name (all|the|every)|what are the|which (countries|nations|towns|groups)|"
    rf"({_COUNT}|\d+) "
    r"(?!(?:hours|days|weeks|months|years|minutes|times|miles|kilomet(?:re|er)s)\b)[a-z]+s\b)"
)
_COUNT_IN_LIST = re.compile(
    rf"\b({_COUNT}|\d+) "
    r"(?!(?:hours|days|weeks|months|years|minutes|times|miles|kilomet(?:re|er)s)\b)[a-z]+s\b"
)
_DESCRIBE = re.compile(
    r"^\W*(?i:who (?:is|was|are|were)) (?:(?i:the) )?[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)*\W*$"
)
# "X, and what Y?" / "X and how many Y?": a second question joined to the first
_SECOND_QUESTION = re.compile(
    r",? (?:and|but) (?=(?:who|whom|what|when|where|which|how|why)\b)", re.IGNORECASE
)


# A follow-up made to stand alone names after this the referents it could not put in place
# (qa.followup): "When did they open, regarding net cafes and the authorities?"
CARRIED = ", regarding "


def carried_apart(question: str) -> tuple[str, str]:
    """A question split into what it asks and the referents carried after ``CARRIED``, any one of
    which it may be about; ``(question, "")`` when it carries none."""
    head, sep, tail = question.rpartition(CARRIED)
    tail = tail.strip().rstrip("?").strip()
    if not sep or not head.strip() or not tail:
        return question, ""
    return f"{head.rstrip(' ?')}?", tail


# a wh-word after another one opens a clause ("what happens when ..."), unless a part is joined
_WH_BEFORE = re.compile(r"\b(?:who|whom|whose|what|which|where|when|how|why)\b")


def _asked(pattern: re.Pattern[str], lowered: str) -> bool:
    """True when the pattern's wh-phrase is what the question asks, not the start of a clause in it."""
    return any(_JOINED.search(before := lowered[: m.start()])
               or (_OPENS.match(before) is not None and not _WH_BEFORE.search(before))
               for m in pattern.finditer(lowered))


def parse_question(text: str) -> Question:
    """Classify a question by its wording; no model is needed, so this costs microseconds. What it
    asks comes from its own words; referents a follow-up carried along are ``carried`` terms."""
    full, (text, tail) = text, carried_apart(text)
    lowered = " ".join(text.lower().split())
    needs = {kind for kind, pattern in _PATTERNS if _asked(pattern, lowered)}
    if PERSON in needs:
        needs.discard(AGENT)
        if _DESCRIBE.search(text):
            needs.discard(PERSON)  # "Who is Jane Doe?" asks what she is, not for a name
    if DISTANCE in needs:
        needs -= {NUMBER, PLACE}
    if DURATION in needs:
        needs -= {DATE, NUMBER}
    list_size: int | None = None
    if _LIST.search(lowered):
        needs.add(LIST)
        count = _COUNT_IN_LIST.search(lowered)
        if count:
            word = count.group(1)
            list_size = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            # "the four missions" names a count, it does not ask for one
            if not re.search(r"\bhow many\b", lowered):
                needs.discard(NUMBER)
    terms = tuple(content_terms(text, skip=_WH_WORDS))
    counted: tuple[str, ...] = ()
    match = _COUNTED.search(lowered)
    if match and not _AUXILIARY.match(match.group(1)):
        # "how much does X say ..." counts nothing named: what follows is a clause
        counted = tuple(content_terms(match.group(1), skip=_WH_WORDS))
    carried = tuple(t for t in dict.fromkeys(content_terms(tail)) if t not in terms)
    return Question(
        text=full, terms=terms + carried, needs=frozenset(needs), list_size=list_size, counted=counted,
        carried=carried,
    )


def one_name_each(text: str) -> tuple[str, ...]:
    """For "the ministers of Spain and Peru": the question asked of each coordinated name alone
    ("... of Spain?", "... of Peru?"); nothing for a question without such names."""
    found = _COORDINATED.search(text)
    names = list(dict.fromkeys(_NAME_WORD.findall(found.group(0)))) if found else []
    if found is None or len(names) < 2:
        return ()
    return tuple(f"{text[:found.start()]}{name}{text[found.end():]}" for name in names)


def split_question(text: str) -> list[str]:
    """Split "A, and what B?" into its questions; a plain question comes back alone."""
    parts = [p.strip(" ,;") for p in _SECOND_QUESTION.split(text) if p.strip(" ,;?")]
    if len(parts) < 2 or any(len(p.split()) < 3 for p in parts):
        return [text]
    return [p if p.endswith("?") else f"{p}?" for p in parts]
