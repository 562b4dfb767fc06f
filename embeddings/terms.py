"""Term statistics over the index: inverse document frequencies of content terms (``qa.text``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

__all__ = ["inverse_document_frequencies"]


def inverse_document_frequencies(term_sets: Iterable[frozenset[str]]) -> dict[str, float]:
    """Smoothed IDF of each term over a collection of term sets."""
    counts: Counter[str] = Counter()
    n = 0
    for terms in term_sets:
        counts.update(terms)
        n += 1
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counts.items()}
