"""The embedded store: SQLite holds the documents (the source of truth); FAISS and BM25 derive from it.

Every write is one SQLite transaction that stamps its rows with a new sequence number and leaves a
tombstone for each chunk it replaces; any process catches up by applying the rows and tombstones
newer than what it has seen, so a write costs its own rows, never a rebuild. The derived indexes
are checkpointed (with the sequence they reflect) in the background, so opening a large store reads
the checkpoint and replays only what came after it.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import faiss
import msgspec
import numpy as np
from filelock import FileLock

from embeddings.records import Chunk, Document, DroppedSpan, ProcessedDocument
from embeddings.store._base import (
    SENTENCE_SLOTS,
    DocumentSummary,
    IndexedDocument,
    StoredChunk,
    fuse,
    idf_from_counts,
    is_hidden,
    sentence_rows,
    sentence_term_sets,
    stored_chunk,
)
from embeddings.store._sparse import SparseIndex
from qa.errors import IndexCorrupt, IndexIncompatible
from qa.text import content_terms

EXACT_SEARCH_LIMIT = 20_000  # vectors searched exactly; past it IVF-SQ8 (as embeddings.index "auto")
TRAINING_POINTS_PER_LIST = 40  # k-means cost grows with lists x points: 40 keeps 2,048 lists to minutes
KMEANS_ITERATIONS = 12
# Share of the lists one search visits (set again on every load, so a change needs no rebuild).
# Chunks: recall@10 vs exact 0.924 at 1/8 and 0.976 at 1/4 on a 100k-chunk store, 0.944 at 1/4 and
# 0.958 at 3/8 on a 1M-chunk store (1,025 lists). Sentences (3x as many vectors, a second dense leg
# fused with two others): 1/32, or a 1M-chunk store would scan 750k sentence vectors per question.
DENSE_PROBES, SENTENCE_PROBES = 3 / 8, 1 / 32
MAX_LISTS = 2_048  # k-means on more lists takes minutes on two cores
GROWTH = 4  # an index is rebuilt for its size when it holds this many times what it was built for
CHECKPOINT_EVERY = 2_000  # chunks written since the last checkpoint that trigger a new one
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, pos INTEGER NOT NULL, seq INTEGER NOT NULL, document BLOB NOT NULL,
    dropped BLOB NOT NULL, chunks INTEGER NOT NULL, copy_of TEXT, copied BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS documents_pos ON documents (pos);
CREATE TABLE IF NOT EXISTS chunks (
    key INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, start INTEGER NOT NULL,
    seq INTEGER NOT NULL, chunk BLOB NOT NULL, vector BLOB NOT NULL, sentence_vectors BLOB NOT NULL,
    hidden INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, start);
CREATE INDEX IF NOT EXISTS chunks_seq ON chunks (seq);
CREATE INDEX IF NOT EXISTS chunks_hidden ON chunks (key) WHERE hidden = 1;
CREATE TABLE IF NOT EXISTS tombstones (key INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones (seq);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL);
"""


class _ReadWriteLock:
    """Many readers or one writer; readers never wait for each other."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


def _vectors(blob: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)


def _flat(dim: int) -> faiss.IndexIDMap2:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


class EmbeddedStore:
    """SQLite + FAISS + incremental BM25 in one directory; safe across threads and processes."""

    def __init__(self, path: Path, *, model: str, dim: int) -> None:
        self.uri = f"embedded://{path.resolve()}"
        self.path = path
        self.dim = dim
        path.mkdir(parents=True, exist_ok=True)
        self.write_lock = FileLock(str(path / "write.lock"))  # writers exclude each other across processes
        self._local_write = threading.Lock()
        self._db_lock = threading.Lock()
        self._db = sqlite3.connect(path / "store.db", check_same_thread=False, isolation_level=None)
        try:
            found = self._open(model)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexCorrupt(
                f"{path / 'store.db'} is damaged ({exc}). Restore it from a backup, or move it "
                f"away and run `qa index` (documents added through the API would need adding again)."
            ) from exc
        if found is not None and found != model:
            raise IndexIncompatible(
                f"The store in {path}/ was built with the embedding model {found!r}, but this "
                f"service uses {model!r}. Move it away and run `qa index` to rebuild it."
            )
        self._mem = _ReadWriteLock()
        self._frozen = False  # a view (one question's snapshot) never writes or catches up
        self._bulk = False  # within bulk_upsert: the indexes are derived once at the end
        self._seq = 0
        self._checkpointed = 0
        self._since_checkpoint = 0
        self._dense: faiss.Index = _flat(dim)
        self._sentences: faiss.Index = _flat(dim)
        self._sparse = SparseIndex()
        self._idf: dict[str, float] | None = None
        # IDF by the store version it reflects, shared with every view: one computation per write
        self._idf_by_seq: dict[int, dict[str, float]] = {}
        self._background: threading.Thread | None = None
        self._regrowing: threading.Thread | None = None
        self._trained_for = {"dense": 0, "sentences": 0}
        self._load_checkpoint()
        self.refresh()

    def _open(self, model: str) -> str | None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self.write_lock:
            self._db.executescript(_SCHEMA)
            found = self._meta("model")
            if found is None:
                self._db.execute("INSERT INTO meta VALUES ('model', ?), ('seq', '0')", (model,))
            return found

    # --- sqlite helpers --------------------------------------------------------------------

    def _meta(self, name: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE name = ?", (name,))
        return row[0][0] if row else None

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._db_lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise IndexCorrupt(f"{self.path / 'store.db'} is damaged ({exc}). Restore it from a "
                                   "backup, or move it away and run `qa index`.") from exc

    # --- writes ----------------------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexedDocument]) -> None:
        """Add or replace documents by id, durably, before returning."""
        if docs:
            def put_all(cur: sqlite3.Cursor, seq: int) -> None:
                for doc in docs:
                    self._put(cur, seq, doc)

            self._write(put_all)

    def delete(self, doc_id: str) -> bool:
        """Remove a document; False when there was none."""
        found: list[bool] = []
        self._write(lambda cur, seq: found.append(self._remove(cur, seq, doc_id)))
        return found[0]

    def _write(self, apply: Callable[[sqlite3.Cursor, int], object]) -> None:
        if self._frozen:
            raise RuntimeError("a view of the store is read-only")
        with self._local_write, self.write_lock, self._db_lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                seq = int(cur.execute("SELECT value FROM meta WHERE name = 'seq'").fetchone()[0]) + 1
                apply(cur, seq)
                cur.execute("UPDATE meta SET value = ? WHERE name = 'seq'", (str(seq),))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        if not self._bulk:
            self.refresh()
            self._maybe_checkpoint()

    def _remove(self, cur: sqlite3.Cursor, seq: int, doc_id: str) -> bool:
        row = cur.execute("SELECT copied FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            return False
        copied = frozenset(json.loads(row[0]))
        counts: dict[str, int] = {}
        n = 0
        for key, blob in cur.execute("SELECT key, chunk FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall():
            cur.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", (key, seq))
            chunk = msgspec.msgpack.decode(blob, type=Chunk)
            for terms in _term_sets(chunk, copied):
                n += 1
                for t in terms:
                    counts[t] = counts.get(t, 0) + 1
        cur.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        cur.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        cur.executemany("UPDATE terms SET df = df - ? WHERE term = ?", [(c, t) for t, c in counts.items()])
        cur.execute(
            "INSERT INTO meta VALUES ('sentences', ?) ON CONFLICT(name) DO UPDATE SET "
            "value = CAST(value AS INTEGER) - ?", (str(-n), n),
        )
        return True

    def _put(self, cur: sqlite3.Cursor, seq: int, doc: IndexedDocument) -> None:
        self._remove(cur, seq, doc.doc_id)
        p = doc.processed
        pos = cur.execute("SELECT coalesce(max(pos), 0) + 1 FROM documents").fetchone()[0]
        cur.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, pos, seq, msgspec.msgpack.encode(p.document), msgspec.msgpack.encode(p.dropped),
             len(p.chunks), doc.copy_of, json.dumps(sorted(doc.copied))),
        )
        vectors = np.ascontiguousarray(doc.chunk_vectors, dtype=np.float32)
        sentences = np.ascontiguousarray(doc.sentence_vectors, dtype=np.float32)
        for i, (chunk, rows) in enumerate(sentence_rows(doc)):
            cur.execute(
                "INSERT INTO chunks (doc_id, start, seq, chunk, vector, sentence_vectors, hidden) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.doc_id, chunk.start, seq, msgspec.msgpack.encode(chunk), vectors[i].tobytes(),
                 sentences[rows].tobytes(), int(is_hidden(chunk, doc.copied))),
            )
        term_sets = sentence_term_sets(doc)
        counts: dict[str, int] = {}
        for terms in term_sets:
            for t in terms:
                counts[t] = counts.get(t, 0) + 1
        cur.executemany(
            "INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            list(counts.items()),
        )
        cur.execute(
            "INSERT INTO meta VALUES ('sentences', ?) ON CONFLICT(name) DO UPDATE SET "
            "value = CAST(value AS INTEGER) + ?", (str(len(term_sets)), len(term_sets)),
        )

    # --- catching up -----------------------------------------------------------------------

    def view(self) -> EmbeddedStore:
        """The store as it is now, for one question: its reads share one database snapshot (and the
        in-memory indexes; a chunk they return that the snapshot lacks is left out)."""
        view = copy.copy(self)
        view._frozen = True
        view._db_lock = threading.Lock()
        view._db = sqlite3.connect(self.path / "store.db", check_same_thread=False, isolation_level=None)
        view._db.execute("BEGIN")
        # the snapshot starts here
        view._seq = int(view._db.execute("SELECT value FROM meta WHERE name = 'seq'").fetchone()[0])
        view._idf = None
        return view

    def refresh(self) -> bool:
        """Apply every write (by any process) newer than what this reader has seen."""
        if self._frozen:
            return False
        seq = int(self._meta("seq") or 0)
        if seq == self._seq:
            return False
        with self._db_lock:
            gone = [k for (k,) in self._db.execute(
                "SELECT key FROM tombstones WHERE seq > ? AND seq <= ?", (self._seq, seq))]
            rows = self._db.execute(
                "SELECT key, chunk, vector, sentence_vectors, hidden FROM chunks "
                "WHERE seq > ? AND seq <= ? ORDER BY key", (self._seq, seq),
            ).fetchall()
        with self._mem.write():
            self._apply(gone, rows)
            self._seq = seq
            self._idf = None
        self._since_checkpoint += len(rows) + len(gone)
        return True

    def _apply(self, gone: list[int], rows: list[tuple]) -> None:
        for key in gone:
            self._sparse.remove(key)
        for key, blob, *_ in rows:
            self._sparse.add(key, msgspec.msgpack.decode(blob, type=Chunk).text)
        _apply_dense(self._dense, self._sentences, gone, rows, self.dim)
        for name in ("dense", "sentences"):
            index = self._dense if name == "dense" else self._sentences
            if index.ntotal > GROWTH * max(self._trained_for[name], EXACT_SEARCH_LIMIT // GROWTH):
                self._start_regrow()

    # --- approximate search past EXACT_SEARCH_LIMIT ----------------------------------------

    def _start_regrow(self) -> None:
        if self._regrowing is None or not self._regrowing.is_alive():
            self._regrowing = threading.Thread(target=self.regrow, daemon=True)
            self._regrowing.start()

    def regrow(self) -> None:
        """Rebuild the dense indexes for their present size (IVF-SQ8 past EXACT_SEARCH_LIMIT vectors)
        from the database, in the background; the writes that land meanwhile are applied before the
        swap, so readers never wait for the rebuild, only for the swap."""
        seq = self._seq
        db = sqlite3.connect(self.path / "store.db")  # its own read transaction: readers go on
        try:
            db.execute("BEGIN")
            dense, sentences = self._sized_indexes(db, seq)
            cursor = db.execute(
                "SELECT key, NULL, vector, sentence_vectors FROM chunks WHERE seq <= ?", (seq,))
            while block := cursor.fetchmany(5_000):
                _apply_dense(dense, sentences, [], block, self.dim)
            db.execute("COMMIT")
        finally:
            db.close()
        with self._mem.write():
            if self._seq != seq:  # writes landed during the rebuild: apply them to the new indexes
                with self._db_lock:
                    gone = [k for (k,) in self._db.execute(
                        "SELECT key FROM tombstones WHERE seq > ? AND seq <= ?", (seq, self._seq))]
                    newer = self._db.execute(
                        "SELECT key, chunk, vector, sentence_vectors, hidden FROM chunks "
                        "WHERE seq > ? AND seq <= ? ORDER BY key", (seq, self._seq),
                    ).fetchall()
                _apply_dense(dense, sentences, gone, newer, self.dim)
            self._dense, self._sentences = dense, sentences
            self._trained_for = {"dense": dense.ntotal, "sentences": sentences.ntotal}

    def _sized_indexes(self, db: sqlite3.Connection, seq: int) -> tuple[faiss.Index, faiss.Index]:
        """Empty chunk and sentence indexes for the rows up to ``seq``, trained on a sample of them."""
        n = db.execute("SELECT count(*) FROM chunks WHERE seq <= ?", (seq,)).fetchone()[0]
        step = max(1, n // 40_000)  # a sample of rows to train on, then every row streamed in
        sample = db.execute(
            "SELECT vector, sentence_vectors FROM chunks WHERE seq <= ? AND key % ? = 0", (seq, step)
        ).fetchall()
        dense = _sized_index(_stack([_vectors(r[0], self.dim) for r in sample], self.dim), n, self.dim,
                             DENSE_PROBES)
        sentence_sample = _stack([_vectors(r[1], self.dim) for r in sample], self.dim)
        sentences = _sized_index(sentence_sample, int(n * len(sentence_sample) / max(len(sample), 1)),
                                 self.dim, SENTENCE_PROBES)
        return dense, sentences

    def bulk_upsert(self, batches: Iterable[Sequence[IndexedDocument]]) -> int:
        """Write many batches of documents, then derive the indexes once, from the database, and
        checkpoint them (a bulk load: no index update per batch); the number of documents written."""
        written = 0
        self._bulk = True
        try:
            for docs in batches:
                self.upsert(docs)
                written += len(docs)
        finally:
            self._bulk = False
        self.rebuild()
        return written

    def rebuild(self) -> None:
        """Derive FAISS and BM25 from the database in one pass, serve them and checkpoint them."""
        with self._local_write:
            seq = int(self._meta("seq") or 0)
            db = sqlite3.connect(self.path / "store.db")
            try:
                db.execute("BEGIN")
                dense, sentences = self._sized_indexes(db, seq)
                cursor = db.execute(
                    "SELECT key, chunk, vector, sentence_vectors FROM chunks WHERE seq <= ? ORDER BY key",
                    (seq,))

                def texts() -> Iterator[tuple[int, str]]:
                    while block := cursor.fetchmany(5_000):
                        _apply_dense(dense, sentences, [], block, self.dim)
                        for key, blob, *_ in block:
                            yield key, msgspec.msgpack.decode(blob, type=Chunk).text

                sparse = SparseIndex.build(texts())
                db.execute("COMMIT")
            finally:
                db.close()
            with self._mem.write():
                self._dense, self._sentences, self._sparse = dense, sentences, sparse
                self._seq, self._idf = seq, None
                self._trained_for = {"dense": dense.ntotal, "sentences": sentences.ntotal}
        self.checkpoint()

    def dense_recall(self, queries: np.ndarray, k: int = 10) -> float:
        """Recall@k of the chunk index against exact search over every stored chunk vector."""
        with self._db_lock:
            rows = self._db.execute("SELECT key, vector FROM chunks").fetchall()
        keys = np.asarray([r[0] for r in rows], dtype=np.int64)
        vectors = _stack([_vectors(r[1], self.dim) for r in rows], self.dim)
        del rows
        scores = queries.astype(np.float32) @ vectors.T
        exact = keys[np.argsort(-scores, axis=1)[:, :k]]
        found = [set(self.search_dense(q, k)) for q in queries]
        return float(np.mean([len(f & set(e)) / k for f, e in zip(found, exact, strict=True)]))

    # --- checkpoints and compaction --------------------------------------------------------

    def _load_checkpoint(self) -> None:
        folder = self.path / "checkpoint"
        try:
            info = json.loads((folder / "checkpoint.json").read_text())
            dense = faiss.read_index(str(folder / "dense.faiss"))
            sentences = faiss.read_index(str(folder / "sentences.faiss"))
            sparse = SparseIndex.load(folder / "sparse.npz")
        except (OSError, ValueError, RuntimeError, KeyError):
            return  # none yet, or unreadable: everything is replayed from the database
        _probe(dense, DENSE_PROBES)
        _probe(sentences, SENTENCE_PROBES)
        self._dense, self._sentences, self._sparse = dense, sentences, sparse
        self._seq = self._checkpointed = int(info["seq"])
        self._trained_for = {"dense": dense.ntotal, "sentences": sentences.ntotal}

    def _maybe_checkpoint(self) -> None:
        # a checkpoint writes every vector: wait until a good share of them is new
        if self._since_checkpoint < max(CHECKPOINT_EVERY, self._dense.ntotal // 4):
            return
        if self._background is not None and self._background.is_alive():
            return
        self._background = threading.Thread(target=self.checkpoint, daemon=True)
        self._background.start()

    def checkpoint(self) -> None:
        """Compact BM25 and write the derived indexes to disk; readers go on meanwhile."""
        with self._mem.read():
            seq = self._seq
            dense = faiss.serialize_index(self._dense)
            sentences = faiss.serialize_index(self._sentences)
            sparse = self._sparse.compacted()
        with self._mem.write():
            if self._seq == seq:  # no write came in meanwhile: serve the compacted form
                self._sparse = sparse
        tmp = self.path / f".checkpoint-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "dense.faiss").write_bytes(dense.tobytes())
        (tmp / "sentences.faiss").write_bytes(sentences.tobytes())
        sparse.save(tmp / "sparse.npz")
        (tmp / "checkpoint.json").write_text(json.dumps({"seq": seq}))
        with self.write_lock:
            old = self.path / "checkpoint"
            if old.exists():
                shutil.rmtree(old)
            os.replace(tmp, old)
        self._checkpointed = seq
        self._since_checkpoint = 0

    # --- reads -----------------------------------------------------------------------------

    def get(self, doc_id: str) -> IndexedDocument | None:
        """One stored document with its vectors, or None."""
        row = self._query(
            "SELECT document, dropped, copy_of, copied FROM documents WHERE doc_id = ?", (doc_id,)
        )
        if not row:
            return None
        document, dropped, copy_of, copied = row[0]
        chunks = self._query(
            "SELECT chunk, vector, sentence_vectors FROM chunks WHERE doc_id = ? ORDER BY start", (doc_id,)
        )
        processed = ProcessedDocument(
            document=msgspec.msgpack.decode(document, type=Document),
            dropped=msgspec.msgpack.decode(dropped, type=tuple[DroppedSpan, ...]),
            chunks=tuple(msgspec.msgpack.decode(c[0], type=Chunk) for c in chunks),
        )
        return IndexedDocument(
            processed=processed,
            chunk_vectors=_stack([_vectors(c[1], self.dim) for c in chunks], self.dim),
            sentence_vectors=_stack([_vectors(c[2], self.dim) for c in chunks], self.dim),
            copy_of=copy_of, copied=frozenset(json.loads(copied)),
        )

    def document(self, doc_id: str) -> Document | None:
        """One document (metadata and original text, no vectors), or None."""
        row = self._query("SELECT document FROM documents WHERE doc_id = ?", (doc_id,))
        return msgspec.msgpack.decode(row[0][0], type=Document) if row else None

    def count(self) -> int:
        """Number of documents."""
        return int(self._query("SELECT count(*) FROM documents")[0][0])

    def summaries(self) -> list[DocumentSummary]:
        """Every document's metadata, in write order."""
        return [
            DocumentSummary(
                document=msgspec.msgpack.decode(document, type=Document),
                dropped=msgspec.msgpack.decode(dropped, type=tuple[DroppedSpan, ...]),
                chunks=n, copy_of=copy_of,
            )
            for document, dropped, n, copy_of in self._query(
                "SELECT document, dropped, chunks, copy_of FROM documents ORDER BY pos")
        ]

    def search_dense(self, vector: np.ndarray, k: int) -> list[int]:
        """Chunk keys by cosine similarity of the chunk vector, best first."""
        with self._mem.read():
            return _search(self._dense, vector, k)

    def search_sentences(self, vector: np.ndarray, k: int) -> list[int]:
        """Sentence ids by cosine similarity, best first."""
        with self._mem.read():
            return _search(self._sentences, vector, k)

    def nearest_sentences(self, vectors: np.ndarray, k: int) -> list[list[int]]:
        """For each row of ``vectors``, the ids of its ``k`` nearest sentences (one batched query)."""
        with self._mem.read():
            if self._sentences.ntotal == 0 or not len(vectors):
                return [[] for _ in range(len(vectors))]
            _, ids = self._sentences.search(
                np.ascontiguousarray(vectors, dtype=np.float32), min(k, self._sentences.ntotal)
            )
        return [[int(i) for i in row if i >= 0] for row in ids]

    def search_sparse(self, text: str, k: int) -> list[int]:
        """Chunk keys by BM25 score, best first."""
        with self._mem.read():
            return self._sparse.search(text, k)

    def search_hybrid(self, vector: np.ndarray, text: str, k: int, rrf_k: int = 60) -> list[int]:
        """Chunk keys by reciprocal rank fusion of the dense and sparse rankings."""
        return fuse([self.search_dense(vector, k), self.search_sparse(text, k)], rrf_k)[:k]

    def hidden(self, keys: Sequence[int]) -> set[int]:
        """Those of ``keys`` whose chunks are made only of a near-duplicate copy's sentences."""
        if not keys:
            return set()
        marks = ",".join("?" * len(keys))
        # the few hidden chunks have their own index: the rows (and their vectors) are not read
        sql = f"SELECT key FROM chunks INDEXED BY chunks_hidden WHERE hidden = 1 AND key IN ({marks})"
        return {k for (k,) in self._query(sql, list(keys))}

    def chunks(self, keys: Sequence[int]) -> list[StoredChunk]:
        """The chunks with these keys, in that order (keys no longer stored are left out)."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self._query(
            f"SELECT c.key, c.chunk, c.sentence_vectors, d.document, d.copied FROM chunks c "
            f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.key IN ({marks})", list(keys),
        )
        found = {r[0]: r for r in rows}
        return [self._stored(found[k]) for k in keys if k in found]

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in text order."""
        rows = self._query(
            "SELECT c.key, c.chunk, c.sentence_vectors, d.document, d.copied FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id WHERE c.doc_id = ? ORDER BY c.start", (doc_id,),
        )
        return [self._stored(r) for r in rows]

    def _stored(self, row: tuple) -> StoredChunk:
        key, chunk, vectors, document, copied = row
        doc = msgspec.msgpack.decode(document, type=Document)
        return stored_chunk(key, msgspec.msgpack.decode(chunk, type=Chunk), doc,
                            _vectors(vectors, self.dim), frozenset(json.loads(copied)))

    def term_idf(self) -> dict[str, float]:
        """IDF of every sentence term, a copy's copied sentences not counted."""
        idf = self._idf
        if idf is None and self._frozen:
            idf = self._idf_by_seq.get(self._seq)
        if idf is None:
            n = int(self._meta("sentences") or 0)
            idf = idf_from_counts(dict(self._query("SELECT term, df FROM terms")), n)
            if self._frozen:  # a view: its snapshot is that version of the store, for every view
                self._idf_by_seq.clear()
                self._idf_by_seq[self._seq] = idf
        self._idf = idf
        return idf

    def close(self) -> None:
        """Wait for a running checkpoint or rebuild and close the database."""
        if self._frozen:
            self._db.close()
            return
        for thread in (self._regrowing, self._background):
            if thread is not None:
                thread.join()
        with self._db_lock:
            self._db.close()


def _apply_dense(
    dense: faiss.Index, sentences: faiss.Index, gone: list[int], rows: list[tuple], dim: int
) -> None:
    """Remove the tombstoned chunks' vectors and add the new rows' (key, _, vector, sentences, _)."""
    if gone:
        keys = np.asarray(gone, dtype=np.int64)
        slots = (keys[:, None] * SENTENCE_SLOTS + np.arange(SENTENCE_SLOTS)[None, :]).ravel()
        dense.remove_ids(keys)  # type: ignore[arg-type]  # the SWIG wrapper takes id arrays too
        sentences.remove_ids(slots)  # type: ignore[arg-type]
    if not rows:
        return
    keys = np.asarray([r[0] for r in rows], dtype=np.int64)
    dense.add_with_ids(np.vstack([_vectors(r[2], dim) for r in rows]), keys)
    parts = [_vectors(r[3], dim) for r in rows]
    ids = np.concatenate(
        [key * SENTENCE_SLOTS + np.arange(len(v)) for key, v in zip(keys, parts, strict=True)]
    ).astype(np.int64)
    if len(ids):
        sentences.add_with_ids(np.vstack(parts), ids)


def _sized_index(sample: np.ndarray, n: int, dim: int, share: float) -> faiss.Index:
    """An empty index for ``n`` vectors: exact up to EXACT_SEARCH_LIMIT, past it IVF over 8-bit
    scalar-quantised vectors trained on ``sample``, searching ``share`` of its lists."""
    if n <= EXACT_SEARCH_LIMIT or len(sample) < 39:
        return _flat(dim)
    nlist = max(1, min(len(sample) // 39, n // 39, int(4 * np.sqrt(n)), MAX_LISTS))
    ivf = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.niter = KMEANS_ITERATIONS
    ivf.train(np.ascontiguousarray(sample[: TRAINING_POINTS_PER_LIST * nlist]))
    _probe(ivf, share)
    return ivf


def _probe(index: faiss.Index, share: float) -> None:
    """Make an IVF index visit ``share`` of its lists (at least 32); other indexes are left alone."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = min(ivf.nlist, max(32, int(ivf.nlist * share)))


def _search(index: faiss.Index, vector: np.ndarray, k: int) -> list[int]:
    if index.ntotal == 0 or k <= 0:
        return []
    _, ids = index.search(np.ascontiguousarray(vector[None, :], dtype=np.float32), min(k, index.ntotal))
    return [int(i) for i in ids[0] if i >= 0]


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)


def _term_sets(chunk: Chunk, copied: frozenset[int]) -> list[frozenset[str]]:
    return [frozenset(content_terms(s.text)) for s in chunk.sentences if s.start not in copied]
