"""BM25 that takes writes: bm25s's tokenizer and Lucene scoring over segments that grow and compact.

bm25s precomputes every (chunk, term) score, so one new chunk changes them all; here term
frequencies are kept instead and scored at query time with the live corpus statistics, giving the
same ranking bm25s gives over the same chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from qa.text import stemmer

K1, B = 1.5, 0.75
_SPLIT = re.compile(r"(?u)\b\w\w+\b").findall
_STOP = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """bm25s's default tokens: lower-cased words of 2+ characters, English stop words out, stemmed."""
    return list(stemmer().stemWords([w for w in _SPLIT(text.lower()) if w not in _STOP]))


class SparseIndex:
    """Term frequencies of chunks, by slot; a compacted CSC part plus postings appended since."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.keys: list[int] = []  # chunk key of each slot
        self.lengths: list[int] = []
        self.live: list[bool] = []
        self.slot_of: dict[int, int] = {}
        self.df: list[int] = []  # live chunks holding each term
        self.total_length = 0
        # compacted part: term -> rows [indptr[t]:indptr[t+1]] of indices (slots) and tf
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self.tf = np.zeros(0, dtype=np.float32)
        self.recent: dict[int, list[tuple[int, int]]] = {}  # term -> [(slot, tf)] since compaction
        self.terms_of: dict[int, dict[int, int]] = {}  # slot -> {term: tf}, recent slots only
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None  # lengths and live, for queries

    @property
    def live_count(self) -> int:
        """Number of live chunks."""
        return len(self.slot_of)

    def add(self, key: int, text: str) -> None:
        """Index one chunk under ``key``."""
        counts: dict[int, int] = {}
        tokens = tokenize(text)
        for token in tokens:
            term = self.vocab.get(token)
            if term is None:
                term = self.vocab[token] = len(self.vocab)
                self.df.append(0)
            counts[term] = counts.get(term, 0) + 1
        slot = len(self.keys)
        self.keys.append(key)
        self.lengths.append(len(tokens))
        self.live.append(True)
        self.slot_of[key] = slot
        self.total_length += len(tokens)
        for term, tf in counts.items():
            self.df[term] += 1
            self.recent.setdefault(term, []).append((slot, tf))
        self.terms_of[slot] = counts
        self._arrays = None

    def remove(self, key: int) -> None:
        """Forget the chunk ``key`` (its slot stays, dead, until the next compaction)."""
        slot = self.slot_of.pop(key, None)
        if slot is None:
            return
        self.live[slot] = False
        self._arrays = None
        self.total_length -= self.lengths[slot]
        for term in self._terms(slot):
            self.df[term] -= 1

    def _terms(self, slot: int) -> dict[int, int]:
        if slot in self.terms_of:
            return self.terms_of[slot]
        # a compacted slot: find its terms in the columns (only on delete, which is rare)
        cols = np.searchsorted(self.indptr, np.flatnonzero(self.indices == slot), side="right") - 1
        return {int(c): 1 for c in cols}

    def search(self, text: str, k: int) -> list[int]:
        """Chunk keys by BM25 score, best first, only those sharing a term with ``text``."""
        n = self.live_count
        terms = [self.vocab[t] for t in tokenize(text) if t in self.vocab]
        if not n or not terms or k <= 0:
            return []
        avg = self.total_length / n
        lengths, live = self._query_arrays()
        scores = np.zeros(len(self.keys), dtype=np.float32)
        for term in terms:
            df = self.df[term]
            if df <= 0:
                continue
            idf = np.float32(np.log(1 + (n - df + 0.5) / (df + 0.5)))
            if term + 1 < len(self.indptr):
                lo, hi = self.indptr[term], self.indptr[term + 1]
                rows, tf = self.indices[lo:hi], self.tf[lo:hi]
                scores[rows] += idf * tf / (K1 * ((1 - B) + B * lengths[rows] / avg) + tf)
            if term in self.recent:
                pairs = np.asarray(self.recent[term], dtype=np.int64)
                rows2, tf2 = pairs[:, 0], pairs[:, 1].astype(np.float32)
                scores[rows2] += idf * tf2 / (K1 * ((1 - B) + B * lengths[rows2] / avg) + tf2)
        scores[~live] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        order = sorted(hits.tolist(), key=lambda s: (-scores[s], s))
        return [self.keys[s] for s in order]

    def _query_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Chunk lengths and liveness as arrays, kept until the next write (a million-item list takes
        tens of milliseconds to convert)."""
        arrays = self._arrays
        if arrays is None:
            arrays = self._arrays = (np.asarray(self.lengths, dtype=np.float32),
                                     np.asarray(self.live, dtype=bool))
        return arrays

    def compacted(self) -> SparseIndex:
        """A copy holding only live chunks, every posting in the CSC part."""
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        counts = np.diff(self.indptr)
        if len(self.indices):
            rows.append(self.indices.astype(np.int64))
            cols.append(np.repeat(np.arange(len(counts)), counts))
            tfs.append(self.tf)
        for term, pairs in self.recent.items():
            arr = np.asarray(pairs, dtype=np.int64)
            rows.append(arr[:, 0])
            cols.append(np.full(len(arr), term))
            tfs.append(arr[:, 1].astype(np.float32))
        out = SparseIndex()
        out.vocab = dict(self.vocab)
        live = np.asarray(self.live, dtype=bool)
        new_slot = np.cumsum(live) - 1
        out.keys = [k for k, alive in zip(self.keys, self.live, strict=True) if alive]
        out.lengths = [n for n, alive in zip(self.lengths, self.live, strict=True) if alive]
        out.live = [True] * len(out.keys)
        out.slot_of = {k: i for i, k in enumerate(out.keys)}
        out.df = list(self.df)
        out.total_length = self.total_length
        if rows:
            r, c, t = np.concatenate(rows), np.concatenate(cols), np.concatenate(tfs)
            keep = live[r]
            r, c, t = new_slot[r[keep]], c[keep], t[keep]
            order = np.lexsort((r, c))
            out.indices = r[order].astype(np.int32)
            out.tf = t[order].astype(np.float32)
            out.indptr = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=len(self.vocab)))])
        else:
            out.indptr = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        return out

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]]) -> SparseIndex:
        """The compacted index of many chunks at once (a bulk load: no per-chunk postings lists)."""
        out = cls()
        vocab = out.vocab
        slots: list[np.ndarray] = []
        terms: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        for key, text in items:
            ids = [vocab.setdefault(t, len(vocab)) for t in tokenize(text)]
            unique, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
            slots.append(np.full(len(unique), len(out.keys), dtype=np.int32))
            terms.append(unique)
            tfs.append(counts.astype(np.float32))
            out.keys.append(key)
            out.lengths.append(len(ids))
        slot, term, tf = (np.concatenate(a) if a else np.zeros(0, dtype=d)
                          for a, d in ((slots, np.int32), (terms, np.int64), (tfs, np.float32)))
        order = np.lexsort((slot, term))
        out.indices, out.tf = slot[order].astype(np.int32), tf[order].astype(np.float32)
        per_term = np.bincount(term, minlength=len(vocab))
        out.indptr = np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64)
        out.df = per_term.tolist()
        out.live = [True] * len(out.keys)
        out.slot_of = {k: i for i, k in enumerate(out.keys)}
        out.total_length = int(sum(out.lengths))
        return out

    def save(self, path: Path) -> None:
        """Write the compacted form to ``path`` (an .npz file)."""
        c = self.compacted()
        with open(path, "wb") as fh:
            np.savez(
                fh, indptr=c.indptr, indices=c.indices, tf=c.tf,
                keys=np.asarray(c.keys, dtype=np.int64), lengths=np.asarray(c.lengths, dtype=np.int64),
                df=np.asarray(c.df, dtype=np.int64),
                vocab=np.frombuffer(json.dumps(list(c.vocab)).encode(), dtype=np.uint8),
            )

    @classmethod
    def load(cls, path: Path) -> SparseIndex:
        """Read what ``save`` wrote."""
        out = cls()
        with np.load(path) as npz:
            out.indptr, out.indices, out.tf = npz["indptr"], npz["indices"], npz["tf"]
            out.keys = npz["keys"].tolist()
            out.lengths = npz["lengths"].tolist()
            out.df = npz["df"].tolist()
            out.vocab = {t: i for i, t in enumerate(json.loads(npz["vocab"].tobytes()))}
        out.live = [True] * len(out.keys)
        out.slot_of = {k: i for i, k in enumerate(out.keys)}
        out.total_length = int(sum(out.lengths))
        return out


def add_all(index: SparseIndex, items: Sequence[tuple[int, str]]) -> None:
    """Index several chunks."""
    for key, text in items:
        index.add(key, text)
