"""Near-duplicates count once.

A document whose sentences are mostly (COPIED_SHARE) near-identical to those of an earlier document
is a *copy* of it: its copied sentences stand for the original's and are not evidence of their own
(only what it adds is). Among a question's evidence, (near-)identical sentences that state the same
figures are one piece of evidence, however many articles repeat them.

Both come from a snapshot's sentence vectors: ``copies`` once per snapshot (the service works it out
before a new snapshot goes live), ``distinct`` for each question's evidence.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, replace

import msgspec
import numpy as np

from embeddings.index import CorpusIndex
from embeddings.terms import inverse_document_frequencies
from qa.records import Evidence, Passage, ScoredSentence

SAME_SENTENCE = 0.95  # cosine at or above which two sentences say the same thing in nearly the same words
COPIED_SHARE = 0.8  # share of a document's sentences found in an earlier one that makes it a copy of it
MAX_PAIRS = 20_000_000  # two documents with more sentence pairs are compared by exact text only
_BLOCK = 2048  # sentence rows compared at a time (bounds the memory of one comparison)


@dataclass(frozen=True)
class Copy:
    """A document that nearly copies an earlier one."""

    original: str  # doc_id of the earlier document
    copied: frozenset[int]  # starts of this document's sentences that repeat the original's


@dataclass(frozen=True)
class _Facts:
    copies: dict[str, Copy]
    row_of: dict[tuple[str, int], int]  # (doc_id, start) -> sentence row
    hidden: frozenset[int]  # ids of the chunks made only of copied sentences


_facts: weakref.WeakKeyDictionary[CorpusIndex, _Facts] = weakref.WeakKeyDictionary()
# Whether one text copies another depends only on the two texts: remembered across snapshots, so
# an update compares only the new document with the others.
_verdicts: dict[tuple[int, int, int, int], frozenset[int] | None] = {}
_lock = threading.Lock()  # questions on worker threads may meet a snapshot before the writer warmed it


def _facts_of(index: CorpusIndex) -> _Facts:
    with _lock:
        facts = _facts.get(index)
        if facts is None:
            facts = _facts[index] = _work_out(index)
        return facts


def copies(index: CorpusIndex) -> dict[str, Copy]:
    """doc_id -> how it copies an earlier document, for the copies in the snapshot."""
    return _facts_of(index).copies


def _work_out(index: CorpusIndex) -> _Facts:
    rows: dict[str, range] = {}
    position = 0
    for doc_id, processed in index.processed.items():
        count = sum(len(c.sentences) for c in processed.chunks)
        rows[doc_id] = range(position, position + count)
        position += count
    originals: list[str] = []
    found: dict[str, Copy] = {}
    for doc_id, processed in index.processed.items():
        text = processed.document.text
        for earlier in originals:
            other = index.processed[earlier].document.text
            key = (hash(text), len(text), hash(other), len(other))
            if key not in _verdicts:
                if len(_verdicts) > 100_000:
                    _verdicts.clear()
                _verdicts[key] = _copied(index, rows[doc_id], rows[earlier])
            copied = _verdicts[key]
            if copied is not None:
                found[doc_id] = Copy(original=earlier, copied=copied)
                break
        else:
            originals.append(doc_id)
    hidden = frozenset(
        i for i, chunk in enumerate(index.chunks)
        if (copy := found.get(chunk.doc_id)) and all(s.start in copy.copied for s in chunk.sentences)
    )
    row_of = {(s.doc_id, s.start): row for row, s in enumerate(index.sentences)}
    return _Facts(copies=found, row_of=row_of, hidden=hidden)


def _copied(index: CorpusIndex, rows: range, other: range) -> frozenset[int] | None:
    """Starts of the sentences of ``rows`` repeated in ``other`` (near-identical, same figures), if
    they are COPIED_SHARE of them."""
    if not len(rows) or not len(other):
        return None
    needed = COPIED_SHARE * len(rows)
    known = {" ".join(index.sentences[r].text.split()) for r in other}
    matched = [r for r in rows if " ".join(index.sentences[r].text.split()) in known]
    unmatched = sorted(set(rows) - set(matched))
    if unmatched and len(unmatched) * len(other) <= MAX_PAIRS:
        theirs = index.sentence_vectors[other.start:other.stop]
        for begin in range(0, len(unmatched), _BLOCK):
            if len(matched) + len(unmatched) - begin < needed:
                return None  # even if every remaining sentence matched
            block = unmatched[begin:begin + _BLOCK]
            cosines = index.sentence_vectors[block] @ theirs.T
            for r, row in zip(block, cosines, strict=True):
                numbers = index.sentences[r].numbers
                if any(index.sentences[other.start + int(c)].numbers == numbers
                       for c in np.flatnonzero(row >= SAME_SENTENCE)):
                    matched.append(r)
    if len(matched) < needed:
        return None
    return frozenset(index.sentences[r].start for r in matched)


def counted_once(index: CorpusIndex) -> CorpusIndex:
    """The snapshot with term statistics in which a copy's copied sentences do not count again."""
    facts = _facts_of(index)
    if not facts.copies:
        return index
    terms = (
        terms for s, terms in zip(index.sentences, index.sentence_terms, strict=True)
        if (copy := facts.copies.get(s.doc_id)) is None or s.start not in copy.copied
    )
    view = replace(index, idf=inverse_document_frequencies(terms))
    with _lock:
        _facts[view] = facts
    return view


def hidden_chunks(index: CorpusIndex) -> frozenset[int]:
    """Chunk ids that retrieval leaves out: every sentence of them is a copy's."""
    return _facts_of(index).hidden


def distinct(evidence: Evidence, index: CorpusIndex) -> Evidence:
    """The evidence with each piece counted once.

    A copy's copied sentences go (the original's stand for them); of (near-)identical sentences
    stating the same figures only the best scored stays.
    """
    facts = _facts_of(index)
    candidates = [
        s for s in evidence.sentences
        if (copy := facts.copies.get(s.sentence.doc_id)) is None or s.sentence.start not in copy.copied
    ]
    kept: list[ScoredSentence] = []
    if candidates:
        rows = [facts.row_of[(s.sentence.doc_id, s.sentence.start)] for s in candidates]
        vectors = index.sentence_vectors[rows]
        near = ((vectors @ vectors.T).astype(np.float64) >= SAME_SENTENCE).tolist()
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
