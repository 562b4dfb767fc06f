"""The extractive answerer: the smallest set of evidence sentences that answers, quoted and cited."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date

import msgspec

from embeddings.records import DateMention, Entity, Sentence
from qa.claim_text import numbers
from qa.counted import HEAD_REACH, counts_group
from qa.generator import answer_events
from qa.premise import near_miss
from qa.question import (
    AGENT,
    DATE,
    DISTANCE,
    DURATION,
    LIST,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    Question,
    parse_question,
)
from qa.reader import (
    Windows,
    anchors_of,
    asks_negated,
    asks_past,
    circumstance_terms,
    mentions,
    name_phrases,
    named_doers,
    named_terms,
    negated,
    slot_taken,
    told_apart,
    unreal,
)
from qa.records import Answer, Citation, Evidence, ScoredSentence, StreamEvent
from qa.text import MARKER, content_terms, is_demonym, number_words, words
from qa.verify import abstain, cite

MIN_SCORE = 0.42  # below this the best sentence is not about the question (calibrated on dev questions)
RELEVANT = 0.75  # a sentence is evidence when it scores at least this share of the best one
ALTERNATIVE = 0.85  # other answers (another figure, another actor) must score this close to the best
SPECIFIC = 0.6  # ... or this close, when they give exactly what is asked (the counted thing, a name)
MAX_ALTERNATIVES = 3
MAX_SENTENCES = 6
LIST_WINDOW = 6  # sentences either side of the best one searched for enumerated list items
COVERED = 0.55  # ... or when it has this share of the question's (IDF-weighted) words
CONFIDENT = 0.68  # a sentence this close to the question may answer it in other words
NEAR_BEST = 3  # the best sentences whose neighbours may carry the answer they lead up to
WINDOW_WEIGHT = 0.5  # weight of the window's statement of the question against the sentence's score
NEAR_WEIGHT = 1.0  # weight of the question's words close to the value given
LOW = 0.4  # ... a sentence scoring this share of the best one may answer when it gives what is asked
NEAR_ENOUGH = 0.5  # ... with this share of what the question asks close to it (see ``Windows.nearness``)
STRONG = 0.8  # a sentence scoring this, with this share of the question's words, answers any kind
REWORDED = 0.5  # ... or, when none scores MIN_SCORE, this close by meaning alone and giving what is asked
WHOLE = 0.99  # ... or when the window around it states the whole question (see ``Windows.support``)
STATED = 0.3  # coverage from which a sentence states the question in its words (for the figure's nearness)
CONFIDENCE = 0.0  # the least confidence (see ``confidence``) an answer's sentence must reach

_ENTITY_KINDS = {
    AGENT: {"PERSON", "ORG", "NORP", "GPE"},
    PERSON: {"PERSON"},
    NAME: {"PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"},
    PLACE: {"GPE", "LOC", "FAC"},
}
_NAMING = re.compile(
    r"\b(?:called|known as|named|termed|dubbed)\s+[\"“]?([\w'’-]+(?: [\w'’-]+){0,3}?)(?=[\"”,;.()]|$)"
    r"|[\"“]([A-Za-z][\w'’-]*(?: [\w'’-]+){0,5}?),?[\"”]"
    # the word a quoted gloss explains: a gullet ("throat")
    r"|([\w-]+) \([\"“][^\"”()]+[\"”]\)"
)
_DISTANCE = re.compile(r"\d[\d,.]*\s*(?:km|kilomet(?:re|er)s?|miles?)\b", re.IGNORECASE)
_DURATION = re.compile(
    rf"\b(?:\d+|{'|'.join(number_words(1, 12))}|several|a few)"
    r"[- ](?:minutes?|hours?|days?|weeks?|months?|years?)\b(?: long)?", re.IGNORECASE
)
# places spaCy does not tag: "in a nearby forest", "at the airbase", "inside the towns of ..."
_PLACE_PHRASE = re.compile(
    r"\b(?:in|at|near|inside|into|around|outside|towards?) (?:a|an|the) (?:[a-z]+ ){0,2}"
    r"(?:forests?|towns?|city|cities|village|area|region|camp|base|airbase|airport|desert|"
    r"border|capital|province|outskirts|mountains?|river|canal|plant|facility|compound|port)\b"
)
# where a thing is on another: "at the far end from its snout", "on its upper surface"
_POSITION = re.compile(
    r"\b(?:at|on|in|near|inside|outside|beneath|under|above|along|between|within|behind|beside|around)\s+"
    r"(?:the|a|an|its|their|each|either|both)\s+(?:[a-z-]+\s+){0,3}?"
    r"(?:ends?|sides?|edges?|surfaces?|top|bottom|base|centre|center|middle|tip|front|back|rear|poles?|"
    r"interior|exterior|corners?|rim)\b"
)
# "which ambassador", "which Uefa Cup group" (one of a kind; "which companies" may be several)
_WHICH_THING = re.compile(
    r"^\W*(?i:which)\s+(?:[A-Z][\w-]*\s+)*(?!(?:is|was|did|does|has|had|will|would|can|could|one)\b)"
    r"([a-z][\w-]*[^s\W])\b(?!\s+of\b)"
)
# "what injury", "which Acme Cup group": the common noun of which the question asks one
_ASKED_NOUN = re.compile(
    r"^\W*(?i:what|which)\s+(?:[A-Z][\w-]*\s+)*(?!(?:is|was|are|were|did|does|do|has|have|had|will|would|"
    r"can|could|should|one|ones|kind|sort|type)\b)([a-z][\w-]*)\b"
)
_ASKS_YEAR = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
# "how much ... cost / pay / worth": a sum of money answers, not any figure (general English verbs)
_ASKS_MONEY = re.compile(
    r"\bhow much\b.*\b(?:worth|cost|costs|costing|pay|pays|paid|price|spend|spends|spent|fee|fees|earn|"
    r"earns|earned|charge|charged|sell|sold|buy|bought|raise|raised|fine|fined|salary|wages?|"
    r"compensation|damages|money|invest|invested|borrow|borrowed|lend|lent|owe|owed)\b", re.IGNORECASE
)
_CURRENCY = re.compile(r"[£$€¥]\s?\d")
# "40 million dollars" (the tagger may call it a cardinal): the names of currencies and their parts
_CURRENCY_AFTER = re.compile(
    r"\s*(?:(?:million|billion|bn|m|thousand|trillion)\s+)?(?:euros?|dollars?|pounds?|sterling|yen|francs?|"
    r"rand|rupees?|yuan|renminbi|roubles?|rubles?|pesos?|crowns?|kronor|kronur|krona|lira|liras|dinars?|"
    r"dirhams?|riyals?|shekels?|naira|cedis?|shillings?|cents?|pence)\b",
    re.IGNORECASE,
)
_WHOSE = frozenset({"GPE"})  # kinds of name a figure belongs to (another person may be quoted on it)
_ASKS_PERCENT = re.compile(
    r"\b(?:what|which) (?:percentage|per ?cent)\b|\bhow many per ?cent\b", re.IGNORECASE
)
_PERCENT_AFTER = re.compile(r"\s?(?:%|per ?cent\b)", re.IGNORECASE)
_IN_NAME = re.compile(r"[A-Za-z]")
_ASKS_AGE = re.compile(r"\b(?:how old|what age)\b", re.IGNORECASE)
# tagged as dates, not numbers: "the 67-year-old", "aged 67", "67 years old", "its 128-year history"
_AGE = re.compile(r"\b\d{1,3}(?=-year-old\b|-year\b| years old\b)|(?<=\baged )\d{1,3}\b")
_BY_AGE = re.compile(r"\W*The \d{1,3}-year-old\b")
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
_TIME_AFTER = re.compile(r"[- ]?(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?)\b", re.IGNORECASE)
_RANK_OR_DECADE = re.compile(r"(?:st|nd|rd|th|s)\b")
_ENDED = re.compile(r"[.!?][\"'”’)\]]*$")
_REFERS_BACK = re.compile(r"(?:This|That|These|Those|Such|It|He|She|They|Its|His|Her|Their)\b")
_ORDINAL = re.compile(
    r"\b(first|second|third|thirdly|fourth|fifth|final|finally|last|another|also)\b", re.IGNORECASE
)


def values(sentence: Sentence, need: str, question: Question) -> set[str]:
    """The answers of kind ``need`` a sentence offers, leaving out what the question already says."""
    asked = set(question.terms)
    if need == DATE and _ASKS_YEAR.search(question.text):
        # "in what year": only a date that states its year answers
        found = {d.text for d in sentence.dates} | {e.text for e in sentence.entities if e.label == "DATE"}
        found = {v for v in found if _YEAR.search(v)}
    elif need == DATE:
        found = {d.resolved or d.text for d in sentence.dates}
        found |= {e.text for e in sentence.entities if e.label == "DATE"}
    elif need == DURATION:
        found = {m.group(0) for m in _DURATION.finditer(sentence.text)}
        found |= {d.text for d in sentence.dates if d.resolved is None and _DURATION.search(d.text)}
    elif need == NUMBER:
        # a figure of time ("a three-and-a-half year contract") counts time only
        found = {n for n in sentence.numbers
                 if (_counts_time(question) or not _TIME_AFTER.match(_after(sentence.text, n)))
                 # a digit written onto letters is part of a name ("the XJ9 engine"), no figure
                 and not _IN_NAME.match(_before_value(sentence.text, n)[-2:-1])
                 # "its 60th anniversary", "in the 1990s": a rank or a decade counts nothing
                 and not _RANK_OR_DECADE.match(_after(sentence.text, n))}
        if _ASKS_MONEY.search(question.text):
            money = {e.text for e in sentence.entities if e.label == "MONEY"}
            found = {n for n in found if any(n in m for m in money)
                     or _CURRENCY.search(_before_value(sentence.text, n))
                     or _CURRENCY_AFTER.match(_after(sentence.text, n))}
        if _ASKS_PERCENT.search(question.text):
            found = {n for n in found if _PERCENT_AFTER.match(_after(sentence.text, n))}
        found = {n for n in found if not _other_people(sentence.text, n, question)}
        if _ASKS_AGE.search(question.text):
            # an age is stated as one ("Three" of a film's title is no age)
            found = {m.group(0) for m in _AGE.finditer(sentence.text)}
    elif need == DISTANCE:
        found = {m.group(0) for m in _DISTANCE.finditer(sentence.text)}
    elif need == PLACE:
        found = {e.text for e in place_entities(sentence)}
        found |= {m.group(0) for m in _PLACE_PHRASE.finditer(sentence.text)}
        found |= {m.group(0) for m in _POSITION.finditer(sentence.text)}
    elif need in _ENTITY_KINDS:
        found = {e.text for e in sentence.entities if e.label in _ENTITY_KINDS[need]}
        if need in (AGENT, PERSON) and not found:
            # the small tagger misses some names; the parser finds them as who does what is said
            found = set(named_doers(sentence.text))
        if need == NAME:
            # what the text itself gives as a name: "called rockwells", the "harbour hen"
            found |= {m.group(1) or m.group(2) or m.group(3) for m in _NAMING.finditer(sentence.text)}
    else:
        return set()
    said = set(words(question.text))
    # "US" of "which US state" is what the question says, not an answer to it
    return {v for v in found if (not set(content_terms(v)) <= asked or not content_terms(v))
            and not set(words(v)) <= said}


def _other_people(text: str, value: str, question: Question) -> bool:
    """True when the figure counts another people than the one the question names: "40 Ruritanian
    sailors" for "how many Freedonian sailors" (a question naming no people accepts any)."""
    said = words(question.text)
    # the counted thing is the word the people's name qualifies ("Freedonian sailors")
    heads = {t for i, w in enumerate(said[:-1]) if is_demonym(w) for t in content_terms(said[i + 1])}
    if not heads or NUMBER not in question.needs:
        return False
    after = words(_after(text, value))[:HEAD_REACH]
    reach = next((i for i, w in enumerate(after) if heads & set(content_terms(w))), None)
    if reach is None:
        return False
    stated = set(content_terms(question.text))
    return any(is_demonym(w) and not set(content_terms(w)) <= stated for w in after[:reach])


def _before_value(text: str, value: str) -> str:
    """The currency sign and figure of ``value`` in ``text`` ("£5" of "5"), or ""."""
    at = text.find(value)
    return text[max(0, at - 2): at + 1] if at >= 0 else ""


def _after(text: str, value: str) -> str:
    at = text.find(value)
    return text[at + len(value):] if at >= 0 else ""


def _counts_time(question: Question) -> bool:
    counts_time = any(_TIME_AFTER.match(f" {term}") for term in question.counted)
    return counts_time or bool(_ASKS_AGE.search(question.text))


def _needs(question: Question) -> set[str]:
    needs = set(question.needs) - {LIST}
    if not question.needs and _WHICH_THING.search(question.text):
        needs.add(NAME)  # "which ambassador", "which seat": one of its kind, by its name
    return needs


def _named(s: ScoredSentence, question: Question) -> bool:
    """For "what is X called": a name that shares a word with X ("the operation" -> "Operation Condor")."""
    if NAME not in question.needs:
        return False
    asked = set(question.terms)
    return any(set(content_terms(v)) & asked for v in values(s.sentence, NAME, question))


def _asked_noun(question: Question) -> str | None:
    """The term of the common noun a "what X" / "which X" question asks one of ("injuri" of "what
    injury", "group" of "which Acme Cup group"), or None."""
    found = _ASKED_NOUN.search(question.text)
    terms = content_terms(found.group(1)) if found else []
    return terms[0] if terms else None


def _gives_one_of(s: ScoredSentence, question: Question) -> bool:
    """True when the sentence says which one of the asked noun it is: a word the question lacks before
    it ("the knee injury") or a name or figure after it ("Group C", "Stage 4")."""
    noun = _asked_noun(question)
    if noun is None:
        return False
    tokens = re.findall(r"[\w'’-]+", s.sentence.text)
    asked = set(question.terms)
    for at, token in enumerate(tokens):
        if content_terms(token) != [noun]:
            continue
        before = content_terms(tokens[at - 1]) if at > 0 else []
        after = tokens[at + 1] if at + 1 < len(tokens) else ""
        if (before and before[0] not in asked) or re.fullmatch(r"[A-Z][\w-]*|\d+", after):
            return True
    return False


def _is_headline(s: ScoredSentence, evidence: Evidence) -> bool:
    """True for the article's headline where the text repeats it: its title, not ended like a sentence
    (a document without a title is titled by its opening sentence, which does answer)."""
    text = s.sentence.text.strip()
    return text == evidence.passages[s.passage].title.strip() and not _ENDED.search(text)


def _satisfied(s: ScoredSentence, question: Question) -> set[str]:
    found = {n for n in _needs(question) if values(s.sentence, n, question)}
    if NUMBER in found and not _counts_named(s, question):
        found.discard(NUMBER)
    return found


def _fit(
    s: ScoredSentence, question: Question, skip: frozenset[str] = frozenset()
) -> tuple[int, int, str, int]:
    """Sort key, best first: the most of the question's words (but ``skip``) in the fewest words. It
    reads the sentence alone, so documents added elsewhere in the index do not change which one wins."""
    terms = content_terms(s.sentence.text)
    return -len((set(question.terms) - skip) & set(terms)), len(terms), s.sentence.doc_id, s.sentence.start


def confidence(s: ScoredSentence, windows: Windows, question: Question) -> float:
    """How surely a sentence answers: its own score, how fully its window states the question, and
    how close to the question's words it gives what is asked."""
    return s.score + WINDOW_WEIGHT * windows.support(s) + NEAR_WEIGHT * _nearest(s, windows, question)


def _kinds_given(s: ScoredSentence, question: Question) -> int:
    """How many asked kinds a sentence gives; a sentence that states the question almost word for word
    gives them all, in words the tagger does not tag ("at the opposite end from the mouth")."""
    if s.score >= STRONG and s.coverage >= STRONG:
        return len(_needs(question))
    return len(_satisfied(s, question))


def _nearest(s: ScoredSentence, windows: Windows, question: Question) -> float:
    """How close to what the question asks a sentence gives its best value of the asked kind."""
    return max((windows.nearness(s, v) for n in _needs(question) for v in values(s.sentence, n, question)),
               default=0.0)


def hinted(relevant: list[ScoredSentence], hint: str, question: Question) -> list[ScoredSentence]:
    """``relevant`` with the sentences that state the figures ``hint`` adds to the question first,
    when a figure is asked (order otherwise kept)."""
    # a figure is exact: a sentence that states the same one is the model's source; a name the
    # model gives may come from any sentence near the question's words, right or wrong
    if NUMBER in question.needs and (said := numbers(hint) - numbers(question.text)):
        return sorted(relevant, key=lambda s: not said <= numbers(s.sentence.text))
    return relevant


def _counts_named(s: ScoredSentence, question: Question) -> bool:
    """A figure counts what is asked only if its sentence names whose it is ("French soldiers"),
    or names nobody (then "he", "it" refer to the subject of its neighbours)."""
    anchors = anchors_of(question.text)
    names = anchors.names | set().union(*anchors.choices)
    # the names before the counted thing qualify it ("French troops"); later ones say where or when
    named = set(itertools.takewhile(lambda term: term in names, question.counted))
    names_someone = any(e.label in _ENTITY_KINDS[AGENT] for e in s.sentence.entities)
    return not names_someone or named <= set(content_terms(s.sentence.text))


def _followed_up(best: ScoredSentence, windows: Windows, question: Question) -> ScoredSentence | None:
    """The sentence right after the best one when that one states the question but gives nothing it
    asks: a report leads with the fact ("Acme's sales rose in May") and gives its figure, place or name
    next ("Its figures showed a 3% rise.")."""
    if best.coverage < STATED or _kinds_given(best, question):
        return None
    after = [n for n in windows.neighbours(best, 1) if n.sentence.start > best.sentence.start]
    return after[0] if after and _satisfied(after[0], question) else None


def _aged(question: Question, ranked: list[ScoredSentence], windows: Windows) -> list[ScoredSentence]:
    """For "how old is X": a sentence that calls its subject by age ("The 47-year-old, who ...") next
    to one naming X, though it shares no word with the question."""
    names = anchors_of(question.text).names
    if not names:
        return []
    return [s for s in ranked if _BY_AGE.match(s.sentence.text)
            and all(mentions(set(content_terms(windows.text(s))), n) for n in names)]


def _of_another(s: ScoredSentence, windows: Windows, question: Question) -> bool:
    """True when a figure's sentence leaves out a place the question names (its window
    states it) and names another of that kind instead: the figure is the other one's."""
    own = set(content_terms(s.sentence.text))
    said = set(content_terms(question.text))
    around = [e for n in windows.neighbours(s) for e in n.sentence.entities if e.label in _WHOSE]
    for name in anchors_of(question.text).names - own:
        kinds = {e.label for e in around if name in content_terms(e.text)}
        if any(e.label in kinds and not set(content_terms(e.text)) & said for e in s.sentence.entities):
            return True
    return False


class ExtractiveGenerator:
    """Answers with verbatim evidence sentences; needs no LLM."""

    def __init__(self, min_score: float = MIN_SCORE) -> None:
        self.min_score = min_score

    async def generate(self, question: str, evidence: Evidence) -> Answer:
        """Generator protocol: answer from the evidence (each part of a compound question in turn)."""
        if not evidence.parts:
            return self.answer(_parsed(evidence), evidence)
        answers = [self.answer(_parsed(part), part) for part in evidence.parts]
        return combine(question, answers)

    async def guided(self, question: str, evidence: Evidence, hint: str) -> Answer:
        """Guided protocol: as ``generate``, the candidates that state ``hint``'s values first."""
        plain = await self.generate(question, evidence)
        if evidence.parts or plain.abstained:
            return plain  # the hint never makes it answer what it would not
        led = self.answer(_parsed(evidence), evidence, hint)
        return plain if led.abstained else led

    async def stream(self, question: str, evidence: Evidence) -> AsyncIterator[StreamEvent]:
        """Generator protocol: the whole answer is known at once, so it streams as it is cited."""
        async for event in answer_events(await self.generate(question, evidence)):
            yield event

    def answer(self, question: Question, evidence: Evidence, hint: str = "") -> Answer:
        """Pick evidence sentences, cite them, or abstain when they don't answer; with a ``hint``
        (another reader's answer), the candidates stating its values come first."""
        anchors = anchors_of(question.text)
        windows = Windows(evidence, named_terms(question.text) | circumstance_terms(question.text))
        # the question's numbers, dates and names must all be stated around the evidence
        ranked = [s for s in evidence.sentences if windows.matches(s, anchors)]
        # a headline restates the story; the answer is in the story's own sentences
        ranked = [s for s in ranked if not _is_headline(s, evidence)] or ranked
        if not ranked:
            return abstain(question.text, "extractive")
        top = ranked[0].score
        if top >= self.min_score:
            relevant = self._candidates(question, ranked, windows)
            relevant = self._on_topic(relevant, evidence, windows)
        else:
            relevant = self._reworded(question, ranked) or self._stated_around(question, ranked, windows)
        if _ASKS_AGE.search(question.text) and not (relevant and _satisfied(relevant[0], question)):
            relevant = _aged(question, ranked, windows) + relevant
        if asks_past(question.text):
            # "who won" is not answered by who will play: a plan or hope is not the event
            relevant = [s for s in relevant if not unreal(s.sentence.text, question.text)]
        if asks_negated(question.text):
            # "what is never involved": a sentence that negates nothing says what is, not what is not
            relevant = [s for s in relevant if negated(s.sentence.text)]
        # a sentence that misses the question's premise by one detail does not answer it
        context = " ".join(p.text for p in evidence.passages)
        if relevant and near_miss(question.text, relevant[0].sentence.text, context):
            return abstain(question.text, "extractive")
        if relevant and told_apart(question.text, relevant[0], windows):
            return abstain(question.text, "extractive")
        if hint:
            relevant = hinted(relevant, hint, question)
        needs = _needs(question)
        if not relevant or (needs and not _kinds_given(relevant[0], question)):
            return abstain(question.text, "extractive")
        if confidence(relevant[0], windows, question) < CONFIDENCE:
            return abstain(question.text, "extractive")
        if (NUMBER in needs and question.counted and relevant[0].coverage >= STATED
                and _nearest(relevant[0], windows, question) == 0):
            # a sentence that states the question's words, none of them near its figure, gives a
            # figure of something else (a paraphrase, sharing few words, can't be judged this way)
            return abstain(question.text, "extractive")
        if NUMBER in needs and _of_another(relevant[0], windows, question):
            return abstain(question.text, "extractive")
        if slot_taken(question.text, relevant[0].sentence.text):
            # the answer's sentence says it of another: "head of sales" for "head of marketing"
            return abstain(question.text, "extractive")
        chosen = [relevant[0]]
        covered = _satisfied(chosen[0], question)
        for need in sorted(needs - covered):
            extra = next((s for s in relevant if need in _satisfied(s, question)), None)
            if extra is not None and extra not in chosen:
                chosen.append(extra)
                covered |= _satisfied(extra, question)
        chosen += self._each_named(question, ranked, chosen, top)
        chosen += self.differing(question, evidence, chosen)
        if LIST in question.needs:
            chosen += self._list_items(question, evidence, chosen)
        return self._compose(question, evidence, _with_referent(chosen[:MAX_SENTENCES], windows))

    def _candidates(
        self, question: Question, ranked: list[ScoredSentence], windows: Windows
    ) -> list[ScoredSentence]:
        """The sentences that may answer, the likeliest first."""
        top = ranked[0].score
        relevant = [
            s for s in ranked
            if s.score >= max(self.min_score, RELEVANT * top)
            # a name built on the question's own words ("Operation Condor") may score lower
            or (s.score >= max(self.min_score, SPECIFIC * top) and _named(s, question))
        ]
        needs = _needs(question)
        if not needs:
            # "what injury": the sentence saying which one ("the knee injury") before one restating the rest
            relevant.sort(key=lambda s: not _gives_one_of(s, question))
        if needs:
            # the answer is the sentence giving what is asked whose window best states the question,
            # often not the one that restates it (the best of these by its own score wins ties)
            around = {id(n) for r in relevant[:NEAR_BEST] for n in windows.neighbours(r)}
            relevant += [
                s for s in ranked if s not in relevant and _satisfied(s, question)
                and (s.score >= max(self.min_score, SPECIFIC * top) or id(s) in around
                     # what is asked, given right next to the question's words, may be said in fewer
                     # of them ("Villa chairman Doug Ellis")
                     or (s.score >= LOW * top and _nearest(s, windows, question) >= NEAR_ENOUGH))
            ]
            relevant.sort(key=lambda s: (-_kinds_given(s, question),
                                         -(_named(s, question) or _gives_one_of(s, question)),
                                         -confidence(s, windows, question)))
            # when no sentence stating the question as well gives what it asks, the one after the best does
            follow = _followed_up(ranked[0], windows, question)
            if (follow is not None and any(follow is s for s in ranked)
                    and _kinds_given(follow, question) >= _kinds_given(relevant[0], question)
                    and not any(s.score >= RELEVANT * top and _kinds_given(s, question) for s in relevant)):
                relevant = [follow, *(s for s in relevant if s is not follow)]
        return relevant

    @staticmethod
    def _reworded(question: Question, ranked: list[ScoredSentence]) -> list[ScoredSentence]:
        """When no sentence states the question in its words: those that say it in others, closely
        by meaning, and give what is asked (a paraphrase shares no word to score on)."""
        if not _needs(question):
            return []
        found = [s for s in ranked if s.similarity >= REWORDED and _satisfied(s, question)]
        return sorted(found, key=lambda s: -s.similarity)

    @staticmethod
    def _stated_around(
        question: Question, ranked: list[ScoredSentence], windows: Windows
    ) -> list[ScoredSentence]:
        """When no sentence states the question alone: those whose window (with its article's title)
        states all of it, giving what is asked close to the question's words ("General secretary
        Jo Bloggs warned ..." after "The union said ...")."""
        if not _needs(question):
            return []
        found = [s for s in ranked if _satisfied(s, question) and windows.support(s) >= WHOLE
                 and _nearest(s, windows, question) >= NEAR_ENOUGH]
        return sorted(found, key=lambda s: -confidence(s, windows, question))

    @staticmethod
    def _on_topic(
        relevant: list[ScoredSentence], evidence: Evidence, windows: Windows
    ) -> list[ScoredSentence]:
        """Evidence must be about the question's rarest word, or say most of it around it, or
        paraphrase it closely."""
        if not evidence.focus:
            return relevant
        terms = evidence.passage_terms or tuple(
            frozenset(content_terms(p.text)) for p in evidence.passages
        )
        focus = evidence.focus[0]
        # a person is written of by the last word of the name ("Ms Okafor" of "Ada Okafor")
        called = {focus} | {terms_[-1] for phrase in name_phrases(evidence.question)
                            if focus in (terms_ := content_terms(phrase))}
        # a later part of an article is about what its title names, though it leaves it unsaid
        titled = [terms[p] | frozenset(content_terms(passage.title))
                  for p, passage in enumerate(evidence.passages)]
        around = [s for s in relevant if any(_states_term(titled[s.passage], t) for t in called)]
        if around:
            return around
        return [s for s in relevant
                if max(s.coverage, windows.support(s)) >= COVERED or s.similarity >= CONFIDENT]

    async def about_names(self, question: str, evidence: Evidence, names: frozenset[str]) -> Answer:
        """Completing protocol: the sentence it would add for each of ``names`` (coordinated names of
        the question, as content terms) when answering the question; an abstention when none."""
        parsed = _parsed(evidence)
        windows = Windows(evidence, named_terms(parsed.text) | circumstance_terms(parsed.text))
        ranked = [s for s in evidence.sentences if windows.matches(s, anchors_of(parsed.text))]
        ranked = [s for s in ranked if not _is_headline(s, evidence)] or ranked
        chosen = self._each_named(parsed, ranked, [], ranked[0].score, names) if ranked else []
        if not chosen:
            return abstain(parsed.text, "extractive")
        return self._compose(parsed, evidence, _with_referent(chosen, windows))

    def _each_named(
        self, question: Question, ranked: list[ScoredSentence], chosen: list[ScoredSentence],
        top: float, only: frozenset[str] | None = None,
    ) -> list[ScoredSentence]:
        """For "towns A and B": a sentence about each coordinated name (of ``only``, when given)
        that the chosen miss."""
        extra: list[ScoredSentence] = []
        floor = max(self.min_score, SPECIFIC * top)
        for group in anchors_of(question.text).choices:
            for name in sorted(group):
                if only is not None and name not in only:
                    continue
                if any(mentions(set(content_terms(c.sentence.text)), name) for c in chosen + extra):
                    continue
                found = [
                    s for s in ranked if s.score >= floor and s not in chosen + extra
                    and mentions(set(content_terms(s.sentence.text)), name)
                    and (not _needs(question) or _satisfied(s, question))
                ]
                if found:
                    # the other names of the group say nothing of this one ("Peru" for Spain's minister)
                    others = group - {name}
                    extra.append(min(found, key=lambda s: _fit(s, question, others)))
        return extra

    def _same_count(self, question: Question, s: ScoredSentence, top: float) -> bool:
        """A weaker sentence that counts the same thing ("French troops") may report another figure."""
        if NUMBER not in question.needs or not question.counted:
            return False
        if s.score < max(self.min_score, SPECIFIC * top):
            return False
        if not set(question.counted) <= set(content_terms(s.sentence.text)):
            return False
        # a qualified count ("Malian soldiers") is another group's when the qualifier stands apart
        return len(question.counted) < 2 or counts_group(s.sentence, question)

    def differing(
        self, question: Question, evidence: Evidence, chosen: list[ScoredSentence]
    ) -> list[ScoredSentence]:
        """What is shown beside ``chosen`` where reports differ (both modes): runners-up giving
        another figure, date or actor, then other documents' rivals to its key fact."""
        # rival reports are judged on all the evidence, by what they state themselves
        every = list(evidence.sentences)
        # a runner-up is another report of the same thing only where it states the question's specifics
        windows = Windows(evidence, named_terms(question.text))
        anchors = anchors_of(question.text)
        chosen_docs = {c.sentence.doc_id for c in chosen}
        pool = [s for s in every if s.sentence.doc_id in chosen_docs or windows.matches(s, anchors)]
        extra = self._alternatives(question, pool, chosen, every[0].score)
        titles = [p.title for p in evidence.passages]
        rivals = {r.sentence.doc_id: r
                  for r in lone_value_rivals(question, every, chosen, self.min_score, evidence.focus, titles)}
        # a document's rival says the asked thing; its runner-up may count another (casualties, not troops)
        shown = [rivals.pop(s.sentence.doc_id, s) for s in extra] + list(rivals.values())
        return list({id(s): s for s in shown}.values())

    def _alternatives(
        self, question: Question, pool: list[ScoredSentence], chosen: list[ScoredSentence],
        top: float,
    ) -> list[ScoredSentence]:
        """Runners-up that give a different figure, date or actor (e.g. conflicting reports)."""
        kinds = _needs(question) & {NUMBER, AGENT, DATE, DISTANCE, DURATION}
        if not kinds:
            return []
        seen = {v for s in chosen for k in kinds for v in values(s.sentence, k, question)}
        extra: list[ScoredSentence] = []
        for s in pool:
            if s in chosen or len(extra) >= MAX_ALTERNATIVES:
                continue
            if s.score < ALTERNATIVE * top and not self._same_count(question, s, top):
                continue
            offered = {v for k in kinds for v in values(s.sentence, k, question)}
            if offered and not offered & seen and s.sentence.text not in {c.sentence.text for c in chosen}:
                extra.append(s)
                seen |= offered
        return extra

    def _list_items(
        self, question: Question, evidence: Evidence, chosen: list[ScoredSentence]
    ) -> list[ScoredSentence]:
        """For list questions: the enumerated items that follow the best sentence in its article."""
        anchor = chosen[0].sentence
        same_doc = sorted(
            {s.sentence.start: s for s in evidence.sentences if s.sentence.doc_id == anchor.doc_id
             }.values(),
            key=lambda s: s.sentence.start,
        )
        at = next(i for i, s in enumerate(same_doc) if s.sentence.start == anchor.start)
        window = same_doc[max(0, at - LIST_WINDOW): at + LIST_WINDOW + 1]
        items = [s for s in window if _ORDINAL.search(s.sentence.text) and s not in chosen]
        wanted = (question.list_size or 4) + 1
        # the items nearest the sentence that announces the list
        items.sort(key=lambda s: abs(same_doc.index(s) - at))
        return items[: max(0, wanted - len(chosen))]

    def compose(self, question: Question, evidence: Evidence, chosen: list[ScoredSentence]) -> Answer:
        """The answer citing ``chosen`` (with source and date where documents differ)."""
        return self._compose(question, evidence, chosen)

    def _compose(
        self, question: Question, evidence: Evidence, chosen: list[ScoredSentence]
    ) -> Answer:
        if LIST in question.needs:
            first_doc = chosen[0].sentence.doc_id
            chosen = sorted(chosen, key=lambda s: (s.sentence.doc_id != first_doc,
                                                   s.sentence.doc_id, s.sentence.start))
        docs = {s.sentence.doc_id for s in chosen}
        parts: list[str] = []
        citations: list[Citation] = []
        for marker, s in enumerate(chosen, start=1):
            passage = evidence.passages[s.passage]
            text = render_sentence(s.sentence, annotate_dates=DATE in question.needs)
            if len(docs) > 1 and _needs(question) & KEY_KINDS:
                text = f"{attribution(passage.source, passage.published)}: {text}"
            parts.append(f"{text} [{marker}]")
            citations.append(cite(marker, s.sentence, passage, s.score))
        return Answer(
            question=question.text, answer=" ".join(parts), abstained=False,
            citations=citations, mode="extractive",
            short_answer=short_answer(question, [s.sentence for s in chosen]),
        )


# kinds of fact an answer rests on, shown side by side with their sources when documents differ
KEY_KINDS = frozenset({NUMBER, DATE, DISTANCE, DURATION, AGENT, PERSON, PLACE})
_LOCATIVE = re.compile(r"\b(?:in|at|near|inside|outside|from|to)\s+(?:the\s+)?$", re.IGNORECASE)
_IN = re.compile(r"\b(?:in|near|inside|outside)\s+$", re.IGNORECASE)


def place_entities(sentence: Sentence) -> list[Entity]:
    """Named places; the small tagger reads some cities as people ("held in Dakar"), so a name
    right after "in" counts too."""
    return [e for e in sentence.entities if e.label in _ENTITY_KINDS[PLACE]
            or (e.label in ("PERSON", "ORG") and _IN.search(_before(sentence, e)))]


def _before(sentence: Sentence, entity: Entity) -> str:
    """The sentence's text up to the entity (entity offsets are the document's)."""
    return sentence.text[: max(0, entity.start - sentence.start)]


def key_place(sentence: Sentence, question: Question) -> set[str]:
    """The one named place a sentence gives as the answer: a place entity after "in", "at" ...
    nearest the question's words ("support for Mali, at a summit ... in Abidjan": Abidjan)."""
    asked = set(question.terms)
    places = [e for e in place_entities(sentence) if not set(content_terms(e.text)) <= asked]
    located = [e for e in places if _LOCATIVE.search(_before(sentence, e))]
    nearest = sorted(located or places, key=lambda e: _closeness(sentence, question)(e.text))
    return {" ".join(words(nearest[0].text))} if nearest else set()


def key_values(sentence: Sentence, question: Question, kind: str) -> set[str]:
    """The values of one kind a sentence offers, in a form two documents can agree on."""
    if kind == DATE:
        resolved = {d.resolved for d in sentence.dates if d.resolved and "/" not in d.resolved}
        # "during the week" or "last week" dates nothing precisely enough to contradict a day
        return resolved or {v.lower() for v in values(sentence, DATE, question) if re.search(r"\d", v)}
    if kind == NUMBER:
        return {re.sub(r"[,\s]", "", v.lower()) for v in values(sentence, NUMBER, question)}
    if kind == PLACE:
        return key_place(sentence, question)
    return {" ".join(words(v)) for v in values(sentence, kind, question)}


def lone_value_rivals(
    question: Question, ranked: list[ScoredSentence], chosen: list[ScoredSentence],
    min_score: float = MIN_SCORE, focus: tuple[str, ...] = (), titles: Sequence[str] = (),
) -> list[ScoredSentence]:
    """When other documents contradict the first chosen sentence's key fact (actor, date, figure),
    the best sentence of each other document that says the same thing with a different value
    (``titles``: each passage's title, indexed like ``ScoredSentence.passage``)."""
    if not chosen:
        return []
    first = chosen[0]
    # a sentence that echoes the question's wording scores high: the floor does not follow it up
    pool = [s for s in ranked if s.score >= min_score]
    kinds = [k for k in sorted(_needs(question) & KEY_KINDS) if key_values(first.sentence, question, k)]
    if not kinds:
        return []
    claimed = {k: key_values(first.sentence, question, k) for k in kinds}
    # "the same thing": every word of the question the chosen sentence uses; for a count, the
    # counted thing and the rarest of those words ("sending 2,000 soldiers", "650 soldiers")
    said = set(content_terms(first.sentence.text)) & set(question.terms)
    if NUMBER in kinds and question.counted:
        rarest = next((t for t in focus if t in said), None)
        said = {*question.counted, *([rarest] if rarest else [])}

    counting = NUMBER in kinds and bool(question.counted)
    # a count may leave its holder to the sentence before ("Nigeria ..." then "The regional
    # powerhouse ... 1,200 soldiers")
    before = _sentence_before(ranked) if counting else {}

    # "how much money": a sum ("40 million dollars") says what it counts without the word
    sums = counting and bool(_ASKS_MONEY.search(question.text))

    def own(s: ScoredSentence) -> set[str]:
        terms = set(content_terms(s.sentence.text))
        return terms | set(question.counted) if sums and values(s.sentence, NUMBER, question) else terms

    def stated(s: ScoredSentence) -> set[str]:
        previous = before.get(id(s))
        return own(s) | (own(previous) if previous else set())

    setting = setting_terms(question.text)

    def same_thing(s: ScoredSentence) -> bool:
        missing = said - stated(s)
        if s.passage < len(titles):
            # a report names where it happens once, in its title ("... in Peru"), not in each sentence
            missing -= setting & set(content_terms(titles[s.passage]))
        if NUMBER in kinds and len(question.counted) > 1 and not counts_group(s.sentence, question):
            return False
        # a place is said with other verbs ("held in", "met in", "a summit ... in")
        return not missing or (PLACE in kinds and len(missing) == 1 and len(said) > 2)

    # another document repeating the value does not silence one that gives another: copies of a
    # claim are not independent witnesses, so every disagreement is shown
    found: dict[str, list[ScoredSentence]] = {}  # each other document's rival sentences, best first
    shown = {s.sentence.doc_id for s in chosen}
    for s in pool:
        if s.sentence.doc_id in shown or not same_thing(s):
            continue
        offered = {k: key_values(s.sentence, question, k) for k in kinds}
        if any(offered[k] and not offered[k] & claimed[k] for k in kinds):
            found.setdefault(s.sentence.doc_id, []).append(s)
    # of a document's counts, the one said in most of the question's words ("committed": the
    # troop commitment, not the soldiers killed)
    asked = set(question.terms)
    pick = (lambda group: max(group, key=lambda s: len(stated(s) & asked))) if counting else (lambda g: g[0])
    return [pick(group) for group in found.values()][:MAX_ALTERNATIVES]


_SETTING = re.compile(r"\b(?:in|at|near|inside|outside|across|throughout)\s+(?:the\s+)?"
                      r"([A-Z][\w'’-]*(?:\s+(?:of\s+)?[A-Z][\w'’-]*)*)")


def setting_terms(question: str) -> set[str]:
    """The terms of the places a question sets its event in ("floods in Peru": peru), not of
    the names it asks about ("Chile's finance minister")."""
    return {t for m in _SETTING.finditer(question) for t in content_terms(m.group(1))}


def _with_referent(chosen: list[ScoredSentence], windows: Windows) -> list[ScoredSentence]:
    """``chosen``, with the sentence before the first one when that one opens by referring back to it
    ("This led to ..."): what it refers to may be the answer."""
    first = chosen[0]
    if not _REFERS_BACK.match(first.sentence.text):
        return chosen
    before = [n for n in windows.neighbours(first, 1) if n.sentence.start < first.sentence.start]
    return before + chosen if before and before[0] not in chosen else chosen


def _sentence_before(sentences: list[ScoredSentence]) -> dict[int, ScoredSentence]:
    """The sentence before each one in its passage (keyed by ``id``)."""
    by_passage: dict[int, list[ScoredSentence]] = {}
    for s in sentences:
        by_passage.setdefault(s.passage, []).append(s)
    before: dict[int, ScoredSentence] = {}
    for group in by_passage.values():
        group.sort(key=lambda s: s.sentence.start)
        before.update((id(b), a) for a, b in itertools.pairwise(group))
    return before


def _parsed(evidence: Evidence) -> Question:
    """The question the retriever parsed (parsed here only for evidence built by hand)."""
    return evidence.parsed or parse_question(evidence.question)


def attribution(source: str | None, published: str | None) -> str:
    """ "According to BBC News (20 January 2013)", or "According to a report of 21 January 2013"."""
    when = _spell_date(published)
    if source:
        return f"According to {source}" + (f" ({when})" if when else "")
    return f"According to a report of {when}" if when else "According to another report"


def render_sentence(sentence: Sentence, *, annotate_dates: bool) -> str:
    """The sentence as it reads in the answer: whitespace folded, relative dates resolved, and its
    own bracketed numbers (footnotes, "[2]") shown as "(2)" so they are not read as citation markers."""
    text = sentence.text
    if annotate_dates:
        for mention in sorted(sentence.dates, key=lambda d: -d.start):
            label = _spell_date(mention.resolved)
            if label and not _states_date(mention.text, label):
                cut = mention.end - sentence.start
                text = f"{text[:cut]} ({label}){text[cut:]}"
    return MARKER.sub(r"(\1)", " ".join(text.split()))


def with_dates(text: str, mentions: Sequence[DateMention]) -> str:
    """``text`` (an answer in other words) with each relative date it repeats from ``mentions``
    (its source sentences' dates) followed by the date it means, as ``render_sentence`` does."""
    for mention in mentions:
        label = _spell_date(mention.resolved)
        at = text.find(mention.text)
        if label and at >= 0 and not _states_date(mention.text, label) and label not in text:
            cut = at + len(mention.text)
            text = f"{text[:cut]} ({label}){text[cut:]}"
    return text


def _spell_date(iso: str | None) -> str | None:
    """"2013-01-17" -> "17 January 2013"; "2013-01-19/2013-01-20" -> "19-20 January 2013"."""
    if not iso:
        return None
    if re.fullmatch(r"\d{4}-\d{2}", iso):
        return f"{date.fromisoformat(iso + '-01'):%B %Y}"
    try:
        days = [date.fromisoformat(part) for part in iso.split("/")]
    except ValueError:
        return None
    if len(days) == 1:
        return f"{days[0].day} {days[0]:%B %Y}"
    first, last = days[0], days[-1]
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {first:%B %Y}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"


def _states_date(mention: str, label: str) -> bool:
    """True when the mention already spells the day and month (nothing to add)."""
    said = set(words(mention))
    parts = label.lower().split()
    return all(p in said for p in parts[:-1]) and (len(parts) == 3 or parts[-1] in said)


def _closeness(sentence: Sentence, question: Question) -> Callable[[str], int]:
    """Distance (in characters) from a value to the nearest word the question also uses."""
    anchors: dict[str, list[int]] = {}
    for m in re.finditer(r"\w+", sentence.text):
        for term in set(content_terms(m.group(0))) & set(question.terms):
            anchors.setdefault(term, []).append(m.start())

    def distance(value: str) -> int:
        at = sentence.text.find(value)
        if at < 0 or not anchors:
            return 10_000
        return sum(min(abs(at - a) for a in places) for places in anchors.values())

    return distance


def short_answer(question: Question, sentences: list[Sentence]) -> str | None:
    """The asked-for span alone (a name, a figure with its unit, a date), or None when there is none:
    the value of each asked kind nearest the question's words in the first sentence that has one."""
    kinds = [k for k in (PERSON, AGENT, NAME, NUMBER, DISTANCE, DURATION, PLACE, DATE) if k in question.needs]
    if not kinds:
        return None
    limit = (question.list_size or 4) if LIST in question.needs else 1
    parts: list[str] = []
    for need in kinds:
        found: list[str] = []
        for s in sentences:
            found += [v for v in _asked_spans(s, need, question) if v not in found]
            if len(found) >= limit:
                break
        if not found:
            return None  # a part of what is asked has no span of its kind: a sentence answers it
        parts.append(", ".join(found[:limit]))
    return "; ".join(parts)


def _asked_spans(s: Sentence, need: str, question: Question) -> list[str]:
    """Values of kind ``need`` in one sentence, nearest the question's words first."""
    near = _closeness(s, question)
    if need == DATE:
        mentions = sorted(s.dates, key=lambda d: near(d.text))
        return [_spell_date(d.resolved) or d.text for d in mentions if d.resolved]
    offered = sorted(sorted(values(s, need, question)), key=near)
    if need == NUMBER:
        offered = [_with_unit(s.text, v) for v in offered if any(ch.isdigit() for ch in v)]
    return offered


_UNIT_AFTER = re.compile(r"\s?(%|[A-Za-z][\w-]*)")


def _with_unit(text: str, value: str) -> str:
    """A figure with its currency sign and the word it counts: "£10 subscription", "2,000 troops"."""
    at = text.find(value)
    if at < 0:
        return value
    if at > 0 and text[at - 1] in "£$€¥":
        value, at = text[at - 1] + value, at - 1
    unit = _UNIT_AFTER.match(text, at + len(value))
    if unit and (unit.group(1) == "%" or content_terms(unit.group(1))):
        value = text[at:unit.end()]
    return value


def combine(question: str, answers: list[Answer]) -> Answer:
    """One answer to a compound question from the answers to its parts, markers renumbered."""
    if all(a.abstained for a in answers):
        return abstain(question, "extractive")
    texts: list[str] = []
    citations: list[Citation] = []
    shorts: list[str] = []
    for a in answers:
        if a.abstained:
            texts.append(f"The sources don't say: {a.question}")
            continue
        text, cited = renumbered(a, len(citations))
        texts.append(text)
        citations += cited
        if a.short_answer:
            shorts.append(a.short_answer)
    return Answer(
        question=question, answer=" ".join(texts), abstained=False, citations=citations,
        mode="extractive", short_answer=" | ".join(shorts) or None,
    )


def renumbered(answer: Answer, by: int) -> tuple[str, list[Citation]]:
    """``answer``'s text and citations with every marker moved up ``by`` (to follow other citations)."""
    def shifted(match: re.Match[str]) -> str:
        return f"[{int(match.group(1)) + by}]"

    return MARKER.sub(shifted, answer.answer), [
        msgspec.structs.replace(c, marker=c.marker + by) for c in answer.citations]


def _states_term(terms: frozenset[str], term: str) -> bool:
    """The passage has the term, or a longer word of its stem ("seiz": "seizure")."""
    return term in terms or (len(term) >= 4 and any(
        t.startswith(term) and len(t) - len(term) <= 3 for t in terms))
