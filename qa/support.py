"""Claim verification: does a sentence of the answer answer the question, as a passage says?

Pure and deterministic given the encoder. The answer is judged, not its wording: what a sentence
adds to the question (names, numbers, dates and negation exactly; other words exactly or as
near-synonyms) must stand in one sentence of a shown passage; that sentence must be about what
was asked (the question's key terms, the counted thing) and give the kind of answer asked; and
the window around it (that sentence, a neighbour, the article title) must carry every name,
number and date the question states. Restating the question costs nothing. The supporting
sentences become the citation's byte-exact quotes. A compound question is judged per part.
"""

from __future__ import annotations

import re
from dataclasses import replace

import msgspec
import numpy as np

from embeddings.encoder import Encoder
from embeddings.records import Sentence
from embeddings.terms import content_terms, words
from qa.prompts import DECLINED
from qa.question import (
    AGENT,
    DATE,
    DISTANCE,
    DURATION,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    Question,
    parse_question,
    split_question,
)
from qa.records import Citation, Evidence
from qa.verify import cite

NEGATION_TERMS = 3  # a claim with this many content terms states a polarity of its own
KEY_MISSING = 0.5  # share of the question's key terms a window may lack (after near-synonyms)
WORD_SIMILARITY = 0.6  # cosine of two words' embeddings that counts them as near-synonyms
SENTENCE_SIMILARITY = 0.5  # cosine of question and sentence that makes up for reworded key terms
_RELATIVE = {"yesterday", "today", "tonight", "tomorrow", "week", "month", "year", "ago"}

MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_BOUNDARY = re.compile(r"[.!?]+[\"”’')]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "sgt", "capt", "maj",
                  "prof", "jr", "sr", "vs", "u.s", "u.n", "e.g", "i.e", "approx", "jan", "feb",
                  "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100",
    "hundreds": "100", "thousand": "1000", "thousands": "1000", "million": "1000000",
    "millions": "1000000", "billion": "1000000000",
}
_CALENDAR = {"january", "february", "march", "april", "june", "july", "august", "september",
             "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
             "friday", "saturday", "sunday"}
# what a date or a figure is made of: never by itself an answer to who, where or what
_TEMPORAL = {t for w in (*_RELATIVE, "day", "days", "hours", "minutes", *_CALENDAR, *_NUMBER_WORDS)
             for t in content_terms(w)}
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|context)\b|"
    r"\b(?:system prompt|you are now|as an ai|language model)\b",
    re.IGNORECASE,
)
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without"}


class Support(msgspec.Struct, frozen=True, kw_only=True):
    """An evidence sentence that supports a claim: it becomes the citation's quote."""

    passage: int  # index into Evidence.passages
    sentence: Sentence
    score: float


class SupportedClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the answer and the evidence sentences that support it, best first."""

    text: str  # the sentence without its markers
    supports: tuple[Support, ...]


class DroppedClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the answer that did not survive verification, and why."""

    text: str
    reason: str  # declined | no_citation | unknown_passage | too_vague | no_answer | wrong_type
    #              | off_question | unconstrained | unsupported | cut_off


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
        if last_word in _ABBREVIATIONS or len(last_word) == 1:
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
    """Numbers a text states, normalised ("2,000" -> "2000", "seven" -> "7")."""
    found = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    return found | {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}


def calendar_words(text: str) -> set[str]:
    """Month and weekday names a text states ("May" only capitalised: "may" is a verb)."""
    found = {w for w in words(text) if w in _CALENDAR}
    return found | ({"may"} if re.search(r"\bMay\b", text) else set())


def names(text: str, *, first: bool = False) -> set[str]:
    """Stemmed capitalised words after the first (or from the first): the names a text mentions."""
    tokens = text.split()[0 if first else 1:]
    return {t for tok in tokens if tok[:1].isupper() for t in content_terms(tok)}


def _mentions(terms: set[str], name: str) -> bool:
    """True when ``terms`` hold the name or a longer form of it ("mali" in "malian")."""
    return name in terms or (len(name) >= 4 and any(t.startswith(name) for t in terms))


def negated(text: str) -> bool:
    """True when a text contains a negation."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


def negated_terms(text: str) -> set[str]:
    """The first content term after each negation: what the text says is not so."""
    tokens = words(text)
    found: set[str] = set()
    for i, w in enumerate(tokens):
        if w in _NEGATIONS or w.endswith("n't"):
            following = [t for tok in tokens[i + 1:i + 4] for t in content_terms(tok)]
            found.add(following[0] if following else "<not>")
    return found


class _Asked(msgspec.Struct, frozen=True, kw_only=True):
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


def asked(question: str) -> _Asked:
    """The terms and constraints of one question."""
    parsed = parse_question(question)
    if _WHICH_PLACE.search(question):  # "the capture of which town ...": asked mid-sentence
        parsed = replace(parsed, needs=parsed.needs | {PLACE})
    groups: list[frozenset[str]] = []
    grouped: set[str] = set()
    for m in _COORDINATED.finditer(question):
        group = frozenset(t for tok in re.split(r",|\band\b|\bor\b", m.group(0)) for t in content_terms(tok))
        groups.append(group)
        grouped |= group
    stated = names(question)
    groups += [frozenset({n}) for n in stated - grouped]
    return _Asked(
        text=question, parsed=parsed, terms=frozenset(content_terms(question)),
        key=frozenset(parsed.terms) - stated - grouped, name_groups=tuple(groups),
        numbers=frozenset(numbers(question)), dates=frozenset(calendar_words(question)),
        days=_stated_days(question), negated=negated(question),
    )


def _stated_days(question: str) -> tuple[tuple[str, str, str], ...]:
    """Calendar days a question states ("17 January", "January 17")."""
    found = []
    for m in _DAY_MONTH.finditer(question):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        number = _MONTHS.index(month.lower()) + 1
        found.append((day, month.lower(), f"-{number:02d}-{int(day):02d}"))
    return tuple(found)


class ClaimVerifier:
    """Judges (question, answer sentence) against the cited passages; caches embeddings."""

    def __init__(self, evidence: Evidence, encoder: Encoder) -> None:
        self.evidence = evidence
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._candidates: dict[int, list[Sentence]] = {}
        parts = split_question(evidence.question)
        self._asked = [asked(q) for q in dict.fromkeys([*parts, evidence.question])]
        for scored in evidence.sentences:
            passage = evidence.passages[scored.passage]
            s = scored.sentence
            # a quote must be byte-exact, and planted instructions never count as support
            exact = passage.text[s.start - passage.start:s.end - passage.start] == s.text
            if exact and not INSTRUCTION.search(s.text):
                self._candidates.setdefault(scored.passage, []).append(s)
        for group in self._candidates.values():
            group.sort(key=lambda s: s.start)

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._encoder.encode(missing), strict=True))
        return [self._vectors[t] for t in texts]

    def check(self, sentence: str) -> SupportedClaim | DroppedClaim:
        """Verify one answer sentence: kept with its supporting quotes, or dropped with a reason."""
        text, cited = parse_claim(sentence)
        if DECLINED.search(text):
            return DroppedClaim(text=text, reason="declined")
        if not cited:
            return DroppedClaim(text=text, reason="no_citation")
        known = [n - 1 for n in cited if 1 <= n <= len(self.evidence.passages)]
        if not known:
            return DroppedClaim(text=text, reason="unknown_passage")
        if not (content_terms(text) or numbers(text)):
            return DroppedClaim(text=text, reason="too_vague")
        reasons: list[str] = []
        for question in self._asked:
            verdict = self._check(text, question, known)
            if isinstance(verdict, SupportedClaim):
                return verdict
            reasons.append(verdict)
        # the most telling reason: the claim got furthest with one of the question's parts
        reason = min(reasons, key=_REASONS.index)
        return DroppedClaim(text=text, reason=reason)

    def _check(self, text: str, question: _Asked, known: list[int]) -> SupportedClaim | str:
        claim = _claim(text, question)
        yes_no = not question.parsed.needs and bool(_AUXILIARY.match(question.text))
        if not (claim.own_terms or claim.own_numbers or claim.own_dates or (yes_no and claim.negations)):
            return "no_answer"  # it only restates the question
        if (kind := _wrong_type(claim, question)) is not None:
            return kind
        verdicts = [self._support(claim, question, p) for p in known]
        supports = [s for found in verdicts if isinstance(found, tuple) for s in found]
        if not supports:
            # small models often cite the neighbouring passage: the service locates the quote
            others = [p for p in range(len(self.evidence.passages)) if p not in known]
            verdicts += [self._support(claim, question, p) for p in others]
            supports = next((list(v) for v in verdicts if isinstance(v, tuple)), [])
        if not supports:
            return min((v for v in verdicts if isinstance(v, str)), key=_REASONS.index)
        return SupportedClaim(text=text, supports=tuple(sorted(supports, key=lambda s: -s.score)))

    def _support(self, claim: _Claim, question: _Asked, passage: int) -> tuple[Support, ...] | str:
        """The best window of one passage that answers the question as the claim does."""
        candidates = self._candidates.get(passage, [])
        title = self.evidence.passages[passage].title or ""
        best: tuple[float, tuple[Support, ...]] | None = None
        reason = "unsupported"
        for i, s in enumerate(candidates):
            score = self._states(claim, question, s)
            if score is None:
                continue
            windows = self._answers(claim, question, s, _neighbours(candidates, i))
            if not windows:
                reason = "off_question"
                continue
            for context in windows:
                if not _constrained(question, s, context, title):
                    reason = "unconstrained"
                    continue
                window = (s,) if context is None else (s, context)
                total = score - 0.1 * (context is not None)
                if best is None or total > best[0]:
                    best = (total, tuple(Support(passage=passage, sentence=w, score=round(total, 4))
                                         for w in window))
                break
        return reason if best is None else best[1]

    def _states(self, claim: _Claim, question: _Asked, s: Sentence) -> float | None:
        """How well one sentence states the claim's own content (None when it does not)."""
        terms = set(content_terms(s.text))
        if not all(_mentions(terms, n) for n in claim.own_names):
            return None
        if not claim.own_numbers <= numbers(s.text) or not claim.own_dates <= calendar_words(s.text):
            return None
        if not claim.negations <= negated_terms(s.text):
            return None  # a negation the source does not make
        denied = (negated_terms(s.text) & claim.terms) - claim.negations
        if len(claim.terms) >= NEGATION_TERMS and denied and not question.negated:
            return None  # the source negates what the claim affirms
        missing = claim.own_terms - terms
        if len(missing) > max(1, len(claim.own_terms) // 3):
            return None
        if missing and not self._paraphrased(missing, claim.text, s.text):
            return None
        return (len(claim.terms & terms) + 1) / (len(claim.terms) + 1)

    def _answers(
        self, claim: _Claim, question: _Asked, s: Sentence, neighbours: list[Sentence]
    ) -> tuple[Sentence | None, ...]:
        """The windows (alone: None, or with a neighbour) around an answer sentence that is about
        what the question asks and gives an answer of the kind asked; () when it is not."""
        terms = set(content_terms(s.text))
        needs = question.parsed.needs
        entity_terms = {t for e in s.entities if e.label in _ENTITY_KINDS.get(_kind(needs), ())
                        for t in content_terms(e.text)}
        if _kind(needs) and not (claim.own_terms & entity_terms or claim.own_names & entity_terms):
            return ()
        if question.parsed.counted and claim.own_numbers:
            counted = set(question.parsed.counted) - terms
            if counted and not self._paraphrased(counted, question.text, s.text):
                return ()  # a figure, but for something other than what the question counts
        if self._carries(question, s.text, KEY_MISSING):
            return (None, *neighbours)
        question_vec, sentence_vec = self._embed([question.text, s.text])
        if float(question_vec @ sentence_vec) >= SENTENCE_SIMILARITY:
            return (None, *neighbours)
        # not the neighbours: they would let an entity of the next sentence answer this one's question
        return ()

    def _carries(self, question: _Asked, text: str, allowed: float) -> bool:
        """True when ``text`` lacks at most ``allowed`` of the question's key terms."""
        missing = question.key - set(content_terms(text))
        if len(missing) <= allowed * len(question.key):
            return True
        covered = len(question.key) - len(missing) + len(self._fuzzy(missing, text, question.text))
        return covered >= (1 - allowed) * len(question.key)

    def _paraphrased(self, missing: set[str], claim: str, source: str) -> bool:
        """True when every missing term has a near-synonym among the source's content words."""
        return len(self._fuzzy(missing, source, claim)) == len(missing)

    def _fuzzy(self, missing: set[str], source: str, origin: str) -> set[str]:
        """The stems in ``missing`` whose word is close, as an embedding, to a word of ``source``."""
        surface = {t: w for w in words(origin) for t in content_terms(w) if t in missing}
        candidates = sorted({w for w in words(source) if content_terms(w)})
        if not surface or not candidates:
            return set()
        matrix = np.stack(self._embed(candidates))
        found = set()
        for term, word in surface.items():
            (vec,) = self._embed([word])
            if float((matrix @ vec).max()) >= WORD_SIMILARITY:
                found.add(term)
        return found


_WHICH_PLACE = re.compile(r"\b(?:which|what) (?:town|city|village|country|region|province|capital)\b", re.I)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+{_MONTH}\b|\b{_MONTH}\s+(\d{{1,2}})\b")
_AUXILIARY = re.compile(r"\s*(?:is|are|was|were|has|have|had|do|does|did|will|can|could)\b", re.I)
_REASONS = ("off_question", "unconstrained", "unsupported", "wrong_type", "no_answer")
_ENTITY_KINDS = {
    PERSON: ("PERSON",),
    PLACE: ("GPE", "LOC", "FAC", "ORG", "PERSON"),  # the small tagger often mislabels places
}
_COORDINATED = re.compile(
    r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*(?:,\s+[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)*,?\s+(?:and|or)\s+"
    r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
)


def _kind(needs: frozenset[str]) -> str | None:
    """The entity kind an answer must name, when the question asks for one."""
    # "who" asking for an agent may be answered by a group ("rebels"): no entity is required
    return next((k for k in (PERSON, PLACE) if k in needs), None)


class _Claim(msgspec.Struct, frozen=True, kw_only=True):
    """What an answer sentence says, split into what the question gave and what it adds."""

    text: str
    terms: set[str]
    own_terms: set[str]
    own_names: set[str]
    numbers: set[str]
    own_numbers: set[str]
    own_dates: set[str]
    negations: set[str]


def _claim(text: str, question: _Asked) -> _Claim:
    terms = set(content_terms(text))
    claim_names = names(text, first=True)
    return _Claim(
        text=text, terms=terms, own_terms=terms - question.terms,
        own_names={n for n in claim_names if not _mentions(set(question.terms), n)},
        numbers=numbers(text), own_numbers=numbers(text) - question.numbers,
        own_dates=calendar_words(text) - question.dates,
        negations=negated_terms(text) - (negated_terms(question.text) if question.negated else set()),
    )


def _wrong_type(claim: _Claim, question: _Asked) -> str | None:
    """``wrong_type`` when the claim does not give the kind of thing the question asks for."""
    needs = question.parsed.needs
    if needs & {NUMBER, DISTANCE, DURATION} and not claim.own_numbers:
        return "wrong_type"
    if DATE in needs and not (claim.own_numbers or claim.own_dates or claim.own_terms & _RELATIVE):
        return "wrong_type"
    if needs & {PERSON, NAME} and not claim.own_names:
        return "wrong_type"
    if needs & {AGENT, PERSON, PLACE, NAME} and not (claim.own_names or claim.own_terms - _TEMPORAL):
        return "wrong_type"  # a date or a figure where a who, where or what was asked
    return None


def _constrained(question: _Asked, s: Sentence, context: Sentence | None, title: str) -> bool:
    """True when the window (with the article title) carries every name, number and date asked."""
    text = f"{s.text} {context.text if context else ''} {title}"
    terms = set(content_terms(text))
    wanted_numbers, wanted_dates = set(question.numbers), set(question.dates)
    resolved = [d.resolved or "" for w in (s, context) if w is not None for d in w.dates]
    for day, month, suffix in question.days:
        # "on Thursday" in an article of 20 January 2013 is 17 January: dates resolved at index time
        if any(r[4:10] == suffix or r.split("/")[0][4:10] == suffix for r in resolved):
            wanted_numbers.discard(day)
            wanted_dates.discard(month)
    return (
        all(any(_mentions(terms, n) for n in group) for group in question.name_groups)
        and wanted_numbers <= numbers(text)
        and wanted_dates <= calendar_words(text)
    )


def _neighbours(candidates: list[Sentence], i: int) -> list[Sentence]:
    """The sentences right before and after candidate ``i`` (same document, adjacent)."""
    return [candidates[j] for j in (i - 1, i + 1) if 0 <= j < len(candidates)]


def verify_claims(
    text: str, evidence: Evidence, encoder: Encoder
) -> tuple[list[SupportedClaim], list[DroppedClaim]]:
    """Split an answer with [n] markers into sentences and verify each against the evidence."""
    verifier = ClaimVerifier(evidence, encoder)
    kept: list[SupportedClaim] = []
    dropped: list[DroppedClaim] = []
    for sentence in split_sentences(text)[0]:
        verdict = verifier.check(sentence)
        (kept if isinstance(verdict, SupportedClaim) else dropped).append(verdict)  # type: ignore[arg-type]
    return kept, dropped


class CitationBook:
    """Numbers citations 1..n in order of first use and renders kept claims with their markers."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def render(self, claim: SupportedClaim) -> tuple[str, list[Citation]]:
        """The claim as answer text with renumbered markers, and the citations it adds."""
        new: list[Citation] = []
        markers: list[int] = []
        for support in claim.supports:
            s = support.sentence
            key = (s.doc_id, s.start, s.end)
            if key not in self._by_span:
                marker = len(self.citations) + 1
                passage = self.evidence.passages[support.passage]
                citation = cite(marker, s, passage, support.score)
                self._by_span[key] = marker
                self.citations.append(citation)
                new.append(citation)
            if self._by_span[key] not in markers:
                markers.append(self._by_span[key])
        body = claim.text.rstrip()
        stop = re.search(r"[.!?]+[\"”’']*$", body)
        end = stop.group(0) if stop else "."
        body = body[: stop.start()] if stop else body
        return f"{body} {''.join(f'[{m}]' for m in markers)}{end}", new
