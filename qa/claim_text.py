"""Reading answer sentences and questions: markers, numbers, dates, names, negation, constraints."""

from __future__ import annotations

import re

import msgspec
from msgspec.structs import replace

from qa.question import (
    AGENT,
    DATE,
    DISTANCE,
    DURATION,
    NUMBER,
    PLACE,
    Question,
    carried_apart,
    parse_question,
)
from qa.text import (
    ABBREVIATIONS,
    CARDINALS,
    MONTH_NAMES,
    MONTHS,
    WEEKDAY_NAMES,
    content_terms,
    words,
)

RELATIVE = {"yesterday", "today", "tonight", "tomorrow", "week", "month", "year", "ago"}

MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_BOUNDARY = re.compile(r"[.!?]+[\"”’')]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_NUMBER_WORDS = {w: str(n) for w, n in CARDINALS.items()}
_CALENDAR = (set(MONTH_NAMES) | set(WEEKDAY_NAMES)) - {"may"}
# what a date or a figure is made of: never by itself an answer to who, where or what
TEMPORAL = {t for w in (*RELATIVE, "day", "days", "hours", "minutes", *_CALENDAR, *_NUMBER_WORDS)
             for t in content_terms(w)}
_CLAUSE_END = re.compile(r"[:;](?=\s|$)")
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without"}



_WHICH_PLACE = re.compile(r"\b(?:which|what) (?:town|city|village|country|region|province|capital)\b", re.I)
# "how much does X cost": an amount, not a count of X
_HOW_MUCH_VERB = re.compile(
    r"\bhow (?:much|many) (?:is|are|was|were|do|does|did|has|have|had|will|would|can|could)\b", re.I
)
# "which companies ...": a thing asked by its kind, not a figure ("what" often asks an amount)
_WHICH_THING = re.compile(r"^(?:\S+ ){0,2}(?:which (?!(?:is|are|was|were|do|does|did|has|have|had)\b)\w+|"
                          r"what (?:type|kind|sort|form|class)s? of\b)",
                          re.I)
# "What happens when ...": a "when" clause inside a question that asks something else
_WHEN_CLAUSE = re.compile(
    r"^\s*(?:what|who|whom|which|how|where|why)\b(?:(?!\b(?:and|or|date|day|month|year|time)\b)[^,;])*?"
    r"\bwhen\b", re.I
)
# "The valley where X lies has been farmed for how many years?": the where is a relative clause
_WHERE_CLAUSE = re.compile(r"^\s*(?:the|a|an|this|that)\s+\w+\s+where\b", re.I)
_HOW_MANY = re.compile(r"\bhow (?:many|much)\b", re.I)
_MONTH = "(" + "|".join(m.capitalize() for m in MONTH_NAMES) + ")"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH}\b|\b{_MONTH}\s+(\d{{1,2}})\b")
AUXILIARY = re.compile(r"\s*(?:is|are|was|were|has|have|had|do|does|did|will|can|could)\b", re.I)
_COORDINATED = re.compile(
    r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*(?:,\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)*,?\s+(?:and|or)\s+"
    r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
)


def split_sentences(text: str, *, final: bool = True) -> tuple[list[str], str]:
    """Complete sentences of ``text`` (markers stay with their sentence) and the unfinished rest."""
    *closed_lines, last = text.split("\n")
    sentences: list[str] = []
    for line in closed_lines:
        pieces, rest = _split_line(line)
        sentences += [*pieces, rest]
    pieces, rest = _split_line(last)
    sentences += pieces
    if final:
        sentences.append(rest)
        rest = ""
    return [s for s in sentences if s.strip()], rest


def _split_line(line: str) -> tuple[list[str], str]:
    """Sentences of one line that the following text proves complete, and the rest."""
    pieces: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        after = line[m.end():]
        following = after.lstrip()
        # not yet an end: nothing follows (a marker may), "2.5", a lower-case continuation
        if not following or not after[:1].isspace() or following[0].islower() or following[0] == "[":
            continue
        last_word = (line[start:m.start()].split() or [""])[-1].lower().strip("(\"'")
        if last_word in ABBREVIATIONS or len(last_word) == 1:
            continue
        pieces.append(line[start:m.end()])
        start = m.end()
    return pieces, line[start:]


def parse_claim(sentence: str) -> tuple[str, tuple[int, ...]]:
    """A sentence's text without markers, and the passage numbers it cites (1-based, in order)."""
    cited: list[int] = []
    for m in MARKERS.finditer(sentence):
        cited += [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
    text = MARKERS.sub(" ", sentence)
    text = _LIST_PREFIX.sub("", text)
    text = re.sub(r'^\s*["“”]+|["“”]+(?=[.!?]*\s*$)', "", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    return text, tuple(dict.fromkeys(cited))


def numbers(text: str) -> set[str]:
    """Numbers a text states, normalised ("2,000" -> "2000", "seven" -> "7", "a four-day strike" -> "4")."""
    found = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    return found | {n for w in words(text) for n in _word_numbers(w)}


def _word_numbers(word: str) -> set[str]:
    """The figures one word spells, alone or in a compound ("four-day" -> 4, "twenty-five" -> 25)."""
    parts = [_NUMBER_WORDS.get(p) for p in word.split("-")]
    if len(parts) == 2 and all(parts) and int(parts[0] or 0) >= 20 and int(parts[1] or 0) < 10:
        return {str(int(parts[0] or 0) + int(parts[1] or 0))}
    return {p for p in parts if p}


def calendar_words(text: str) -> set[str]:
    """Month and weekday names a text states ("May" only capitalised: "may" is a verb)."""
    found = {w for w in words(text) if w in _CALENDAR}
    return found | ({"may"} if re.search(r"\bMay\b", text) else set())


def names(text: str, *, first: bool = False) -> set[str]:
    """Stemmed capitalised words after the first (or from the first): the names a text mentions."""
    tokens = text.split()[0 if first else 1:]
    return {t for tok in tokens if tok[:1].isupper() for t in content_terms(tok)}


def mentions(terms: set[str], name: str) -> bool:
    """True when ``terms`` hold the name or a longer form of it ("mali" in "malian")."""
    return name in terms or (len(name) >= 4 and any(t.startswith(name) for t in terms))


def mentions_loosely(terms: set[str], name: str) -> bool:
    """``mentions``, or a shorter form of the name ("zimbabw" for "Zimbabwean"): for names asked."""
    return mentions(terms, name) or any(len(t) >= 5 and name.startswith(t) for t in terms)


# the everyday names of one country: "the States" asked is the "America's" of a source
_COUNTRY_NAMES = (
    re.compile(r"\b(?:the United States|the States|U\.S\.(?:A\.)?|USA?|America(?:ns?)?)\b"),
    re.compile(r"\b(?:the United Kingdom|U\.K\.|UK|(?:Great )?Britain|British)\b"),
)


def renamed(text: str, source: str) -> set[str]:
    """The terms of the countries ``text`` names that ``source`` names too, in any of their names."""
    return {t for pattern in _COUNTRY_NAMES if pattern.search(source)
            for m in pattern.finditer(text) for t in content_terms(m.group(0))}


def negated(text: str) -> bool:
    """True when a text contains a negation."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


def negated_terms(text: str) -> set[str]:
    """The first content term after each negation: what the text says is not so. A colon or a
    semicolon ends a negation's reach ("what do they not own: the land")."""
    found: set[str] = set()
    for clause in _CLAUSE_END.split(text):
        tokens = words(clause)
        for i, w in enumerate(tokens):
            if w in _NEGATIONS or w.endswith("n't"):
                following = [t for tok in tokens[i + 1:i + 4] for t in content_terms(tok)]
                found.add(following[0] if following else "<not>")
    return found


def affirmed_terms(text: str) -> set[str]:
    """The content terms a text states outside the reach of a negation ("went to court" in "... went to
    court ..., there was no court ruling")."""
    found: set[str] = set()
    for clause in _CLAUSE_END.split(text):
        tokens = words(clause)
        denied_at: set[int] = set()
        for i, w in enumerate(tokens):
            if w in _NEGATIONS or w.endswith("n't"):
                following = [j for j in range(i + 1, min(i + 4, len(tokens))) if content_terms(tokens[j])]
                denied_at.update(following[:1])
        found |= {t for i, w in enumerate(tokens) if i not in denied_at for t in content_terms(w)}
    return found


class Asked(msgspec.Struct, frozen=True, kw_only=True):
    """One question (a part of a compound one): what it gives and what it constrains."""

    text: str
    parsed: Question
    terms: frozenset[str]  # every content term the question states
    key: frozenset[str]  # its predicate terms: what the answer sentence itself must carry
    name_groups: tuple[frozenset[str], ...]  # names it states; one of each coordinated group
    numbers: frozenset[str]
    dates: frozenset[str]
    days: tuple[tuple[str, str, str], ...]  # (day number, month word, "-MM-DD") of stated dates
    negated: bool


def asked(question: str) -> Asked:
    """The terms and constraints of one question; referents a follow-up carried along are one group,
    any of which the answer may be about."""
    full, carried = question, parse_question(question).carried
    question = carried_apart(full)[0]
    parsed = parse_question(question)
    if _WHICH_PLACE.search(question):  # "the capture of which town ...": asked mid-sentence
        parsed = replace(parsed, needs=parsed.needs | {PLACE})
    if DATE in parsed.needs and _WHEN_CLAUSE.search(question):
        parsed = replace(parsed, needs=parsed.needs - {DATE})
    if PLACE in parsed.needs and _WHERE_CLAUSE.search(question) and _HOW_MANY.search(question):
        parsed = replace(parsed, needs=parsed.needs - {PLACE} | {NUMBER})
    if _HOW_MUCH_VERB.search(question):
        parsed = replace(parsed, counted=())
    if _WHICH_THING.search(question) and not parsed.needs & {NUMBER, DATE, DURATION, DISTANCE}:
        parsed = replace(parsed, needs=parsed.needs | {AGENT})
    groups: list[frozenset[str]] = []
    grouped: set[str] = set()
    for m in _COORDINATED.finditer(question):
        group = frozenset(t for tok in re.split(r",|\band\b|\bor\b", m.group(0)) for t in content_terms(tok))
        groups.append(group)
        grouped |= group
    stated = names(question)
    groups += [frozenset({n}) for n in stated - grouped]
    if carried:
        groups.append(frozenset(carried))
    return Asked(
        text=full, parsed=parsed, terms=frozenset(content_terms(full)),
        key=frozenset(parsed.terms) - stated - grouped, name_groups=tuple(groups),
        numbers=frozenset(numbers(question)), dates=frozenset(calendar_words(question)),
        days=_stated_days(question), negated=negated(question),
    )


def _stated_days(question: str) -> tuple[tuple[str, str, str], ...]:
    """Calendar days a question states ("17 January", "January 17")."""
    found = []
    for m in _DAY_MONTH.finditer(question):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        number = MONTHS[month.lower()]
        found.append((day, month.lower(), f"-{number:02d}-{int(day):02d}"))
    return tuple(found)


