"""Near-duplicates count once.

A document whose sentences are mostly (COPIED_SHARE) near-identical to those of an earlier document
is a *copy* of it: its copied sentences stand for the original's and are not evidence of their own
(only what it adds is). Among a question's evidence, (near-)identical sentences that state the same
figures are one piece of evidence, however many articles repeat them.

``find_copy`` runs once per document when it is written: each of its sentences asks the store for
its nearest sentences, and only the documents those belong to are compared with it. The verdict is
stored with the document. ``distinct`` runs on each question's evidence.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import msgspec
import numpy as np

from embeddings.store import SENTENCE_SLOTS, IndexedDocument, Store
from qa.records import Evidence, Passage, ScoredSentence

SAME_SENTENCE = 0.95  # cosine at or above which two sentences say the same thing in nearly the same words
COPIED_SHARE = 0.8  # share of a document's sentences found in an earlier one that makes it a copy of it
NEIGHBOURS = 4  # nearest stored sentences asked for per sentence of a new document
CANDIDATES = 3  # documents holding most of those neighbours that are compared in full
NEAR_CENTROID = 0.8  # below this cosine of mean sentence vectors, two documents cannot be copies


def find_copy(
    store: Store, doc: IndexedDocument, earlier: Sequence[IndexedDocument] = ()
) -> IndexedDocument:
    """``doc`` with its verdict: which earlier document (stored, or in ``earlier``, not yet stored)
    it nearly copies, if any."""
    clean = dataclasses.replace(doc, copy_of=None, copied=frozenset())
    vectors = doc.sentence_vectors
    if not len(vectors):
        return clean
    mine = _centroid(doc)
    for other in earlier:
        # a copy shares COPIED_SHARE of its sentences: its mean vector is close to the original's
        near = float(mine @ _centroid(other)) >= NEAR_CENTROID
        if near and other.copy_of is None and other.doc_id != doc.doc_id:
            copied = _copied(doc, other)
            if copied is not None:
                return dataclasses.replace(doc, copy_of=other.doc_id, copied=copied)
    hits: Counter[int] = Counter()
    for found in store.nearest_sentences(vectors, NEIGHBOURS):
        hits.update({i // SENTENCE_SLOTS for i in found})
    owners: Counter[str] = Counter()
    for stored in store.chunks(list(hits)):
        if stored.chunk.doc_id != doc.doc_id:
            owners[stored.chunk.doc_id] += hits[stored.key]
    for other_id, _ in owners.most_common(CANDIDATES):
        candidate = store.get(other_id)
        if candidate is None or candidate.copy_of is not None:  # a copy is compared through its original
            continue
        copied = _copied(doc, candidate)
        if copied is not None:
            return dataclasses.replace(doc, copy_of=other_id, copied=copied)
    return clean


def _centroid(doc: IndexedDocument) -> np.ndarray:
    """The normalised mean of a document's sentence vectors."""
    if not len(doc.sentence_vectors):
        return np.zeros(doc.sentence_vectors.shape[1], dtype=np.float32)
    mean = doc.sentence_vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-9)


def _copied(doc: IndexedDocument, other: IndexedDocument) -> frozenset[int] | None:
    """Starts of the sentences of ``doc`` repeated in ``other`` (near-identical, same figures), if
    they are COPIED_SHARE of them."""
    mine = [s for c in doc.processed.chunks for s in c.sentences]
    theirs = [s for c in other.processed.chunks for s in c.sentences]
    if not mine or not theirs:
        return None
    known = {" ".join(s.text.split()) for s in theirs}
    matched = {i for i, s in enumerate(mine) if " ".join(s.text.split()) in known}
    unmatched = [i for i in range(len(mine)) if i not in matched]
    if unmatched:
        cosines = doc.sentence_vectors[unmatched] @ other.sentence_vectors.T
        for i, row in zip(unmatched, cosines, strict=True):
            if any(theirs[int(c)].numbers == mine[i].numbers for c in np.flatnonzero(row >= SAME_SENTENCE)):
                matched.add(i)
    if len(matched) < COPIED_SHARE * len(mine):
        return None
    return frozenset(mine[i].start for i in matched)


def distinct(evidence: Evidence, index: Store) -> Evidence:
    """The evidence with each piece counted once.

    A copy's copied sentences go (the original's stand for them); of (near-)identical sentences
    stating the same figures only the best scored stays.
    """
    vectors: dict[tuple[str, int], np.ndarray] = {}
    copied: set[tuple[str, int]] = set()
    for doc_id in dict.fromkeys(s.sentence.doc_id for s in evidence.sentences):
        for stored in index.chunks_of(doc_id):
            for sentence, vector in zip(stored.chunk.sentences, stored.sentence_vectors, strict=True):
                vectors[(doc_id, sentence.start)] = vector
                if sentence.start in stored.copied:
                    copied.add((doc_id, sentence.start))
    candidates = [
        s for s in evidence.sentences
        if (key := (s.sentence.doc_id, s.sentence.start)) in vectors and key not in copied
    ]
    kept: list[ScoredSentence] = []
    if candidates:
        matrix = np.vstack([vectors[(s.sentence.doc_id, s.sentence.start)] for s in candidates])
        near = ((matrix @ matrix.T).astype(np.float64) >= SAME_SENTENCE).tolist()
        chosen: list[int] = []
        for i, s in enumerate(candidates):  # best first, so the best scored copy is the one kept
            # "2,000 troops" and "2,500 troops" read nearly alike but are different claims
            if not any(near[i][j] and candidates[j].sentence.numbers == s.sentence.numbers for j in chosen):
                chosen.append(i)
        kept = [candidates[i] for i in chosen]
    return _with_sentences(evidence, kept)


def _with_sentences(evidence: Evidence, sentences: list[ScoredSentence]) -> Evidence:
    """Keep the passages that still have sentences (or never had any), renumbered."""
    if len(sentences) == len(evidence.sentences):
        return evidence
    had = {s.passage for s in evidence.sentences}
    kept = {s.passage for s in sentences}
    new_index: dict[int, int] = {}
    passages: list[Passage] = []
    for i, passage in enumerate(evidence.passages):
        if i in kept or i not in had:
            new_index[i] = len(passages)
            passages.append(passage)
    moved = [msgspec.structs.replace(s, passage=new_index[s.passage]) for s in sentences]
    terms = tuple(evidence.passage_terms[i] for i in new_index) if evidence.passage_terms else ()
    return msgspec.structs.replace(
        evidence, passages=tuple(passages), sentences=tuple(moved), passage_terms=terms
    )
