"""Writing documents into the store: process, embed, judge near-duplicates, upsert."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from embeddings.build import embed_documents
from embeddings.chunking import load_nlp, process_all
from embeddings.encoder import Encoder
from embeddings.records import Document, ProcessedDocument
from embeddings.store import IndexedDocument, Store
from qa.dedupe import find_copy

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH = 64  # documents processed and embedded together


def index_documents(
    store: Store, encoder: Encoder, documents: Sequence[Document], progress: Progress | None = None,
    stages: dict[str, float] | None = None,
) -> int:
    """Write ``documents`` the store does not already hold as they are; the number written."""
    held = {s.document.doc_id: s.document for s in store.summaries()}
    todo = [d for d in documents if held.get(d.doc_id) != d]
    stages = {} if stages is None else stages
    nlp = load_nlp() if todo else None
    batches = [todo[first:first + BATCH] for first in range(0, len(todo), BATCH)]
    # While the encoder embeds one batch, the next is cleaned, split and tagged on one thread and
    # the one before is judged and stored on another (in order: a document can only copy one
    # stored before it). The encoder releases the GIL; spaCy and the store mostly hold it.
    with ThreadPoolExecutor(1) as tagger, ThreadPoolExecutor(1) as writer:
        ahead = tagger.submit(_processed, encoder, batches[0], nlp, stages) if batches else None
        written: Future[list[IndexedDocument]] | None = None
        stored = 0

        def wait_for_written() -> None:
            nonlocal stored
            if written is not None:
                stored += len(written.result())
                if progress:
                    progress("index", stored, len(todo))

        for done in range(len(batches)):
            assert ahead is not None
            processed = ahead.result()
            if done + 1 < len(batches):
                ahead = tagger.submit(_processed, encoder, batches[done + 1], nlp, stages)
            embedded = _embedded(encoder, processed, stages)
            wait_for_written()
            written = writer.submit(_judged_and_stored, store, embedded, stages)
        wait_for_written()
    return len(todo)


def write_batch(
    store: Store, encoder: Encoder, batch: Sequence[Document], nlp: object | None = None,
    stages: dict[str, float] | None = None,
) -> list[IndexedDocument]:
    """Process, embed and upsert a batch; then judge each against the earlier ones (and re-write copies)."""
    stages = {} if stages is None else stages
    processed = _processed(encoder, batch, nlp or load_nlp(), stages)
    return _judged_and_stored(store, _embedded(encoder, processed, stages), stages)


@contextmanager
def _timed(stages: dict[str, float], stage: str) -> Iterator[None]:
    """Adds the time spent in the block to ``stages[stage]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - began


def _processed(
    encoder: Encoder, batch: Sequence[Document], nlp: object, stages: dict[str, float]
) -> list[ProcessedDocument]:
    return process_all(batch, encoder, nlp, stages=stages)  # type: ignore[arg-type]


def _embedded(
    encoder: Encoder, processed: list[ProcessedDocument], stages: dict[str, float]
) -> list[IndexedDocument]:
    with _timed(stages, "embed"):
        vectors = embed_documents(processed, encoder)
        return [
            IndexedDocument(processed=p, chunk_vectors=vectors[p.document.doc_id].chunks,
                            sentence_vectors=vectors[p.document.doc_id].sentences)
            for p in processed
        ]


def _judged_and_stored(
    store: Store, docs: list[IndexedDocument], stages: dict[str, float]
) -> list[IndexedDocument]:
    with _timed(stages, "store"):
        judged: list[IndexedDocument] = []
        for doc in docs:  # in order: a document can only copy one written before it
            judged.append(find_copy(store, doc, judged))
        store.upsert(judged)
        return judged


def import_snapshot(store: Store, data_dir: Path, model: str) -> int:
    """Move the documents of a snapshot written by an earlier version (``data_dir/CURRENT``) into an
    empty store, vectors and all (nothing is re-embedded); the number moved."""
    from embeddings.index import CURRENT, load_snapshot

    if store.count() or not (data_dir / CURRENT).is_file():
        return 0
    snapshot = load_snapshot(data_dir, model=model)
    judged: list[IndexedDocument] = []
    for doc_id, processed in snapshot.processed.items():
        vectors = snapshot.vectors[doc_id]
        doc = IndexedDocument(processed=processed, chunk_vectors=vectors.chunks,
                              sentence_vectors=vectors.sentences)
        judged.append(find_copy(store, doc, judged[-BATCH:]))
    store.upsert(judged)
    return len(judged)


def delete_document(store: Store, doc_id: str) -> bool:
    """Remove a document; its copies are judged again (the original they repeat is gone)."""
    if not store.delete(doc_id):
        return False
    orphans = [s.document.doc_id for s in store.summaries() if s.copy_of == doc_id]
    for orphan in orphans:
        doc = store.get(orphan)
        if doc is not None:
            store.upsert([find_copy(store, dataclasses.replace(doc, copy_of=None, copied=frozenset()))])
    return True
