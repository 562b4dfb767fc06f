"""Chunk and sentence vectors with each token through the encoder once.

Each chunk is encoded as before (its vector is exactly ``encode``'s). A sentence's vector is the
normalised mean of the chunk's token embeddings over the sentence's own tokens: the same model,
read in the context of the chunk. A sentence the chunk's window cut off (a chunk longer than the
model's sequence limit) is encoded on its own, as is every sentence with an encoder that gives no
token embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from embeddings.encoder import Encoder, TokenVectors
from embeddings.records import Chunk

__all__ = ["TokenEncoder", "chunk_and_sentence_vectors", "sentence_vector"]


@runtime_checkable
class TokenEncoder(Encoder, Protocol):
    """An encoder that also returns the token embeddings it pooled."""

    def encode_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """``encode(texts)`` and each text's token embeddings, from one pass of the model."""
        ...


def sentence_vector(tokens: TokenVectors, start: int, end: int) -> np.ndarray | None:
    """The normalised mean of the tokens inside ``[start, end)`` of the encoded text; None when the
    encoded window does not reach ``end`` (the text was truncated) or holds no token there."""
    if not len(tokens.ends) or tokens.ends[-1] < end:
        return None
    lo, hi = np.searchsorted(tokens.starts, [start, end])
    if hi <= lo:
        return None
    total = tokens.vectors[lo:hi].sum(axis=0, dtype=np.float64)
    norm = float(np.linalg.norm(total))
    return (total / norm).astype(np.float32) if norm > 0 else None


def chunk_and_sentence_vectors(encoder: Encoder, chunks: Sequence[Chunk]) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors, sentence vectors in chunk order): chunks encoded once, sentences pooled from them."""
    sentences = [s for c in chunks for s in c.sentences]
    if not isinstance(encoder, TokenEncoder):
        return encoder.encode([c.text for c in chunks]), encoder.encode([s.text for s in sentences])
    chunk_vectors, tokens = encoder.encode_tokens([c.text for c in chunks])
    out = np.empty((len(sentences), encoder.dimension), dtype=np.float32)
    alone: list[int] = []
    row = 0
    for chunk, vector, chunk_tokens in zip(chunks, chunk_vectors, tokens, strict=True):
        for sentence in chunk.sentences:
            if sentence.start == chunk.start and sentence.end == chunk.end:
                pooled: np.ndarray | None = vector  # the sentence is the whole chunk: the same text
            else:
                pooled = sentence_vector(
                    chunk_tokens, sentence.start - chunk.start, sentence.end - chunk.start
                )
            if pooled is None:
                alone.append(row)
            else:
                out[row] = pooled
            row += 1
    if alone:
        out[alone] = encoder.encode([sentences[i].text for i in alone])
    return chunk_vectors, out
