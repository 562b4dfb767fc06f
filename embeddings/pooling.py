"""Vectors of spans of a document from its sentences' token embeddings, each token encoded once.

Each sentence goes through the encoder once (``TokenEncoder.encode_tokens``). Its own vector is the
model's usual one: the normalised mean of its tokens and its ``[CLS]``/``[SEP]``. A longer span (a
chunk, the opening of a block) gets the normalised mean of the tokens of the sentences inside it,
their special tokens included: on BBC articles, cosine ~0.92 to encoding the chunk on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embeddings.encoder import Encoder, TokenEncoder, TokenVectors

__all__ = ["DocTokens", "can_pool"]


def can_pool(encoder: Encoder | None) -> bool:
    """True when ``encoder`` gives token embeddings (else each span is encoded on its own)."""
    return encoder is not None and isinstance(encoder, TokenEncoder)


class DocTokens:
    """The token embeddings of one document's encoded sentences, at offsets of the document."""

    def __init__(self, dimension: int, pieces: Sequence[tuple[int, TokenVectors]]) -> None:
        ordered = sorted(pieces, key=lambda p: p[0])
        self.dimension = dimension
        self._starts = np.concatenate([start + tv.starts for start, tv in ordered] or [np.zeros(0, np.int64)])
        self._piece = np.concatenate(
            [np.full(len(tv.starts), i, dtype=np.int64) for i, (_, tv) in enumerate(ordered)]
            or [np.zeros(0, np.int64)]
        )
        self._vectors = np.concatenate(
            [tv.vectors for _, tv in ordered] or [np.zeros((0, dimension), np.float32)]
        )
        self._special = [tv.special for _, tv in ordered]

    def pool(self, start: int, end: int) -> np.ndarray | None:
        """The normalised mean of the tokens starting in ``[start, end)`` (None when there are none)."""
        lo, hi = np.searchsorted(self._starts, [start, end])
        if hi <= lo:
            return None
        total = self._vectors[lo:hi].sum(axis=0, dtype=np.float64)
        for piece in np.unique(self._piece[lo:hi]):
            total += self._special[piece]
        norm = float(np.linalg.norm(total))
        return (total / norm).astype(np.float32) if norm > 0 else None


def sentence_vector(tokens: TokenVectors) -> np.ndarray:
    """The sentence's own vector: what ``encode`` returns for it."""
    total = tokens.vectors.sum(axis=0, dtype=np.float64) + tokens.special
    return (total / (np.linalg.norm(total) or 1.0)).astype(np.float32)
