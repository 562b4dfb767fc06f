"""Content terms: lower-cased, stop-word-free, Snowball-stemmed words (shared by index and questions)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN) | {"s", "said", "says", "also", "would", "could", "mr", "mrs"}


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, keeping hyphenated and apostrophe forms together."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed content terms of a text, in order, stop words removed."""
    kept = [w for w in words(text) if w not in _STOP]
    return list(_stemmer().stemWords(kept)) if kept else []


def inverse_document_frequencies(term_sets: Iterable[frozenset[str]]) -> dict[str, float]:
    """Smoothed IDF of each term over a collection of term sets."""
    counts: Counter[str] = Counter()
    n = 0
    for terms in term_sets:
        counts.update(terms)
        n += 1
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counts.items()}
