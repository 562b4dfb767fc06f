"""Ingest batched across documents and run on threads writes what one document at a time writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.chunking import load_nlp, parse_all, process_document
from embeddings.documents import load_documents
from embeddings.injection import find_injections
from embeddings.records import Document
from embeddings.store import open_store
from qa import writer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return load_documents(SEEDS)


def test_documents_tagged_together_are_tagged_as_one_at_a_time(docs: list[Document]) -> None:
    nlp = load_nlp()
    dropped_of = [find_injections(doc) for doc in docs]
    for doc, dropped, parsed in zip(docs, dropped_of, parse_all(docs, dropped_of, nlp), strict=True):
        assert process_document(doc, dropped, nlp, parsed=parsed) == process_document(doc, dropped, nlp)


def test_pipelined_index_writes_what_one_batch_at_a_time_writes(
    docs: list[Document], fake_encoder: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a copy of the first article in a later batch: judging must see the batches stored before it
    copy = Document(doc_id="zz-copy", title="Copy", source="S", text=docs[0].text)
    corpus = [*docs, copy]
    monkeypatch.setattr(writer, "BATCH", 2)
    piped = open_store("", data_dir=tmp_path / "piped", model="fake", dim=fake_encoder.dimension)  # type: ignore[attr-defined]
    plain = open_store("", data_dir=tmp_path / "plain", model="fake", dim=fake_encoder.dimension)  # type: ignore[attr-defined]
    seen: list[int] = []
    assert writer.index_documents(piped, fake_encoder, corpus, progress=lambda _, n, __: seen.append(n)) == 6  # type: ignore[arg-type]
    for first in range(0, len(corpus), 2):
        writer.write_batch(plain, fake_encoder, corpus[first:first + 2])  # type: ignore[arg-type]
    assert seen == [2, 4, 6]
    assert [s.document.doc_id for s in piped.summaries()] == [d.doc_id for d in corpus]
    for doc in corpus:
        a, b = piped.get(doc.doc_id), plain.get(doc.doc_id)
        assert a is not None and b is not None
        assert (a.processed, a.copy_of, a.copied) == (b.processed, b.copy_of, b.copied)
        np.testing.assert_array_equal(a.sentence_vectors, b.sentence_vectors)
    copied = piped.get("zz-copy")
    assert copied is not None and copied.copy_of == docs[0].doc_id
    piped.close()
    plain.close()
