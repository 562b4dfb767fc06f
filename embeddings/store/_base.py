"""The store seam: documents with their chunks, sentences and vectors, searchable dense, sparse, hybrid."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from embeddings.records import Chunk, Document, DroppedSpan, ProcessedDocument
from qa.text import content_terms

SENTENCE_SLOTS = 1024  # a sentence's id is chunk key * SENTENCE_SLOTS + its position in the chunk


@dataclass(frozen=True, eq=False)
class IndexedDocument:
    """One processed document with its vectors and its near-duplicate verdict: the unit of a write."""

    processed: ProcessedDocument
    chunk_vectors: np.ndarray  # one row per chunk
    sentence_vectors: np.ndarray  # one row per sentence, in chunk order
    copy_of: str | None = None  # doc_id of the earlier document this one nearly copies
    copied: frozenset[int] = frozenset()  # starts of the sentences that repeat it

    @property
    def doc_id(self) -> str:
        """The document's id."""
        return self.processed.document.doc_id


@dataclass(frozen=True, eq=False)
class StoredChunk:
    """A chunk as retrieval sees it: the chunk, its document's metadata and its sentence vectors."""

    key: int
    chunk: Chunk
    title: str
    source: str | None
    published: str | None
    sentence_vectors: np.ndarray
    copied: frozenset[int]  # starts of its sentences that repeat an earlier document's

    @cached_property
    def sentence_terms(self) -> tuple[frozenset[str], ...]:
        """Content terms of each sentence (worked out on first use: most chunks read never need them)."""
        return tuple(frozenset(content_terms(s.text)) for s in self.chunk.sentences)

    @property
    def hidden(self) -> bool:
        """Every sentence is a near-duplicate copy's: retrieval leaves the chunk out."""
        return is_hidden(self.chunk, self.copied)


@dataclass(frozen=True)
class DocumentSummary:
    """What a listing shows of one stored document."""

    document: Document
    chunks: int
    dropped: tuple[DroppedSpan, ...]
    copy_of: str | None


class Store(Protocol):
    """Where the corpus lives; every reader and writer goes through these methods."""

    uri: str

    def upsert(self, docs: Sequence[IndexedDocument]) -> None:
        """Add or replace documents by id, durably, before returning."""
        ...

    def delete(self, doc_id: str) -> bool:
        """Remove a document; False when there was none."""
        ...

    def get(self, doc_id: str) -> IndexedDocument | None:
        """One stored document with its vectors, or None."""
        ...

    def document(self, doc_id: str) -> Document | None:
        """One document (metadata and original text, no vectors), or None."""
        ...

    def count(self) -> int:
        """Number of documents."""
        ...

    def summaries(self) -> list[DocumentSummary]:
        """Every document's metadata, in write order."""
        ...

    def search_dense(self, vector: np.ndarray, k: int) -> list[int]:
        """Chunk keys by cosine similarity of the chunk vector, best first."""
        ...

    def search_sentences(self, vector: np.ndarray, k: int) -> list[int]:
        """Sentence ids (chunk key * SENTENCE_SLOTS + position) by cosine similarity, best first."""
        ...

    def nearest_sentences(self, vectors: np.ndarray, k: int) -> list[list[int]]:
        """For each row of ``vectors``, the ids of its ``k`` nearest sentences (one batched query)."""
        ...

    def search_sparse(self, text: str, k: int) -> list[int]:
        """Chunk keys by BM25 score (only chunks sharing a term), best first."""
        ...

    def search_hybrid(self, vector: np.ndarray, text: str, k: int, rrf_k: int = 60) -> list[int]:
        """Chunk keys by reciprocal rank fusion of the dense and sparse rankings."""
        ...

    def hidden(self, keys: Sequence[int]) -> set[int]:
        """Those of ``keys`` whose chunks are made only of a near-duplicate copy's sentences."""
        ...

    def chunks(self, keys: Sequence[int]) -> list[StoredChunk]:
        """The chunks with these keys, in that order (keys no longer stored are left out)."""
        ...

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in text order."""
        ...

    def term_idf(self) -> dict[str, float]:
        """IDF of every sentence term, a copy's copied sentences not counted."""
        ...

    def refresh(self) -> bool:
        """Make writes by any process visible to this reader; True when something changed."""
        ...

    def view(self) -> Store:
        """The store as it is now, for one question: every read through it sees the same version of
        every document (a store without snapshots returns itself)."""
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


def fuse(rankings: Sequence[Sequence[int]], k: int) -> list[int]:
    """Reciprocal rank fusion: ids ordered by the sum of 1 / (k + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused, key=lambda c: (-fused[c], c))


def sentence_rows(doc: IndexedDocument) -> list[tuple[Chunk, slice]]:
    """Each chunk of ``doc`` with the slice of ``doc.sentence_vectors`` holding its sentences."""
    out: list[tuple[Chunk, slice]] = []
    position = 0
    for chunk in doc.processed.chunks:
        out.append((chunk, slice(position, position + len(chunk.sentences))))
        position += len(chunk.sentences)
    return out


def stored_chunk(
    key: int, chunk: Chunk, document: Document, sentence_vectors: np.ndarray, copied: frozenset[int]
) -> StoredChunk:
    """A StoredChunk of ``chunk`` in ``document``."""
    return StoredChunk(
        key=key, chunk=chunk, title=document.title, source=document.source,
        published=document.published, sentence_vectors=sentence_vectors,
        copied=frozenset(s.start for s in chunk.sentences if s.start in copied),
    )


def sentence_term_sets(doc: IndexedDocument) -> list[frozenset[str]]:
    """Term sets of the sentences that count for IDF (a copy's copied sentences do not)."""
    return [
        frozenset(content_terms(s.text))
        for c in doc.processed.chunks for s in c.sentences if s.start not in doc.copied
    ]


def idf_from_counts(counts: dict[str, int], n: int) -> dict[str, float]:
    """Smoothed IDF, as embeddings.terms.inverse_document_frequencies computes it."""
    return {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counts.items() if df > 0}


def is_hidden(chunk: Chunk, copied: frozenset[int]) -> bool:
    """Whether every sentence of ``chunk`` is a copied one."""
    return bool(copied) and all(s.start in copied for s in chunk.sentences)
