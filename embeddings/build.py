"""From documents to a corpus snapshot: clean, split, tag, embed, index (the heavy work, done once)."""

from __future__ import annotations

from collections.abc import Callable

from embeddings.chunking import load_nlp, process_all
from embeddings.encoder import Encoder
from embeddings.index import CorpusIndex, DocVectors, build_snapshot
from embeddings.records import Document, ProcessedDocument

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def embed_documents(
    processed: list[ProcessedDocument], encoder: Encoder, progress: Progress | None = None
) -> dict[str, DocVectors]:
    """Embed every chunk and sentence, in large batches, and split the vectors per document."""
    chunk_texts = [c.text for p in processed for c in p.chunks]
    sentence_texts = [s.text for p in processed for c in p.chunks for s in c.sentences]
    if progress:
        progress("embed", 0, len(chunk_texts) + len(sentence_texts))
    chunk_vectors = encoder.encode(chunk_texts)
    if progress:
        progress("embed", len(chunk_texts), len(chunk_texts) + len(sentence_texts))
    sentence_vectors = encoder.encode(sentence_texts)
    if progress:
        progress("embed", len(chunk_texts) + len(sentence_texts), len(chunk_texts) + len(sentence_texts))
    out: dict[str, DocVectors] = {}
    ci = si = 0
    for p in processed:
        n_chunks = len(p.chunks)
        n_sentences = sum(len(c.sentences) for c in p.chunks)
        out[p.document.doc_id] = DocVectors(
            chunks=chunk_vectors[ci:ci + n_chunks], sentences=sentence_vectors[si:si + n_sentences]
        )
        ci, si = ci + n_chunks, si + n_sentences
    return out


def build_index(
    documents: list[Document],
    encoder: Encoder,
    *,
    index_type: str = "auto",
    progress: Progress | None = None,
    base: CorpusIndex | None = None,
) -> CorpusIndex:
    """Process and embed ``documents`` and index them, reusing ``base``'s other documents as they are."""
    nlp = load_nlp()
    processed = process_all(
        documents, encoder, nlp,
        progress=(lambda done, total: progress("clean+split", done, total)) if progress else None,
    )
    vectors = embed_documents(processed, encoder, progress)
    if base is not None:
        new_ids = {p.document.doc_id for p in processed}
        kept = [p for doc_id, p in base.processed.items() if doc_id not in new_ids]
        vectors = {**{p.document.doc_id: base.vectors[p.document.doc_id] for p in kept}, **vectors}
        processed = kept + processed
    return build_snapshot(
        processed, vectors, model=encoder.name, index_type=index_type, dimension=encoder.dimension
    )


def without_document(index: CorpusIndex, doc_id: str) -> CorpusIndex:
    """A new snapshot with one document removed (nothing is re-embedded)."""
    processed = [p for k, p in index.processed.items() if k != doc_id]
    vectors = {k: v for k, v in index.vectors.items() if k != doc_id}
    return build_snapshot(
        processed, vectors, model=index.manifest.model, index_type=index.manifest.index_type,
        dimension=index.chunk_vectors.shape[1],
    )
