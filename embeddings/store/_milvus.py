"""Milvus as the store: milvus-lite (``milvus:///path/file.db``) or a cluster (``http://host:19530``).

Chunks carry their dense vector and a BM25 sparse vector that Milvus derives itself (a cluster
>= 2.5 is needed for BM25 functions and ``hybrid_search``). The text given to BM25 is our own
tokens (bm25s's: stop words out, Snowball stems) joined by spaces, so both stores rank the same
terms; milvus-lite's analyzer would otherwise ignore stemming filters. Every collection is created
with Strong consistency: a reader sees its own writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np
from filelock import FileLock
from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker

from embeddings.records import Chunk, Document, DroppedSpan, ProcessedDocument
from embeddings.store._base import (
    DocumentSummary,
    IndexedDocument,
    StoredChunk,
    idf_from_counts,
    is_hidden,
    sentence_rows,
    sentence_term_sets,
    stored_chunk,
)
from embeddings.store._sparse import K1, tokenize
from qa.errors import IndexIncompatible

TEXT_PART = 15_000  # characters of a document's text per row (VARCHAR holds 65,535 bytes)
MAX_VARCHAR = 65_535
_KEY_SPACE = 1 << 52  # chunk keys are random below this, so key * SENTENCE_SLOTS fits an int64
_BATCH = 1_000
_PAGE = 16_384  # Milvus's limit on offset + limit of one query


def _client_target(uri: str) -> str:
    return uri.removeprefix("milvus://") if uri.startswith("milvus://") else uri


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.float32).tobytes()).decode()


def _pk(text: str) -> str:
    """A primary key safe in any Milvus expression, for a text that may hold quotes or NULs."""
    return hashlib.sha1(text.encode()).hexdigest()


def _row(vector: np.ndarray) -> list[float]:
    return np.asarray(vector, dtype=np.float32).tolist()


def _unb64(text: str, dim: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).reshape(-1, dim)


class MilvusStore:
    """The store on Milvus; writers exclude each other by a file lock (milvus-lite) or by process."""

    def __init__(self, uri: str, *, model: str, dim: int, prefix: str = "qa") -> None:
        self.uri = uri
        self.dim = dim
        target = _client_target(uri)
        local = not target.startswith(("http://", "https://"))
        if local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.write_lock = FileLock(f"{target}.lock") if local else None
        self._client = MilvusClient(target)
        names = ("meta", "documents", "texts", "chunks", "sentences", "terms")
        self._names = {n: f"{prefix}_{n}" for n in names}
        self._create()
        found = self._meta("model")
        if found is None:
            self._set_meta("model", model)
            self._set_meta("version", "0")
        elif found != model:
            raise IndexIncompatible(
                f"The store {uri} was built with the embedding model {found!r}, but this service "
                f"uses {model!r}. Run `qa index` to rebuild it."
            )
        self._version = ""
        self._idf: dict[str, float] | None = None

    # --- schema ----------------------------------------------------------------------------

    def _create(self) -> None:
        c, n = self._client, self._names
        existing = set(c.list_collections())

        def make(name: str, schema: object, index: object) -> None:
            if name not in existing:
                c.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")

        def keyed(pk: DataType, **fields: tuple[DataType, dict]) -> tuple[object, object]:
            schema = c.create_schema(auto_id=False)
            length = {"max_length": 1024} if pk == DataType.VARCHAR else {}
            schema.add_field("id", pk, is_primary=True, **length)
            for field, (kind, params) in fields.items():
                schema.add_field(field, kind, **params)
            schema.add_field("nothing", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
            index = c.prepare_index_params()
            index.add_index("nothing", index_type="FLAT", metric_type="L2")
            return schema, index

        text = (DataType.VARCHAR, {"max_length": MAX_VARCHAR})
        make(n["meta"], *keyed(DataType.VARCHAR, value=text))
        doc_id = (DataType.VARCHAR, {"max_length": 1024})
        make(n["documents"], *keyed(
            DataType.VARCHAR, doc_id=doc_id, pos=(DataType.INT64, {}), payload=text, copy_of=text,
        ))
        make(n["texts"], *keyed(
            DataType.VARCHAR, doc_id=(DataType.VARCHAR, {"max_length": 1024}), part=(DataType.INT64, {}),
            text=text,
        ))
        make(n["terms"], *keyed(DataType.VARCHAR, term=text, df=(DataType.INT64, {})))

        chunks = c.create_schema(auto_id=False)
        chunks.add_field("id", DataType.INT64, is_primary=True)
        chunks.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        chunks.add_field("start", DataType.INT64)
        chunks.add_field("hidden", DataType.BOOL)
        chunks.add_field("tokens", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        chunks.add_field("payload", DataType.VARCHAR, max_length=MAX_VARCHAR)
        chunks.add_field("sentence_vectors", DataType.VARCHAR, max_length=MAX_VARCHAR)
        chunks.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        chunks.add_function(Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["tokens"],
            output_field_names=["sparse"],
        ))
        index = c.prepare_index_params()
        index.add_index("dense", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": K1, "bm25_b": 0.75})
        make(n["chunks"], chunks, index)

        sentences = c.create_schema(auto_id=False)
        sentences.add_field("id", DataType.INT64, is_primary=True)
        sentences.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        sentences.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        index = c.prepare_index_params()
        index.add_index("dense", index_type="FLAT", metric_type="IP")
        make(n["sentences"], sentences, index)
        for name in n.values():  # a collection created by another process starts released
            c.load_collection(name)

    def _meta(self, name: str) -> str | None:
        rows = self._client.query(self._names["meta"], ids=[name], output_fields=["value"])
        return rows[0]["value"] if rows else None

    def _set_meta(self, name: str, value: str) -> None:
        self._client.upsert(self._names["meta"], [{"id": name, "value": value, "nothing": [0.0, 0.0]}])

    # --- writes ----------------------------------------------------------------------------

    def _writing(self) -> object:
        return self.write_lock if self.write_lock is not None else self._lock

    def upsert(self, docs: Sequence[IndexedDocument]) -> None:
        """Add or replace documents by id, durably, before returning."""
        if not docs:
            return
        with self._writing():  # type: ignore[attr-defined]
            for doc in docs:
                self._remove(doc.doc_id)
                self._put(doc)
            self._bump()

    def delete(self, doc_id: str) -> bool:
        """Remove a document; False when there was none."""
        with self._writing():  # type: ignore[attr-defined]
            found = self._remove(doc_id)
            if found:
                self._bump()
            return found

    def _bump(self) -> None:
        self._set_meta("version", f"{time.time_ns()}-{random.getrandbits(32)}")
        self._idf = None

    def _remove(self, doc_id: str) -> bool:
        old = self.get(doc_id)
        if old is None:
            return False
        quoted = json.dumps(doc_id)
        for name in ("chunks", "sentences", "texts"):
            self._client.delete(self._names[name], filter=f"doc_id == {quoted}")
        self._client.delete(self._names["documents"], ids=[_pk(doc_id)])
        self._count_terms(sentence_term_sets(old), -1)
        return True

    def _count_terms(self, term_sets: list[frozenset[str]], sign: int) -> None:
        counts: dict[str, int] = {}
        for terms in term_sets:
            for t in terms:
                counts[t] = counts.get(t, 0) + 1
        counts[""] = len(term_sets)  # the number of sentences counted, beside the terms
        names = list(counts)
        for first in range(0, len(names), _BATCH):
            part = names[first:first + _BATCH]
            rows = self._client.query(
                self._names["terms"], ids=[_pk(t) for t in part], output_fields=["term", "df"]
            )
            have = {r["term"]: int(r["df"]) for r in rows}
            self._client.upsert(self._names["terms"], [
                {"id": _pk(t), "term": t, "df": have.get(t, 0) + sign * counts[t], "nothing": [0.0, 0.0]}
                for t in part
            ])

    def _put(self, doc: IndexedDocument) -> None:
        p = doc.processed
        meta = {
            "document": msgspec.to_builtins(msgspec.structs.replace(p.document, text="")),
            "dropped": msgspec.to_builtins(p.dropped), "chunks": len(p.chunks),
            "copied": sorted(doc.copied),
        }
        self._client.insert(self._names["documents"], [{
            "id": _pk(doc.doc_id), "doc_id": doc.doc_id, "pos": time.time_ns(), "payload": json.dumps(meta),
            "copy_of": doc.copy_of or "", "nothing": [0.0, 0.0],
        }])
        text = p.document.text
        parts = [text[i:i + TEXT_PART] for i in range(0, len(text), TEXT_PART)] or [""]
        self._client.insert(self._names["texts"], [
            {"id": _pk(f"{doc.doc_id}\x00{i}"), "doc_id": doc.doc_id, "part": i, "text": part,
             "nothing": [0.0, 0.0]}
            for i, part in enumerate(parts)
        ])
        chunk_rows: list[dict] = []
        sentence_rows_: list[dict] = []
        for i, (chunk, rows) in enumerate(sentence_rows(doc)):
            key = random.randrange(1, _KEY_SPACE)
            chunk_rows.append({
                "id": key, "doc_id": doc.doc_id, "start": chunk.start,
                "hidden": is_hidden(chunk, doc.copied), "tokens": " ".join(tokenize(chunk.text)),
                "payload": msgspec.json.encode(chunk).decode(),
                "sentence_vectors": _b64(doc.sentence_vectors[rows]),
                "dense": doc.chunk_vectors[i].astype(np.float32).tolist(),
            })
            for j, vector in enumerate(doc.sentence_vectors[rows]):
                sentence_rows_.append({
                    "id": key * 1024 + j, "doc_id": doc.doc_id, "dense": vector.astype(np.float32).tolist(),
                })
        for name, rows_ in (("chunks", chunk_rows), ("sentences", sentence_rows_)):
            for first in range(0, len(rows_), _BATCH):
                self._client.insert(self._names[name], rows_[first:first + _BATCH])
        self._count_terms(sentence_term_sets(doc), +1)

    # --- reads -----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Strong consistency already shows every write; this drops caches when the version moved."""
        version = self._meta("version") or ""
        changed = version != self._version
        if changed:
            self._version, self._idf = version, None
        return changed

    def view(self) -> MilvusStore:
        """Milvus has no read snapshots: the store itself (a question may meet a concurrent update)."""
        return self

    def _texts(self, doc_id: str) -> str:
        rows = self._client.query(
            self._names["texts"], filter=f"doc_id == {json.dumps(doc_id)}", output_fields=["part", "text"]
        )
        return "".join(r["text"] for r in sorted(rows, key=lambda r: r["part"]))

    def _doc_rows(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        rows = self._client.query(
            self._names["documents"], ids=[_pk(i) for i in ids],
            output_fields=["doc_id", "payload", "copy_of", "pos"],
        )
        return {r["doc_id"]: r for r in rows}

    def document(self, doc_id: str) -> Document | None:
        """One document (metadata and original text, no vectors), or None."""
        row = self._doc_rows([doc_id]).get(doc_id)
        if row is None:
            return None
        meta = json.loads(row["payload"])
        return msgspec.convert({**meta["document"], "text": self._texts(doc_id)}, Document)

    def get(self, doc_id: str) -> IndexedDocument | None:
        """One stored document with its vectors, or None."""
        row = self._doc_rows([doc_id]).get(doc_id)
        if row is None:
            return None
        meta = json.loads(row["payload"])
        document = msgspec.convert({**meta["document"], "text": self._texts(doc_id)}, Document)
        chunks = self.chunks_of(doc_id)
        processed = ProcessedDocument(
            document=document, dropped=msgspec.convert(meta["dropped"], tuple[DroppedSpan, ...]),
            chunks=tuple(c.chunk for c in chunks),
        )
        empty = np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._client.query(
            self._names["chunks"], ids=[c.key for c in chunks], output_fields=["dense"]
        ) if chunks else []
        by_key = {r["id"]: np.asarray(r["dense"], dtype=np.float32) for r in vectors}
        return IndexedDocument(
            processed=processed,
            chunk_vectors=np.vstack([by_key[c.key] for c in chunks]) if chunks else empty,
            sentence_vectors=np.concatenate([c.sentence_vectors for c in chunks]) if chunks else empty,
            copy_of=row["copy_of"] or None, copied=frozenset(meta["copied"]),
        )

    def count(self) -> int:
        """Number of documents."""
        rows = self._client.query(self._names["documents"], filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def summaries(self) -> list[DocumentSummary]:
        """Every document's metadata, in write order."""
        rows = self._all(self._names["documents"], ["doc_id", "payload", "copy_of", "pos"])
        out = []
        for row in sorted(rows, key=lambda r: r["pos"]):
            meta = json.loads(row["payload"])
            out.append(DocumentSummary(
                document=msgspec.convert({**meta["document"], "text": self._texts(row["doc_id"])}, Document),
                chunks=meta["chunks"], dropped=msgspec.convert(meta["dropped"], tuple[DroppedSpan, ...]),
                copy_of=row["copy_of"] or None,
            ))
        return out

    def _all(self, collection: str, fields: list[str]) -> list[dict]:
        iterator = self._client.query_iterator(collection, batch_size=1000, filter="", output_fields=fields)
        rows: list[dict] = []
        while batch := iterator.next():
            rows.extend(batch)
        iterator.close()
        return rows

    def _search(self, name: str, data: list, field: str, k: int, params: dict) -> list[int]:
        if k <= 0:
            return []
        hits = self._client.search(self._names[name], data=data, anns_field=field, limit=min(k, _PAGE),
                                   search_params=params, output_fields=["id"])
        return [int(h["id"]) for h in hits[0]]

    def search_dense(self, vector: np.ndarray, k: int) -> list[int]:
        """Chunk keys by cosine similarity of the chunk vector, best first."""
        return self._search("chunks", [_row(vector)], "dense", k, {"metric_type": "IP"})

    def search_sentences(self, vector: np.ndarray, k: int) -> list[int]:
        """Sentence ids by cosine similarity, best first."""
        return self._search("sentences", [_row(vector)], "dense", k, {"metric_type": "IP"})

    def nearest_sentences(self, vectors: np.ndarray, k: int) -> list[list[int]]:
        """For each row of ``vectors``, the ids of its ``k`` nearest sentences (one batched query)."""
        if not len(vectors) or k <= 0:
            return [[] for _ in range(len(vectors))]
        out: list[list[int]] = []
        rows = np.asarray(vectors, dtype=np.float32).tolist()
        for first in range(0, len(rows), 100):
            hits = self._client.search(self._names["sentences"], data=rows[first:first + 100],
                                       anns_field="dense", limit=k, search_params={"metric_type": "IP"},
                                       output_fields=["id"])
            out.extend([int(h["id"]) for h in row] for row in hits)
        return out

    def search_sparse(self, text: str, k: int) -> list[int]:
        """Chunk keys by BM25 score, best first."""
        tokens = " ".join(tokenize(text))
        if not tokens:
            return []
        return self._search("chunks", [tokens], "sparse", k, {"metric_type": "BM25"})

    def search_hybrid(self, vector: np.ndarray, text: str, k: int, rrf_k: int = 60) -> list[int]:
        """Chunk keys by reciprocal rank fusion of the dense and sparse rankings (Milvus hybrid_search)."""
        tokens = " ".join(tokenize(text))
        requests = [AnnSearchRequest([vector.astype(np.float32).tolist()], "dense", {"metric_type": "IP"}, k)]
        if tokens:
            requests.append(AnnSearchRequest([tokens], "sparse", {"metric_type": "BM25"}, k))
        hits = self._client.hybrid_search(self._names["chunks"], requests, RRFRanker(rrf_k), limit=k,
                                          output_fields=["id"])
        return [int(h["id"]) for h in hits[0]]

    def hidden(self, keys: Sequence[int]) -> set[int]:
        """Those of ``keys`` whose chunks are made only of a near-duplicate copy's sentences."""
        if not keys:
            return set()
        rows = self._client.query(self._names["chunks"], filter=f"id in {list(keys)} and hidden == true",
                                  output_fields=["id"])
        return {int(r["id"]) for r in rows}

    def _stored(self, rows: list[dict]) -> list[StoredChunk]:
        docs = self._doc_rows(list({r["doc_id"] for r in rows}))
        out: list[StoredChunk] = []
        for r in rows:
            doc_row = docs.get(r["doc_id"])
            if doc_row is None:
                continue
            meta = json.loads(doc_row["payload"])
            document = msgspec.convert({**meta["document"], "text": ""}, Document)
            out.append(stored_chunk(
                int(r["id"]), msgspec.json.decode(r["payload"], type=Chunk), document,
                _unb64(r["sentence_vectors"], self.dim), frozenset(meta["copied"]),
            ))
        return out

    def chunks(self, keys: Sequence[int]) -> list[StoredChunk]:
        """The chunks with these keys, in that order (keys no longer stored are left out)."""
        if not keys:
            return []
        rows = self._client.query(self._names["chunks"], ids=list(keys),
                                  output_fields=["doc_id", "payload", "sentence_vectors"])
        by_key = {s.key: s for s in self._stored(rows)}
        return [by_key[k] for k in keys if k in by_key]

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in text order."""
        rows = self._client.query(self._names["chunks"], filter=f"doc_id == {json.dumps(doc_id)}",
                                  output_fields=["doc_id", "payload", "sentence_vectors", "start"])
        return self._stored(sorted(rows, key=lambda r: r["start"]))

    def term_idf(self) -> dict[str, float]:
        """IDF of every sentence term, a copy's copied sentences not counted."""
        idf = self._idf
        if idf is None:
            counts = {r["term"]: int(r["df"]) for r in self._all(self._names["terms"], ["term", "df"])}
            n = counts.pop("", 0)
            idf = self._idf = idf_from_counts(counts, n)
        return idf

    def close(self) -> None:
        """Close the client."""
        self._client.close()
