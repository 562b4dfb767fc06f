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
from collections.abc import Set

import msgspec
import numpy as np
from msgspec.structs import replace

from embeddings.encoder import Encoder
from embeddings.records import Entity, Sentence
from qa.answer import with_dates
from qa.claim_text import (
    AUXILIARY,
    RELATIVE,
    TEMPORAL,
    Asked,
    affirmed_terms,
    asked,
    calendar_words,
    mentions,
    mentions_loosely,
    names,
    negated_terms,
    numbers,
    parse_claim,
    renamed,
    split_sentences,
)
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
    split_question,
)
from qa.reader import anchors_of
from qa.records import Citation, Evidence
from qa.text import content_terms, is_demonym, words
from qa.verify import cite

TITLE_WORDS = 2  # words right before a name that may title it ("the town of Quillmere")
TITLE_REACH = 4  # words before a person's name that may give their title ("Ivory Coast President")
NEGATION_TERMS = 3  # a claim with this many content terms states a polarity of its own
TITLE_MISSING = 0.34  # share of them a sentence may lack when the article title supplies the rest
KEY_MISSING = 0.5  # share of the question's key terms a window may lack (after near-synonyms)
WORD_SIMILARITY = 0.6  # cosine of two words' embeddings that counts them as near-synonyms
RANK_MARGIN = 0.15  # how much closer (cosine) to the question another sentence of the passage may be
KEY_LEAD = 2  # how many more of the question's key terms another sentence states, to hold the answer
LEAD_MARGIN = 0.2  # how much further from the question (cosine) that sentence may be
SOLE_AMONG = 3  # sentences a passage needs for its closest one, with no rival, to answer reworded
SENTENCE_SIMILARITY = 0.5  # cosine of question and sentence that makes up for reworded key terms
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|context)\b|"
    r"\b(?:system prompt|you are now|as an ai|language model)\b",
    re.IGNORECASE,
)
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


class ClaimVerifier:
    """Judges (question, answer sentence) against the cited passages; caches embeddings."""

    def __init__(self, evidence: Evidence, encoder: Encoder) -> None:
        self.evidence = evidence
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._candidates: dict[int, list[Sentence]] = {}
        parts = split_question(evidence.question)
        self._asked = [_anchored(q) for q in dict.fromkeys([*parts, evidence.question])]
        for scored in evidence.sentences:
            passage = evidence.passages[scored.passage]
            s = scored.sentence
            # a quote must be byte-exact, and planted instructions never count as support
            exact = passage.text[s.start - passage.start:s.end - passage.start] == s.text
            if exact and not INSTRUCTION.search(s.text):
                self._candidates.setdefault(scored.passage, []).append(s)
        for group in self._candidates.values():
            group.sort(key=lambda s: s.start)
        # what the tagger named anywhere in a document: "Euclid" opening a sentence, untagged there
        self._named: dict[str, set[str]] = {}
        for scored in evidence.sentences:
            self._named.setdefault(scored.sentence.doc_id, set()).update(
                t for e in scored.sentence.entities if e.label in _NAME_LABELS for t in content_terms(e.text))

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
        # a sentence the model left unmarked is sought in every passage, as a mis-cited one is
        known = [n - 1 for n in cited if 1 <= n <= len(self.evidence.passages)]
        if cited and not known:
            return DroppedClaim(text=text, reason="unknown_passage")
        if not self.evidence.passages:
            return DroppedClaim(text=text, reason="no_citation")
        if not (content_terms(text) or numbers(text)):
            return DroppedClaim(text=text, reason="too_vague")
        reasons: list[str] = []
        for question in self._asked:
            verdict = self._check(text, question, known)
            if isinstance(verdict, SupportedClaim):
                return verdict
            reasons.append(verdict)
        # the most telling reason: the claim got furthest with one of the question's parts
        reason = min(reasons, key=_REASONS.index) if cited else "no_citation"
        return DroppedClaim(text=text, reason=reason)

    def _check(self, text: str, question: Asked, known: list[int]) -> SupportedClaim | str:
        claim = _claim(text, question, self.evidence.question)
        yes_no = not question.parsed.needs and bool(AUXILIARY.match(question.text))
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

    def _support(self, claim: _Claim, question: Asked, passage: int) -> tuple[Support, ...] | str:
        """The best window of one passage that answers the question as the claim does."""
        candidates = self._candidates.get(passage, [])
        shown = self.evidence.passages[passage]
        best: tuple[float, tuple[Support, ...]] | None = None
        reason = "unsupported"
        # the persons the passage names, each by its terms in order: the last is the surname
        people = [content_terms(e.text) for c in candidates for e in c.entities if e.label == "PERSON"]
        for i, s in enumerate(candidates):
            score = self._states(claim, question, s, people)
            if score is None:
                continue
            windows = self._answers(claim, question, s, _neighbours(candidates, i), shown.title or "", people,
                                    self._sole(claim, question, candidates, i),
                                    self._closest(question, candidates) == i)
            if windows and self._outranked(claim, question, candidates, i):
                windows = ()
            if not windows:
                reason = "off_question"
                continue
            # a name the question states may stand earlier in the passage ("Gordon Brown" ... "Mr Brown")
            title = f"{shown.title or ''} {shown.text}"
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

    def _states(self, claim: _Claim, question: Asked, s: Sentence, people: list[list[str]]) -> float | None:
        """How well one sentence states the claim's own content (None when it does not)."""
        terms = set(content_terms(s.text))
        # "the United States" is the "America's" of the source
        other_names = renamed(claim.text, s.text)
        unnamed = {n for n in claim.own_names if not mentions(terms, n)} - other_names
        # "Lady Okafor" is the "Ada Okafor" the passage named in full elsewhere
        if unnamed and not any(p and unnamed <= set(p) and p[-1] in terms & claim.own_names for p in people):
            return None
        if not claim.own_numbers <= numbers(s.text) or not claim.own_dates <= calendar_words(s.text):
            return None
        if not claim.negations <= negated_terms(s.text):
            return None  # a negation the source does not make
        # a term the source also states unnegated is not what it denies
        denied = (negated_terms(s.text) & claim.terms) - claim.negations - affirmed_terms(s.text)
        if len(claim.terms) >= NEGATION_TERMS and denied and not question.negated:
            return None  # the source negates what the claim affirms
        # "128" of "their 128-year history": a figure is checked as a number, not as a word
        missing = {t for t in claim.own_terms - terms - unnamed - other_names
                   if t.replace(",", "") not in numbers(s.text)}
        if len(missing) > max(1, len(claim.own_terms) // 3):
            return None
        if missing and not self._paraphrased(missing, claim.text, s.text):
            return None
        return (len(claim.terms & terms) + 1) / (len(claim.terms) + 1)

    def _answers(
        self, claim: _Claim, question: Asked, s: Sentence, neighbours: list[Sentence], title: str,
        people: list[list[str]], sole: bool = False, closest: bool = True,
    ) -> tuple[Sentence | None, ...]:
        """The windows (alone: None, or with a neighbour) around an answer sentence that is about
        what the question asks and gives an answer of the kind asked; () when it is not."""
        terms = set(content_terms(s.text))
        needs = question.parsed.needs
        kind = _kind(needs)
        labels = _ENTITY_KINDS[kind] if kind else ()
        entity_terms = {t for e in s.entities if e.label in labels for t in content_terms(e.text)}
        if kind == PERSON:  # "Lady Okafor", untagged here, is a person the passage tagged elsewhere
            entity_terms |= {p[-1] for p in people if p and p[-1] in terms}
        if kind == PLACE:  # "hiding in a nearby forest": a place need not be a named one
            entity_terms |= {t for m in _LOCATIVE.finditer(s.text) for t in content_terms(m.group(1))}
            entity_terms |= {t for e in s.entities if e.label == "NORP" and _mislabelled_place(e.text)
                             for t in content_terms(e.text)}
            # "the town of Quillmere", tagged a person: the passage titles it by the noun asked ("which town")
            entity_terms |= {t for e in _titled_by(s, _which_nouns(question)) for t in content_terms(e.text)}
        if kind and not (claim.own_terms & entity_terms or claim.own_names & entity_terms):
            return ()
        if (subject := _defined(question)) and not _defines(s.text, subject):
            return ()  # "what is a statocyst?" asks what it is, not what is done to it
        if kind == PERSON and _titled_elsewhere(claim, question, s):
            return ()
        if needs & {PERSON, AGENT} and self._described_elsewhere(claim, question, s):
            return ()
        if DATE in needs and not claim.own_dates:
            dated = {t for e in s.entities if e.label in ("DATE", "TIME") for t in content_terms(e.text)}
            # "when do they glow?": "when they are disturbed, they glow" gives the occasion
            dated |= {t for m in _OCCASION.finditer(s.text) for t in content_terms(m.group(1))}
            if not (claim.own_terms & dated):
                return ()  # a figure that is not a date where the question asks when
        if question.parsed.counted and claim.own_numbers:
            counted = set(question.parsed.counted)
            if not counted & terms and not self._fuzzy(counted, s.text, question.text):
                return ()  # a figure, but for something other than what the question counts
            if _dated(claim, s, counted):
                return ()  # "the last three months" is a time, not a count of what was asked
        elif (needs & {NUMBER, DISTANCE} and not _AGE_ASKED.search(question.text)
              and _dated(claim, s, set())):
            return ()  # "Okafor, 50" gives an age or a date, not the sum or figure asked
        if self._carries(question, s.text, KEY_MISSING):
            return (None, *neighbours)
        question_vec, sentence_vec = self._embed([question.text, s.text])
        # reworded throughout: only the passage's closest sentence, or one keeping a term of the question
        reworded = closest or bool(question.key & terms or self._fuzzy(question.key, s.text, question.text))
        if float(question_vec @ sentence_vec) >= SENTENCE_SIMILARITY and reworded:
            return (None, *neighbours)
        # a neighbour may carry the question's terms ("Terry Melcher died ..." / "The son of actress
        # Doris Day, he ..."), unless it offers an answer of its own: then it is the answer sentence
        carriers = tuple(n for n in neighbours
                         if self._carries(question, f"{s.text} {n.text}", KEY_MISSING)
                         and not self._rival(question, claim, n))
        if not carriers and self._carries(question, f"{s.text} {title}", TITLE_MISSING):
            return (None, *neighbours)  # the article's title says what its sentences are about
        if not carriers and sole and self._on_topic(question, s.text):
            return (None,)  # reworded, but the passage's closest sentence, and its only answer of the kind
        return carriers

    def _rival(self, question: Asked, claim: _Claim, sentence: Sentence) -> bool:
        """``_rival``, reading the names its document's tagger found elsewhere."""
        return _rival(question, claim, sentence, self._named.get(sentence.doc_id, set()))

    def _on_topic(self, question: Asked, text: str) -> bool:
        """False when the only key term of the question that ``text`` states is the noun it asks for:
        "which town triggered the intervention" is about the triggering, and a sentence naming a town
        the troops entered is close to it by "town" alone, the kind of answer, not what was asked of
        it. (A sentence that shares no key term at all may still reword the whole question.)"""
        kind = _which_nouns(question) & question.key
        terms = set(content_terms(text))
        topic = question.key - kind
        if not kind & terms or not topic:
            return True
        return bool(topic & terms or self._fuzzy(topic, text, question.text))

    def _closeness(self, question: Asked, candidates: list[Sentence]) -> np.ndarray:
        """Each candidate's cosine to the question."""
        vectors = self._embed([question.text, *(c.text for c in candidates)])
        return np.stack(vectors[1:]) @ vectors[0]

    def _closest(self, question: Asked, candidates: list[Sentence]) -> int:
        """The candidate closest to the question among those that say more than it asks: a heading
        that only repeats the question's words (a place's name as the title) answers nothing."""
        asked_terms = set(content_terms(question.text))
        similarity = [float(x) if set(content_terms(c.text)) - asked_terms else -np.inf
                      for c, x in zip(candidates, self._closeness(question, candidates), strict=True)]
        return int(np.argmax(similarity))

    def _sole(self, claim: _Claim, question: Asked, candidates: list[Sentence], i: int) -> bool:
        """True when sentence ``i`` is the closest of its passage to the question and no other
        sentence of the passage holds an answer of the kind asked."""
        similarity = self._closeness(question, candidates)
        # closest of one or two sentences says little: the passage must offer a choice
        return len(candidates) >= SOLE_AMONG and int(np.argmax(similarity)) == i and not any(
            self._rival(question, claim, c) for j, c in enumerate(candidates) if j != i)

    def _described_elsewhere(self, claim: _Claim, question: Asked, s: Sentence) -> bool:
        """True when a relative clause binds what the question asks to a person the claim does not
        name ("Ada Okafor, who was the first woman to chair it, said Juma Otieno ...")."""
        for clause in _WHO_CLAUSE.finditer(s.text):
            if (self._carries(question, clause.group(2), KEY_MISSING)
                    and not claim.own_names & set(content_terms(clause.group(1)))):
                return True
        return False

    def _outranked(self, claim: _Claim, question: Asked, candidates: list[Sentence], i: int) -> bool:
        """True when another sentence of the passage, far closer to the question than this one,
        holds an answer of its own of the kind asked."""
        similarity = self._closeness(question, candidates)
        # a sentence that states every key term of the question is outranked by none that states fewer
        carried = [len(question.key & set(content_terms(c.text))) for c in candidates]
        # near-synonyms count too ("the building opened" keeps the "library" of the question)
        covered = [n + len(self._fuzzy(question.key - set(content_terms(c.text)), c.text, question.text))
                   for n, c in zip(carried, candidates, strict=True)]
        complete = covered[i] == len(question.key)
        if any(similarity[j] - similarity[i] > RANK_MARGIN and not (complete and covered[j] < covered[i])
               and self._rival(question, claim, c) for j, c in enumerate(candidates)):
            return True
        # a sentence stating far more of what was asked, about as close, is where the answer is (for a
        # figure asked, only one that states another figure); a neighbour only when it holds an answer
        # of its own: else it is the context that lends this one the question's terms
        figure = bool(question.parsed.needs & {NUMBER, DISTANCE, DURATION})
        if any(j != i and carried[j] >= _window_most(carried, i, j) + KEY_LEAD
               and similarity[j] >= similarity[i] - LEAD_MARGIN
               and ((abs(j - i) > 1 and not figure) or self._rival(question, claim, c))
               for j, c in enumerate(candidates)):
            return True
        if self._carries(question, candidates[i].text, KEY_MISSING):
            return False
        return any(j != i and similarity[j] > similarity[i] and self._rival(question, claim, c)
                   and self._carries(question, c.text, KEY_MISSING) for j, c in enumerate(candidates))

    def _carries(self, question: Asked, text: str, allowed: float) -> bool:
        """True when ``text`` lacks at most ``allowed`` of the question's key terms."""
        missing = question.key - set(content_terms(text))
        if len(missing) <= allowed * len(question.key):
            return True
        covered = len(question.key) - len(missing) + len(self._fuzzy(missing, text, question.text))
        return covered >= (1 - allowed) * len(question.key)

    def _paraphrased(self, missing: Set[str], claim: str, source: str) -> bool:
        """True when every missing term has a near-synonym among the source's content words."""
        return len(self._fuzzy(missing, source, claim)) == len(missing)

    def _fuzzy(self, missing: Set[str], source: str, origin: str) -> set[str]:
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


_WHICH_NOUN = re.compile(r"\b[Ww]hich((?:\s+[\w'-]+){1,2})")
_WHO_CLAUSE = re.compile(r"\b([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*),\s+who\s+([^,;]+)")
_AGE_ASKED = re.compile(r"\b(how old|(what|which) age|aged?)\b", re.IGNORECASE)  # a figure that is a time
_OCCASION = re.compile(r"\b(?:[Ww]hen(?:ever)?|[Oo]nce|[Ii]f|[Uu]ntil)\s+((?:[^\s.;:]+\s+){0,14}[^\s.;:]+)")
# "What is a statocyst?": the question asks for a definition, which a sentence gives in apposition
# ("a statocyst, a balance sensor"), in brackets, after a dash, or as "X is a ...", "X refers to ..."
_DEFINITION = re.compile(r"^\s*what\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?[\w'-]+\s*\?*\s*$", re.I)
_DEFINING = re.compile(
    r"\s*(?:\([^)]*\)\s*)?(?:[(\u2013\u2014:]|,\s*(?:an?|the|one)\b|-\s|"
    r"(?:is|are|was|were)\s+(?:an?|the|one|any|defined|known|called)\b|refers?\s+to\b|means\b)",
    re.I,
)
_LOCATIVE = re.compile(r"\b(?:in|at|near|into|inside|outside|towards?|around)\s+((?:[\w'-]+\s+){0,2}[\w'-]+)")
_REASONS = ("off_question", "unconstrained", "unsupported", "wrong_type", "no_answer")
_ENTITY_KINDS = {
    PERSON: ("PERSON",),
    PLACE: ("GPE", "LOC", "FAC", "ORG"),  # the small tagger often mislabels places
}
_RIVAL_KINDS = {
    PERSON: ("PERSON",), AGENT: ("PERSON", "ORG", "NORP", "GPE"), PLACE: ("GPE", "LOC", "FAC"),
    DATE: ("DATE", "TIME"), NAME: ("PERSON", "ORG", "WORK_OF_ART", "PRODUCT", "EVENT", "FAC", "GPE"),
}
_NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "WORK_OF_ART", "PRODUCT", "EVENT"})
_ANY_ENTITY = frozenset({"PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "DATE", "TIME", "EVENT",
                         "WORK_OF_ART", "PRODUCT", "CARDINAL", "MONEY", "PERCENT", "QUANTITY"})
# up to six words in quotes, the first capitalised, no sentence punctuation: a title, not a quoted remark
_QUOTED_TITLE = re.compile(r"[\"“‘']([A-Z][^\s\"”’'.,;:!?]*(?:\s[^\s\"”’'.,;:!?]+){0,5})[\"”’']")
_POSSESSIVE = re.compile(r"(?<=\s)([A-Z][\w-]*)['’]s\b")


def _anchored(question: str) -> Asked:
    """What ``asked`` reads, with the names a window must carry anchored as the reader anchors
    them: by their head ("Mr Brown" for "Gordon Brown"), a people's adjective before a common noun
    ("Asian countries") naming nothing."""
    anchors = anchors_of(question)
    # a possessive ends a name: "Gordon Brown's Budget" is Brown's, whatever its head
    owners = {t for m in _POSSESSIVE.finditer(question) for t in content_terms(m.group(1))}
    heads = anchors.names | (owners - set().union(*anchors.choices))
    return replace(asked(question), name_groups=(*(frozenset({n}) for n in heads), *anchors.choices))


def _mislabelled_place(text: str) -> bool:
    """True when a people the tagger names is written as no people is: no people's word, no plural
    ("Tarvin", not "French" or "Loyalists"), so it is a place it mislabelled."""
    return not any(is_demonym(w) or w.endswith("s") for w in text.split())


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


def _claim(text: str, question: Asked, whole: str) -> _Claim:
    """The claim against one part of the question; restating any part of the ``whole`` is free."""
    terms = set(content_terms(text))
    claim_names = names(text, first=True)
    given = set(question.terms) | set(content_terms(whole))
    stated = f"{question.text} {whole}"
    return _Claim(
        # "Asia" adds nothing to "Asian countries": a shorter form of a word the question states
        text=text, terms=terms, own_terms={t for t in terms - given if not _shortens(t, given)},
        own_names={n for n in claim_names if not mentions(given, n)},
        # what a follow-up carried along (``question.text`` has it) is given, not the claim's own
        numbers=numbers(text), own_numbers=numbers(text) - numbers(stated),
        own_dates=calendar_words(text) - calendar_words(stated),
        negations=negated_terms(text) - (negated_terms(question.text) if question.negated else set()),
    )


def _shortens(term: str, given: set[str]) -> bool:
    """True when ``term`` is a shorter form of one of the ``given`` terms ("asia" of "asian")."""
    return len(term) >= 4 and any(g.startswith(term) for g in given)


def _wrong_type(claim: _Claim, question: Asked) -> str | None:
    """``wrong_type`` when the claim does not give the kind of thing the question asks for."""
    needs = question.parsed.needs
    if needs & {NUMBER, DISTANCE, DURATION} and not claim.own_numbers:
        return "wrong_type"
    # an occasion may answer when ("disturbed"): the answer sentence shows whether it is one
    if DATE in needs and not (claim.own_numbers or claim.own_dates or claim.own_terms & RELATIVE
                              or claim.own_terms - TEMPORAL):
        return "wrong_type"
    if PERSON in needs and not claim.own_names:  # what a thing is called may be a common noun
        return "wrong_type"
    substance = claim.own_names - TEMPORAL or {t for t in claim.own_terms - TEMPORAL if not t[:1].isdigit()}
    if needs & {AGENT, PERSON, PLACE, NAME} and not substance:
        return "wrong_type"  # a date or a figure where a who, where or what was asked
    own = [w for w in words(claim.text) if set(content_terms(w)) & (claim.own_terms | claim.own_names)]
    if PLACE in needs and own and all(is_demonym(w) for w in own):
        return "wrong_type"  # "Malian" qualifies a place, it names none
    if claim.own_dates and not substance and not needs & {DATE, NUMBER, DURATION, DISTANCE}:
        return "wrong_type"  # a bare date where no when, how many or how long was asked
    return None


def _defined(question: Asked) -> str | None:
    """The one term a question asks to define ("What is a statocyst?"), if that is all it asks."""
    if question.parsed.needs or len(question.key) != 1 or not _DEFINITION.match(question.text):
        return None
    return next(iter(question.key))


def _defines(text: str, subject: str) -> bool:
    """True when ``text`` says what ``subject`` is: the word followed (past a bracket) by a noun in
    apposition, a bracket or a dash, or "is a", "are the", "refers to" ..."""
    for m in re.finditer(r"[\w'-]+", text):
        if subject in content_terms(m.group(0)) and _DEFINING.match(text, m.end()):
            return True
    return False


def _titled_elsewhere(claim: _Claim, question: Asked, s: Sentence) -> bool:
    """True when the person the claim names is titled in ``s`` by a place or people the question
    does not name, and by none it does ("Ivory Coast President Alassane Ouattara" is no president
    of Mali)."""
    asked_names = set().union(*question.name_groups)
    if not asked_names:
        return False
    for person in s.entities:
        # only a claim that names this one person: a whole sentence names others, titled as they are
        if person.label != "PERSON" or not claim.own_names <= set(content_terms(person.text)):
            continue
        title = " ".join(s.text[: max(0, person.start - s.start)].split()[-TITLE_REACH:])
        owners = {t for e in s.entities if e.label in ("GPE", "LOC", "NORP") and e.end <= person.start
                  and e.text in title for t in content_terms(e.text)}
        if owners and not any(_same_place(n, o) for n in asked_names | question.terms for o in owners):
            return True
    return False


def _which_nouns(question: Asked) -> set[str]:
    """The terms of the words after "which" ("Which state prosecutor ...": "state", "prosecutor")."""
    return {t for m in _WHICH_NOUN.finditer(question.text) for t in content_terms(m.group(1))}


def _titled_by(s: Sentence, nouns: Set[str]) -> list[Entity]:
    """The entities of ``s`` right after one of ``nouns`` ("the town of Quillmere")."""
    found = []
    for e in s.entities:
        before = s.text[: max(0, e.start - s.start)].split()[-TITLE_WORDS:]
        if set(content_terms(" ".join(before))) & nouns:
            found.append(e)
    return found


def _same_place(a: str, b: str) -> bool:
    """True when two terms may name one place or its people ("turkey", "turkish"; "mali", "malian")."""
    return a[:4] == b[:4] if min(len(a), len(b)) >= 4 else a == b


def _dated(claim: _Claim, s: Sentence, counted: set[str]) -> bool:
    """True when each of the claim's figures stands in the sentence only inside a date or time
    that does not name the counted thing."""
    return bool(claim.own_numbers) and claim.own_numbers <= _timed(claim.own_numbers, s, counted)


def _timed(figures: Set[str], s: Sentence, counted: Set[str]) -> set[str]:
    """The figures that stand in the sentence only inside a date or time not naming the counted thing."""
    spans = [e for e in s.entities if e.label in ("DATE", "TIME")]
    return {n for n in figures & numbers(s.text)
            if any(n in numbers(e.text) and not counted & set(content_terms(e.text)) for e in spans)
            and not any(n in numbers(e.text) for e in s.entities if e.label not in ("DATE", "TIME"))}


def _rival(question: Asked, claim: _Claim, sentence: Sentence, named: Set[str] = frozenset()) -> bool:
    """True when a sentence names something of the kind asked that neither question nor claim gives
    (``named``: what the tagger named elsewhere in its document)."""
    needs = question.parsed.needs
    if needs & {NUMBER, DISTANCE, DURATION}:  # a figure asked: only another figure is a rival answer
        others = numbers(sentence.text) - question.numbers - claim.numbers
        counted = set(question.parsed.counted)
        # "in the last three months" is no rival count of people, "Okafor, 50" no rival sum paid
        timed = _timed(others, sentence, counted) if counted or DURATION not in needs else set()
        return bool(others - timed)
    labels = {label for need in needs for label in _RIVAL_KINDS.get(need, ())}
    if not labels:
        return True  # an untyped question: any sentence may hold its answer
    given = question.terms | claim.terms
    if any(e.label in labels and not set(content_terms(e.text)) <= given for e in sentence.entities):
        return True
    # "the town of Quillmere" for "which town", whatever label the small tagger gave the name
    if any(not set(content_terms(e.text)) <= given for e in _titled_by(sentence, _which_nouns(question))):
        return True
    return bool(needs & {PERSON, AGENT, NAME, PLACE}) and bool(_untagged_names(sentence, named) - given)


def _untagged_names(sentence: Sentence, named: Set[str] = frozenset()) -> set[str]:
    """Names the tagger left unlabelled ("Pool B"): capitalised words outside every entity it found
    (a tagged date or people is judged by its label). The first word is capitalised anyway: it is a
    name only when the tagger named it elsewhere in the document ("Euclid also showed ..."); a short
    quotation opening with a capital is a title."""
    found: set[str] = set()
    for n, m in enumerate(re.finditer(r"\S+", sentence.text)):
        at = sentence.start + m.start()
        if m.group(0)[:1].isupper() and not any(e.start <= at < e.end for e in sentence.entities):
            terms = set(content_terms(m.group(0))) - TEMPORAL
            found |= terms if n else terms & named
    # a short capitalised quotation is a title, lower-case words and all ('"Keep streets tidy" campaign')
    for m in _QUOTED_TITLE.finditer(sentence.text):
        found |= set(content_terms(m.group(1))) - TEMPORAL
    return found


def _constrained(question: Asked, s: Sentence, context: Sentence | None, title: str) -> bool:
    """True when the window (with the article title) carries every name, number and date asked."""
    text = f"{s.text} {context.text if context else ''} {title}"
    terms = set(content_terms(text))
    # figures written as digits, as the reader anchors them: "one example" states no figure
    wanted_numbers, wanted_dates = set(anchors_of(question.text).numbers), set(question.dates)
    resolved = [d.resolved or "" for w in (s, context) if w is not None for d in w.dates]
    for day, month, suffix in question.days:
        # "on Thursday" in an article of 20 January 2013 is 17 January: dates resolved at index time
        if any(r[4:10] == suffix or r.split("/")[0][4:10] == suffix for r in resolved):
            wanted_numbers.discard(day)
            wanted_dates.discard(month)
    return (
        all(any(mentions_loosely(terms, n) for n in group) or group & renamed(question.text, text)
            for group in question.name_groups)
        and wanted_numbers <= numbers(text)
        and wanted_dates <= calendar_words(text)
    )


def _window_most(carried: list[int], i: int, other: int) -> int:
    """The most key terms sentence ``i`` or a neighbour of it states, sentence ``other`` aside."""
    return max((carried[k] for k in range(i - 1, i + 2) if 0 <= k < len(carried) and k != other), default=0)


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
        # "last Friday", repeated from a source sentence, is shown with the date it means there
        body = with_dates(claim.text.rstrip(), [m for s in claim.supports for m in s.sentence.dates])
        stop = re.search(r"[.!?]+[\"”’']*$", body)
        end = stop.group(0) if stop else "."
        body = body[: stop.start()] if stop else body
        return f"{body} {''.join(f'[{m}]' for m in markers)}{end}", new
