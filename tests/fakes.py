"""Deterministic fakes of the project's seams, for the fast unit tests (no model is loaded)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from qa.text import content_terms


class FakeEncoder:
    """An ``Encoder``: a normalised bag of hashed content terms; texts sharing words are close."""

    name = "fake/hashed-terms"

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per text; the same text always gets the same vector."""
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in content_terms(text) or ["<empty>"]:
                digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            out[row] /= np.linalg.norm(out[row])
        return out
