"""The corpus index: an immutable snapshot of documents, chunks, vectors, FAISS and BM25.

A snapshot is built once (``build_snapshot``), saved atomically (``save_snapshot``) into a new
version directory under the data directory, and made live by replacing ``CURRENT``. Updates build
a new snapshot that reuses the vectors of unchanged documents; readers keep the snapshot they
started with, so a question never sees a mix of two corpora.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import bm25s
import faiss
import msgspec
import numpy as np

from embeddings.records import Chunk, Document, ProcessedDocument, Sentence
from embeddings.terms import inverse_document_frequencies
from qa.errors import IndexCorrupt, IndexIncompatible, IndexNotFound
from qa.text import content_terms, stemmer

FORMAT_VERSION = 2
CURRENT = "CURRENT"
FIX = "Run `qa index` to rebuild it."
# "auto" searches exactly up to this many vectors (a flat search costs ~0.06 ms per 1,000 on one
# core), then uses IVF over 8-bit scalar-quantised vectors: at 1M vectors (eval/bench_scale.py)
# ~3 ms a query, recall@10 ~0.97, ~420 MB; an exact index would take ~60 ms and 1.5 GB.
EXACT_SEARCH_LIMIT = 20_000
INDEX_TYPES = ("auto", "flat", "hnsw", "ivfpq", "ivfsq8")
TRAINING_POINTS_PER_LIST = 64  # k-means on a sample: enough for stable lists, cheap to train


class IndexManifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a saved index was built from and with."""

    format: int
    model: str
    fingerprint: str
    index_type: str
    documents: int
    chunks: int
    sentences: int
    dropped: int
    created: float
    # sha256 of each file of the version, so a corrupted byte is named, not silently loaded
    checksums: dict[str, str] = {}


class DocVectors(msgspec.Struct, frozen=True, kw_only=True):
    """Embeddings of one document's chunks and sentences, kept so updates never re-embed it."""

    chunks: np.ndarray
    sentences: np.ndarray


def corpus_fingerprint(docs: list[Document], model: str) -> str:
    """A hash of the model name, the chunking format and every document's id, metadata and text."""
    digest = hashlib.sha256(f"{model}\x00{FORMAT_VERSION}".encode())
    for doc in sorted(docs, key=lambda d: d.doc_id):
        digest.update(msgspec.json.encode(doc))
    return digest.hexdigest()[:16]


def sparse_tokenizer() -> bm25s.tokenization.Tokenizer:
    """The BM25 tokenizer (English stopwords, Snowball stemmer), shared by indexing and queries."""
    return bm25s.tokenization.Tokenizer(stopwords="en", stemmer=stemmer(), lower=True)


def make_dense_index(vectors: np.ndarray, index_type: str = "auto") -> faiss.Index:
    """Build the FAISS index over normalised vectors (inner product == cosine)."""
    n, dim = vectors.shape
    kind = index_type
    if kind == "auto":
        kind = "flat" if n <= EXACT_SEARCH_LIMIT else "ivfsq8"
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    elif kind in ("ivfpq", "ivfsq8"):
        nlist = max(1, min(n // 39, int(np.sqrt(max(n, 1)))))  # faiss wants >= 39 points per list
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivfpq":
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        index.train(_training_sample(vectors, max(TRAINING_POINTS_PER_LIST * nlist, 10_000)))
        # Real embeddings form a continuum, not tight clusters: 1/8 of the lists (at least 64)
        # keeps recall@10 >= 0.95 from 20k to 1M vectors (eval/bench_scale.py).
        index.nprobe = min(nlist, max(64, nlist // 8))
    else:
        raise ValueError(f"unknown index type {index_type!r} (use {', '.join(INDEX_TYPES)})")
    if n:
        index.add(vectors)
    return index


def _training_sample(vectors: np.ndarray, size: int) -> np.ndarray:
    if len(vectors) <= size:
        return vectors
    rows = np.random.default_rng(0).choice(len(vectors), size, replace=False)
    return np.ascontiguousarray(vectors[np.sort(rows)])


@dataclass(frozen=True, eq=False)
class CorpusIndex:
    """One immutable corpus snapshot; flat arrays are aligned with ``chunks`` and ``sentences``."""

    manifest: IndexManifest
    processed: dict[str, ProcessedDocument]
    vectors: dict[str, DocVectors]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: list[Sentence]
    sentence_vectors: np.ndarray
    chunk_sentences: list[range]  # sentence indices of each chunk
    dense: faiss.Index
    sentence_dense: faiss.Index  # sentence vectors, so a sentence can find its chunk
    sentence_chunk: np.ndarray  # chunk id of each sentence
    sparse: bm25s.BM25 | None
    tokenizer: bm25s.tokenization.Tokenizer
    sentence_terms: list[frozenset[str]]
    idf: dict[str, float]

    def document(self, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        processed = self.processed.get(doc_id)
        return processed.document if processed else None


def build_snapshot(
    processed: list[ProcessedDocument],
    vectors: dict[str, DocVectors],
    *,
    model: str,
    index_type: str = "auto",
    dense: faiss.Index | None = None,
    sentence_dense: faiss.Index | None = None,
    dimension: int | None = None,
) -> CorpusIndex:
    """Assemble a snapshot from processed documents and their (already computed) vectors.

    ``dimension`` is the encoder's; without it, it is read from ``dense`` or the vectors.
    """
    by_id = {p.document.doc_id: p for p in processed}
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    chunk_sentences: list[range] = []
    chunk_parts: list[np.ndarray] = []
    sentence_parts: list[np.ndarray] = []
    dim = dimension or (dense.d if dense is not None else _width(vectors))
    for doc_id, p in by_id.items():
        v = vectors[doc_id]
        for chunk in p.chunks:
            chunk_sentences.append(range(len(sentences), len(sentences) + len(chunk.sentences)))
            sentences.extend(chunk.sentences)
            chunks.append(chunk)
        chunk_parts.append(v.chunks)
        sentence_parts.append(v.sentences)
    chunk_vectors = _stack(chunk_parts, dim)
    sentence_vectors = _stack(sentence_parts, dim)
    if len(chunk_vectors) != len(chunks) or len(sentence_vectors) != len(sentences):
        raise ValueError("vectors do not match the chunks/sentences they belong to")

    tokenizer = sparse_tokenizer()
    sparse: bm25s.BM25 | None = None
    if chunks:
        ids = tokenizer.tokenize([c.text for c in chunks], return_as="ids", show_progress=False)
        sparse = bm25s.BM25()
        sparse.index((ids, tokenizer.get_vocab_dict()), show_progress=False)
    sentence_terms = [frozenset(content_terms(s.text)) for s in sentences]
    docs = [p.document for p in by_id.values()]
    manifest = IndexManifest(
        format=FORMAT_VERSION,
        model=model,
        fingerprint=corpus_fingerprint(docs, model),
        index_type=index_type,
        documents=len(by_id),
        chunks=len(chunks),
        sentences=len(sentences),
        dropped=sum(len(p.dropped) for p in by_id.values()),
        created=time.time(),
    )
    return CorpusIndex(
        manifest=manifest,
        processed=by_id,
        vectors={k: vectors[k] for k in by_id},
        chunks=chunks,
        chunk_vectors=chunk_vectors,
        sentences=sentences,
        sentence_vectors=sentence_vectors,
        chunk_sentences=chunk_sentences,
        dense=dense if dense is not None else make_dense_index(chunk_vectors, index_type),
        sentence_dense=(
            sentence_dense if sentence_dense is not None
            else make_dense_index(sentence_vectors, index_type)
        ),
        sentence_chunk=np.array(
            [c for c, ids in enumerate(chunk_sentences) for _ in ids], dtype=np.int64
        ),
        sparse=sparse,
        tokenizer=tokenizer,
        sentence_terms=sentence_terms,
        idf=inverse_document_frequencies(sentence_terms),
    )


def _width(vectors: dict[str, DocVectors]) -> int:
    for v in vectors.values():
        if v.chunks.ndim == 2:
            return int(v.chunks.shape[1])
    raise ValueError("no vectors to read the dimension from: pass the encoder's dimension")


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


# --- persistence ---------------------------------------------------------------------------

_DOCS_FILE = "documents.msgpack"
_VECTORS_FILE = "vectors.npz"
_DENSE_FILE = "dense.faiss"
_SENTENCE_DENSE_FILE = "sentences.faiss"
_MANIFEST_FILE = "manifest.json"
_CHECKED_FILES = (_DOCS_FILE, _VECTORS_FILE, _DENSE_FILE, _SENTENCE_DENSE_FILE)


def save_snapshot(snapshot: CorpusIndex, data_dir: Path) -> Path:
    """Write the snapshot to a new version directory and atomically make it current."""
    data_dir.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp = data_dir / f".tmp-{name}"
    tmp.mkdir()
    ordered = list(snapshot.processed.values())
    _write_bytes(tmp / _DOCS_FILE, msgspec.msgpack.encode(ordered))
    arrays: dict[str, np.ndarray] = {}
    for i, p in enumerate(ordered):
        v = snapshot.vectors[p.document.doc_id]
        arrays[f"c{i}"], arrays[f"s{i}"] = v.chunks, v.sentences
    with open(tmp / _VECTORS_FILE, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
        fh.flush()
        os.fsync(fh.fileno())
    faiss.write_index(snapshot.dense, str(tmp / _DENSE_FILE))
    faiss.write_index(snapshot.sentence_dense, str(tmp / _SENTENCE_DENSE_FILE))
    _fsync_path(tmp / _SENTENCE_DENSE_FILE)
    _fsync_path(tmp / _DENSE_FILE)
    checksums = {name: _sha256(tmp / name) for name in _CHECKED_FILES}
    manifest = msgspec.structs.replace(snapshot.manifest, checksums=checksums)
    # the manifest is written last: a version directory without it was never finished
    _write_bytes(tmp / _MANIFEST_FILE, msgspec.json.format(msgspec.json.encode(manifest)))
    _fsync_path(tmp)
    final = data_dir / name
    os.replace(tmp, final)
    pointer = data_dir / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    _write_bytes(pointer, name.encode())
    os.replace(pointer, data_dir / CURRENT)
    _fsync_path(data_dir)
    _remove_stale_versions(data_dir, keep=name)
    return final


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, manifest: IndexManifest) -> None:
    """IndexCorrupt naming ``path`` when its bytes are not those the manifest recorded."""
    expected = manifest.checksums.get(path.name)
    if expected is None:
        return  # written before checksums were recorded
    try:
        found = _sha256(path)
    except OSError as exc:
        raise IndexCorrupt(f"Cannot read {path}: {exc}. {FIX}") from exc
    if found != expected:
        raise IndexCorrupt(f"{path} is corrupted (its checksum differs from the manifest's). {FIX}")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_versions(data_dir: Path, keep: str) -> None:
    for entry in data_dir.iterdir():
        if entry.name.startswith(f".{CURRENT}.") and entry.is_file():  # a pointer a crash left behind
            entry.unlink(missing_ok=True)
        if entry.name == keep or not entry.name.startswith(("v-", ".tmp-v-")):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def current_version(data_dir: Path) -> Path:
    """The live version directory, or IndexNotFound."""
    pointer = data_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(f"No index in {data_dir}/. {FIX}")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"Cannot read {pointer}: {exc}. {FIX}") from exc
    version = data_dir / name
    if not name or "/" in name or not version.is_dir():
        raise IndexCorrupt(f"{pointer} names {name!r}, which is missing. {FIX}")
    return version


def read_manifest(data_dir: Path) -> IndexManifest:
    """The manifest of the live index (IndexProblem if missing or unreadable)."""
    path = current_version(data_dir) / _MANIFEST_FILE
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"Cannot read {path}: {exc}. {FIX}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise IndexIncompatible(
            f"The index in {data_dir}/ has format {found!r}; this version reads format "
            f"{FORMAT_VERSION}. {FIX}"
        )
    try:
        return msgspec.convert(raw, IndexManifest)
    except msgspec.ValidationError as exc:
        raise IndexCorrupt(f"{path} is not a valid manifest ({exc}). {FIX}") from exc


def load_snapshot(data_dir: Path, *, model: str) -> CorpusIndex:
    """Load the live index, checking format, embedding model and every file's integrity."""
    manifest = read_manifest(data_dir)
    if manifest.model != model:
        raise IndexIncompatible(
            f"The index in {data_dir}/ was built with the embedding model {manifest.model!r}, "
            f"but this service uses {model!r}. {FIX}"
        )
    version = current_version(data_dir)
    docs_path, vectors_path = version / _DOCS_FILE, version / _VECTORS_FILE
    for name in _CHECKED_FILES:
        _verify(version / name, manifest)
    try:
        processed = msgspec.msgpack.decode(docs_path.read_bytes(), type=list[ProcessedDocument])
    except (OSError, UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise IndexCorrupt(f"{docs_path} is unreadable or truncated ({exc}). {FIX}") from exc
    try:
        with open(vectors_path, "rb") as fh, np.load(fh) as npz:
            vectors = {
                p.document.doc_id: DocVectors(chunks=npz[f"c{i}"], sentences=npz[f"s{i}"])
                for i, p in enumerate(processed)
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise IndexCorrupt(f"{vectors_path} is unreadable or truncated ({exc}). {FIX}") from exc
    dense = _read_faiss(version / _DENSE_FILE, manifest.chunks)
    sentence_dense = _read_faiss(version / _SENTENCE_DENSE_FILE, manifest.sentences)
    try:
        snapshot = build_snapshot(
            processed, vectors, model=manifest.model, index_type=manifest.index_type, dense=dense,
            sentence_dense=sentence_dense,
        )
    except ValueError as exc:
        raise IndexCorrupt(f"{version} is inconsistent ({exc}). {FIX}") from exc
    if snapshot.manifest.fingerprint != manifest.fingerprint:
        raise IndexCorrupt(f"{docs_path} does not match its manifest's fingerprint. {FIX}")
    return replace(snapshot, manifest=manifest)


def _read_faiss(path: Path, expected: int) -> faiss.Index:
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorrupt(f"{path} is unreadable or truncated. {FIX}") from exc
    if index.ntotal != expected:
        raise IndexCorrupt(f"{path} holds {index.ntotal} vectors, not {expected}. {FIX}")
    return index
