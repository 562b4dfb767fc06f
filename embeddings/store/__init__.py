"""The store seam: one Protocol, an embedded default (SQLite + FAISS + BM25) and Milvus, by URI."""

from __future__ import annotations

from pathlib import Path

from embeddings.store._base import (
    SENTENCE_SLOTS,
    DocumentSummary,
    IndexedDocument,
    Store,
    StoredChunk,
    fuse,
)

__all__ = [
    "SENTENCE_SLOTS",
    "DocumentSummary",
    "IndexedDocument",
    "Store",
    "StoredChunk",
    "fuse",
    "open_store",
]


def open_store(uri: str, *, data_dir: Path, model: str, dim: int) -> Store:
    """Open the store a URI names: "" or "embedded" (``data_dir``/store), ``embedded:///path``,
    ``milvus:///path/file.db`` (milvus-lite), or ``http(s)://host:19530`` (a Milvus cluster)."""
    if uri in ("", "embedded"):
        from embeddings.store._embedded import EmbeddedStore

        return EmbeddedStore(data_dir / "store", model=model, dim=dim)
    if uri.startswith("embedded://"):
        from embeddings.store._embedded import EmbeddedStore

        return EmbeddedStore(Path(uri.removeprefix("embedded://")), model=model, dim=dim)
    if uri.startswith(("milvus://", "http://", "https://")):
        from embeddings.store._milvus import MilvusStore

        return MilvusStore(uri, model=model, dim=dim)
    raise ValueError(f"QA_STORE={uri!r}: use embedded, embedded:///path, milvus:///file.db or http://host:19530")
