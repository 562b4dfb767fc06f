"""Claim verification: does the passage a sentence cites actually say what the sentence says?

Pure and deterministic given the encoder. An LLM answer is split into sentences; each must cite
a passage that was provided and be about the question, every word of it must occur in that
passage (or the question), and one sentence of the passage must support it: most of its content
words, all of its numbers, dates and names (the article title may supply a name), the same
polarity, and a close embedding. That sentence becomes the citation's byte-exact quote.
"""

from __future__ import annotations

import re

import msgspec
import numpy as np

from embeddings.encoder import Encoder
from embeddings.records import Sentence
from qa.prompts import DECLINED
from qa.records import Citation, Evidence
from qa.text import ABBREVIATIONS, CARDINALS, MONTH_NAMES, WEEKDAY_NAMES, content_terms, quotes_exactly, words
from qa.verify import cite

MIN_TERMS = 2  # a claim with fewer content words says nothing checkable ("PWNED.", "Yes.")
MIN_COVERAGE = 0.6  # share of the claim's content terms the quoted sentence must contain
MIN_SIMILARITY = 0.55  # cosine between claim and quoted sentence
MIN_RELEVANCE = 0.15  # cosine between claim and question: keeps planted off-topic text out

MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_BOUNDARY = re.compile(r"[.!?]+[\"”’')]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_NUMBER_WORDS = {w: str(n) for w, n in CARDINALS.items()}
_CALENDAR = (set(MONTH_NAMES) | set(WEEKDAY_NAMES)) - {"may"}
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
    reason: str  # declined | no_citation | unknown_passage | too_vague | off_topic | unsupported


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
    """Numbers a text states, normalised ("2,000" -> "2000", "seven" -> "7")."""
    found = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    return found | {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}


def calendar_words(text: str) -> set[str]:
    """Month and weekday names a text states ("May" only capitalised: "may" is a verb)."""
    found = {w for w in words(text) if w in _CALENDAR}
    return found | ({"may"} if re.search(r"\bMay\b", text) else set())


def names(text: str) -> set[str]:
    """Stemmed capitalised words after the first: the names a claim mentions."""
    tokens = text.split()[1:]
    return {t for tok in tokens if tok[:1].isupper() for t in content_terms(tok)}


def _mentions(terms: set[str], name: str) -> bool:
    """True when ``terms`` hold the name or a longer form of it ("mali" in "malian")."""
    return name in terms or (len(name) >= 4 and any(t.startswith(name) for t in terms))


def negated(text: str) -> bool:
    """True when a text contains a negation."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


class ClaimVerifier:
    """Checks answer sentences against one Evidence; caches embeddings across calls."""

    def __init__(self, evidence: Evidence, encoder: Encoder) -> None:
        self.evidence = evidence
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._candidates: dict[int, list[Sentence]] = {}
        self._question_terms = set(content_terms(evidence.question))
        for scored in evidence.sentences:
            passage = evidence.passages[scored.passage]
            s = scored.sentence
            # a quote must be byte-exact, and planted instructions never count as support
            exact = quotes_exactly(passage.text, s.start - passage.start, s.end - passage.start, s.text)
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
        terms = set(content_terms(text))
        if len(terms) < MIN_TERMS:
            return DroppedClaim(text=text, reason="too_vague")
        claim_vec, question_vec = self._embed([text, self.evidence.question])
        if float(claim_vec @ question_vec) < MIN_RELEVANCE:
            return DroppedClaim(text=text, reason="off_topic")
        supports = [s for p in known if (s := self._support(text, terms, claim_vec, p))]
        if not supports:
            return DroppedClaim(text=text, reason="unsupported")
        return SupportedClaim(text=text, supports=tuple(sorted(supports, key=lambda s: -s.score)))

    def _support(
        self, text: str, terms: set[str], claim_vec: np.ndarray, passage: int
    ) -> Support | None:
        """The sentence of one passage that best supports the claim, if any does."""
        candidates = self._candidates.get(passage, [])
        source = self.evidence.passages[passage]
        # every word of the claim must come from the passage or the question: nothing invented
        if not candidates or not terms <= set(content_terms(source.text)) | self._question_terms:
            return None
        context = set(content_terms(source.title or ""))
        needed_names, needed_numbers, needed_dates = names(text), numbers(text), calendar_words(text)
        best: Support | None = None
        vectors = self._embed([s.text for s in candidates])
        for s, vec in zip(candidates, vectors, strict=True):
            sentence_terms = set(content_terms(s.text))
            coverage = len(terms & sentence_terms) / len(terms)
            similarity = float(claim_vec @ vec)
            if (
                coverage < MIN_COVERAGE or similarity < MIN_SIMILARITY
                or not all(_mentions(sentence_terms | context, name) for name in needed_names)
                or not needed_numbers <= numbers(s.text)
                or not needed_dates <= calendar_words(s.text)
                or negated(text) != negated(s.text)
            ):
                continue
            score = round(0.5 * coverage + 0.5 * similarity, 4)
            if best is None or score > best.score:
                best = Support(passage=passage, sentence=s, score=score)
        return best


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
