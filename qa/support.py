"""Claim verification: does the passage a sentence cites actually say what the sentence says?

Pure and deterministic given the encoder. An LLM answer is split into sentences; each must cite
a passage that was provided, and the best sentence of that passage must support it: enough shared
content words, every number and date of the claim present, names found in the passage, the same
polarity, and a close embedding. The supporting sentence becomes the citation's byte-exact quote.
"""

from __future__ import annotations

import re

import msgspec
import numpy as np

from embeddings.encoder import Encoder
from embeddings.records import Sentence
from embeddings.terms import content_terms, words
from qa.prompts import DECLINED
from qa.records import Citation, Evidence
from qa.verify import cite

MIN_TERMS = 2  # a claim with fewer content words says nothing checkable ("PWNED.", "Yes.")
MIN_COVERAGE = 0.6  # share of the claim's content terms the quoted sentence must contain
MIN_SIMILARITY = 0.55  # cosine between claim and quoted sentence
MIN_RELEVANCE = 0.2  # cosine between claim and question: keeps planted off-topic text out

MARKERS = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_BOUNDARY = re.compile(r"[.!?]+[\"”’')]*(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])*")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "sgt", "capt", "maj",
                  "prof", "jr", "sr", "vs", "no", "u.s", "u.n", "e.g", "i.e", "approx"}
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
_NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without"}


class SupportedClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the answer and the evidence sentences that support it, best first."""

    text: str  # the sentence without its markers
    supports: tuple[tuple[int, Sentence, float], ...]  # (passage index, quoted sentence, score)


class DroppedClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of the answer that did not survive verification, and why."""

    text: str
    reason: str  # declined | no_citation | unknown_passage | too_vague | off_topic | unsupported


def split_sentences(text: str, *, final: bool = True) -> tuple[list[str], str]:
    """Complete sentences of ``text`` (markers stay with their sentence) and the unfinished rest."""
    lines = text.split("\n")
    done, rest = lines[:-1], lines[-1]
    sentences: list[str] = []
    for line in done:
        sentences += _split_line(line)
    pieces = _split_line(rest, final=final)
    if not final and pieces and not _ends_sentence(rest):
        return [s for s in sentences + pieces[:-1] if s.strip()], pieces[-1]
    return [s for s in sentences + pieces if s.strip()], ""


def _split_line(line: str, *, final: bool = True) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        after = line[m.end():]
        following = after.lstrip()
        if not following or not after[:1].isspace() or following[0].islower() or following[0] == "[":
            continue
        last_word = line[start:m.start()].split()[-1:] or [""]
        if last_word[0].lower().strip("(\"'") in _ABBREVIATIONS or len(last_word[0]) == 1:
            continue
        pieces.append(line[start:m.end()])
        start = m.end()
    if line[start:].strip() or final:
        pieces.append(line[start:])
    return pieces


def _ends_sentence(text: str) -> bool:
    """True when nothing more can join the last sentence (it ends with a closing mark)."""
    return False  # a marker or the next sentence may still follow: wait for more text


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
        for scored in evidence.sentences:
            passage = evidence.passages[scored.passage]
            s = scored.sentence
            # only sentences whose text is byte-exact at their offsets may become quotes
            if passage.text[s.start - passage.start:s.end - passage.start] == s.text:
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
        return SupportedClaim(text=text, supports=tuple(sorted(supports, key=lambda s: -s[2])))

    def _support(
        self, text: str, terms: set[str], claim_vec: np.ndarray, passage: int
    ) -> tuple[int, Sentence, float] | None:
        """The sentence of one passage that best supports the claim, if any does."""
        candidates = self._candidates.get(passage, [])
        if not candidates or not names(text) <= set(
            content_terms(self.evidence.passages[passage].text)
        ):
            return None
        needed_numbers, needed_dates = numbers(text), calendar_words(text)
        best: tuple[int, Sentence, float] | None = None
        vectors = self._embed([s.text for s in candidates])
        for s, vec in zip(candidates, vectors, strict=True):
            coverage = len(terms & set(content_terms(s.text))) / len(terms)
            similarity = float(claim_vec @ vec)
            if (
                coverage < MIN_COVERAGE or similarity < MIN_SIMILARITY
                or not needed_numbers <= numbers(s.text)
                or not needed_dates <= calendar_words(s.text)
                or negated(text) != negated(s.text)
            ):
                continue
            score = round(0.5 * coverage + 0.5 * similarity, 4)
            if best is None or score > best[2]:
                best = (passage, s, score)
        return best


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
        for passage, sentence, score in claim.supports:
            key = (sentence.doc_id, sentence.start, sentence.end)
            if key not in self._by_span:
                marker = len(self.citations) + 1
                citation = cite(marker, sentence, self.evidence.passages[passage], score)
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
