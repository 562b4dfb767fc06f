"""Metric functions: answer matching, span overlap, retrieval ranks, abstention, latency."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from eval.gold import GoldSpan
from qa.text import MARKER

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_ARTICLES = {"a", "an", "the"}


def normalize(text: str) -> str:
    """Lowercase, strip accents, markers, punctuation and articles; "2,000" -> "2000", "50km" -> "50 km"."""
    text = MARKER.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _THOUSANDS.sub("", text)
    text = _ORDINAL.sub(r"\1", text)
    text = _DIGIT_LETTER.sub(" ", text)
    tokens = [t for t in _NON_WORD.sub(" ", text).split() if t not in _ARTICLES]
    return " ".join(tokens)


def contains(answer: str, alias: str) -> bool:
    """True if the normalized alias occurs in the normalized answer on word boundaries."""
    needle = normalize(alias)
    return bool(needle) and f" {needle} " in f" {normalize(answer)} "


def missing_items(answer: str, items: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """The required items (alias lists) of which no alias occurs in the answer."""
    return [item for item in items if not any(contains(answer, alias) for alias in item)]


def answer_recall(answer: str, items: Sequence[Sequence[str]]) -> float:
    """Share of required items present in the answer (ALCE's EM-recall for ASQA)."""
    if not items:
        return 1.0
    return 1.0 - len(missing_items(answer, items)) / len(items)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between two texts after normalization."""
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_alias_f1(prediction: str, items: Sequence[Sequence[str]]) -> float:
    """Token F1 against the reference built from the best-matching alias of each required item."""
    if not items:
        return 0.0
    pred = set(normalize(prediction).split())
    chosen = [
        max(item, key=lambda alias: len(pred & set(normalize(alias).split()))) for item in items
    ]
    return token_f1(prediction, " ".join(chosen))


def overlaps(doc_id: str, start: int, end: int, span: GoldSpan) -> bool:
    """True if [start, end) of doc_id shares at least one character with the gold span."""
    return doc_id == span.doc_id and max(start, span.start) < min(end, span.end)


def hits_gold(doc_id: str, start: int, end: int, spans: Sequence[GoldSpan]) -> bool:
    """True if the range overlaps any gold span."""
    return any(overlaps(doc_id, start, end, s) for s in spans)


def recall_at_k(ranked: Sequence[tuple[str, int, int]], spans: Sequence[GoldSpan]) -> float:
    """Share of gold spans overlapped by at least one of the ranked (doc_id, start, end) ranges."""
    if not spans:
        return 0.0
    covered = sum(any(overlaps(d, s, e, span) for d, s, e in ranked) for span in spans)
    return covered / len(spans)


def reciprocal_rank(ranked: Sequence[tuple[str, int, int]], spans: Sequence[GoldSpan]) -> float:
    """1/rank of the first range overlapping any gold span (0 when none does)."""
    for rank, (d, s, e) in enumerate(ranked, 1):
        if hits_gold(d, s, e, spans):
            return 1.0 / rank
    return 0.0


def abstention_scores(
    pairs: Sequence[tuple[bool, bool]],
) -> dict[str, float | None]:
    """Refusal precision, recall and F1 from (must_abstain, abstained) pairs; None when undefined."""
    tp = sum(1 for must, did in pairs if must and did)
    refused = sum(1 for _, did in pairs if did)
    should = sum(1 for must, _ in pairs if must)
    answerable = len(pairs) - should
    precision = tp / refused if refused else None
    recall = tp / should if should else None
    f1: float | None = None
    if recall is not None:
        p = precision or 0.0
        f1 = 2 * p * recall / (p + recall) if p + recall else 0.0
    false_refusals = refused - tp
    return {
        "abstention_precision": precision,
        "abstention_recall": recall,
        "abstention_f1": f1,
        "false_refusal_rate": false_refusals / answerable if answerable else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None
