"""One conformance suite for every store: the embedded default and Milvus (milvus-lite)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from embeddings.records import Chunk, Document, DroppedSpan, ProcessedDocument, Sentence
from embeddings.store import SENTENCE_SLOTS, IndexedDocument, Store, open_store
from qa.errors import IndexIncompatible

DIM = 8
MODEL = "fake-model"
STORES = ["embedded", "milvus"]


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def make_doc(doc_id: str, sentences: list[str], seed: int, *, copied: frozenset[int] = frozenset(),
             copy_of: str | None = None, title: str = "T") -> IndexedDocument:
    """A document of one sentence per chunk, with deterministic unit vectors."""
    text = " ".join(sentences)
    chunks = []
    start = 0
    for s in sentences:
        sentence = Sentence(doc_id=doc_id, start=start, end=start + len(s), text=s)
        chunks.append(Chunk(doc_id=doc_id, start=start, end=start + len(s), text=s, sentences=(sentence,)))
        start += len(s) + 1
    vectors = np.vstack([_unit(seed * 100 + i) for i in range(len(sentences))])
    return IndexedDocument(
        processed=ProcessedDocument(
            document=Document(doc_id=doc_id, title=title, source="S", published="2024-01-02", text=text),
            dropped=(), chunks=tuple(chunks),
        ),
        chunk_vectors=vectors, sentence_vectors=vectors.copy(), copy_of=copy_of, copied=copied,
    )


def uri_for(kind: str, tmp: Path) -> str:
    return f"embedded://{tmp / 'store'}" if kind == "embedded" else f"milvus://{tmp / 'milvus.db'}"


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(uri_for(request.param, tmp_path), data_dir=tmp_path, model=MODEL, dim=DIM)
    yield opened
    opened.close()


ALPHA = make_doc("alpha", ["Rebels seized the town of Konna on Thursday.", "Troops were running north."], 1)
BETA = make_doc("beta", ["The budget rose to 500 million euros.", "Ministers met in Brussels.",
                         "Officials don't say \"why\"."], 2)  # quotes must survive every store


def test_upsert_get_count_round_trip(store: Store) -> None:
    store.upsert([ALPHA, BETA])
    assert store.count() == 2
    got = store.get("alpha")
    assert got is not None
    assert got.processed == ALPHA.processed
    np.testing.assert_allclose(got.chunk_vectors, ALPHA.chunk_vectors, rtol=1e-6)
    np.testing.assert_allclose(got.sentence_vectors, ALPHA.sentence_vectors, rtol=1e-6)
    doc = store.document("beta")
    assert doc is not None and doc.text == BETA.processed.document.text
    assert [s.document.doc_id for s in store.summaries()] == ["alpha", "beta"]
    assert store.get("missing") is None and store.document("missing") is None


def test_url_author_and_injection_drops_survive_the_store(store: Store) -> None:
    document = msgspec.structs.replace(ALPHA.processed.document, url="https://news.example/konna",
                                   author="A. Writer")
    dropped = (DroppedSpan(doc_id="alpha", start=0, end=6, reason="injection", text=document.text[:6]),)
    doc = dataclasses.replace(ALPHA, processed=msgspec.structs.replace(
        ALPHA.processed, document=document, dropped=dropped))
    store.upsert([doc])
    got = store.get("alpha")
    assert got is not None and got.processed == doc.processed
    assert store.document("alpha") == document
    [summary] = store.summaries()
    assert summary.document == document and summary.dropped == dropped


def test_dense_and_sentence_search_find_the_nearest(store: Store) -> None:
    store.upsert([ALPHA, BETA])
    target = BETA.chunk_vectors[1]
    key = store.search_dense(target, 1)[0]
    [chunk] = store.chunks([key])
    assert chunk.chunk.text == "Ministers met in Brussels."
    assert (chunk.title, chunk.source, chunk.published) == ("T", "S", "2024-01-02")
    sentence = store.search_sentences(target, 1)[0]
    assert sentence // SENTENCE_SLOTS == key and sentence % SENTENCE_SLOTS == 0
    assert len(store.search_dense(target, 10)) == 5


def test_sparse_search_stems_and_needs_a_shared_term(store: Store) -> None:
    store.upsert([ALPHA, BETA])
    keys = store.search_sparse("who runs north?", 10)
    assert [c.chunk.text for c in store.chunks(keys)] == ["Troops were running north."]
    assert store.search_sparse("zebra giraffe", 10) == []


def test_hybrid_fuses_dense_and_sparse(store: Store) -> None:
    store.upsert([ALPHA, BETA])
    dense_only = BETA.chunk_vectors[0]
    keys = store.search_hybrid(dense_only, "Konna", 10)
    texts = [c.chunk.text for c in store.chunks(keys)]
    assert "The budget rose to 500 million euros." in texts
    assert "Rebels seized the town of Konna on Thursday." in texts


def test_upsert_replaces_and_delete_removes(store: Store) -> None:
    store.upsert([ALPHA, BETA])
    store.upsert([make_doc("alpha", ["A wholly new text about harvests."], 3)])
    store.refresh()
    assert store.count() == 2
    assert store.search_sparse("Konna", 10) == []
    assert [c.chunk.text for c in store.chunks(store.search_sparse("harvests", 10))] == [
        "A wholly new text about harvests."]
    assert store.delete("beta") is True
    assert store.delete("beta") is False
    store.refresh()
    assert store.count() == 1 and store.get("beta") is None
    assert store.search_sparse("Brussels", 10) == []
    assert all(c.chunk.doc_id == "alpha" for c in store.chunks(store.search_dense(BETA.chunk_vectors[0], 10)))


def test_copied_sentences_hide_chunks_and_do_not_count_for_idf(store: Store) -> None:
    copy = make_doc("copy", ["Rebels seized the town of Konna on Thursday.", "Brand new harvest figures."], 4,
                    copy_of="alpha", copied=frozenset({0}))
    store.upsert([ALPHA, copy])
    chunks = store.chunks_of("copy")
    assert [c.hidden for c in chunks] == [True, False]
    assert store.hidden([c.key for c in chunks]) == {chunks[0].key}
    assert [s.copy_of for s in store.summaries()] == [None, "alpha"]
    idf = store.term_idf()
    assert idf["konna"] == pytest.approx(np.log(1 + (3 - 1 + 0.5) / 1.5))  # 3 sentences count, 1 has it


def test_a_second_handle_sees_writes_after_refresh(store: Store, tmp_path: Path) -> None:
    store.upsert([ALPHA])
    other = open_store(store.uri, data_dir=tmp_path, model=MODEL, dim=DIM)
    try:
        assert other.count() == 1
        store.upsert([BETA])
        other.refresh()
        assert [c.chunk.doc_id for c in other.chunks(other.search_sparse("Brussels", 5))] == ["beta"]
    finally:
        other.close()


def test_a_store_refuses_another_model(store: Store, tmp_path: Path) -> None:
    store.upsert([ALPHA])
    with pytest.raises(IndexIncompatible):
        open_store(store.uri, data_dir=tmp_path, model="another-model", dim=DIM)


def test_the_embedded_store_regrows_into_ivf_and_keeps_finding_and_forgetting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embeddings.store import _embedded

    monkeypatch.setattr(_embedded, "EXACT_SEARCH_LIMIT", 100)
    store = open_store(f"embedded://{tmp_path / 'store'}", data_dir=tmp_path, model=MODEL, dim=DIM)
    docs = [make_doc(f"d{i}", [f"Sentence {i} about item {i}."] * 2, i + 10) for i in range(120)]
    store.upsert(docs)
    store.regrow()  # type: ignore[attr-defined]  # (it also runs by itself, in the background)
    assert "IVF" in type(store._dense).__name__  # type: ignore[attr-defined]
    for doc in docs[:20]:
        [chunk] = store.chunks(store.search_dense(doc.chunk_vectors[0], 1))
        assert chunk.chunk.doc_id == doc.doc_id
    store.delete("d3")
    assert all(c.chunk.doc_id != "d3" for c in store.chunks(store.search_dense(docs[3].chunk_vectors[0], 5)))
    store.close()


@pytest.mark.slow
def test_milvus_lite_gives_the_default_stores_answers(seed_service, encoder, tmp_path: Path) -> None:
    from dataclasses import replace

    from qa.service import QAService

    index = replace(seed_service.settings.index, data_dir=tmp_path, store=f"milvus://{tmp_path / 'm.db'}")
    settings = replace(seed_service.settings, index=index)
    QAService.build(settings, encoder).close()
    milvus = QAService.open(settings, encoder)
    questions = ["Who took Konna and when?", "How many Senegalese soldiers arrived in Bamako?",
                 "What did EU foreign ministers approve on Thursday?", "How far is Niono from Diabaly?",
                 "What is the population of Timbuktu?", "Which countries offered France logistical help?"]
    for question in questions:
        theirs, ours = milvus.ask_sync(question), seed_service.ask_sync(question)
        assert (theirs.answer, theirs.citations) == (ours.answer, ours.citations), question
    assert [d.doc_id for d in milvus.documents()] == [d.doc_id for d in seed_service.documents()]


def test_a_view_of_the_embedded_store_keeps_one_version(tmp_path: Path) -> None:
    store = open_store(f"embedded://{tmp_path / 'store'}", data_dir=tmp_path, model=MODEL, dim=DIM)
    store.upsert([ALPHA])
    view = store.view()
    store.upsert([make_doc("alpha", ["A wholly new text about harvests."], 3)])
    old = view.document("alpha")
    assert old is not None and old.text == ALPHA.processed.document.text
    assert [c.chunk.text for c in view.chunks_of("alpha")] == [c.text for c in ALPHA.processed.chunks]
    new = store.document("alpha")
    assert new is not None and "harvests" in new.text
    view.close()
    store.close()


def test_a_bulk_load_serves_what_one_write_at_a_time_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embeddings.store import _embedded

    monkeypatch.setattr(_embedded, "EXACT_SEARCH_LIMIT", 100)
    docs = [make_doc(f"d{i}", [f"Sentence {i} about item {i % 7} and ferry {i % 5}."] * 2, i + 10)
            for i in range(120)]
    one_by_one = open_store(f"embedded://{tmp_path / 'a'}", data_dir=tmp_path, model=MODEL, dim=DIM)
    for doc in docs:
        one_by_one.upsert([doc])
    bulk = open_store(f"embedded://{tmp_path / 'b'}", data_dir=tmp_path, model=MODEL, dim=DIM)
    assert bulk.bulk_upsert([docs[:50], docs[50:]]) == 120  # type: ignore[attr-defined]
    assert "IVF" in type(bulk._dense).__name__  # type: ignore[attr-defined]
    for query in ("item 3 ferry", "sentence 17", "ferry 4"):
        assert bulk.search_sparse(query, 10) == one_by_one.search_sparse(query, 10), query
    for doc in docs[:20]:
        [chunk] = bulk.chunks(bulk.search_dense(doc.chunk_vectors[0], 1))
        assert chunk.chunk.doc_id == doc.doc_id
    assert bulk.term_idf() == one_by_one.term_idf()
    reopened = open_store(f"embedded://{tmp_path / 'b'}", data_dir=tmp_path, model=MODEL, dim=DIM)
    assert reopened.search_sparse("item 3 ferry", 10) == bulk.search_sparse("item 3 ferry", 10)
    reopened.delete("d3")
    assert all(c.chunk.doc_id != "d3" for c in reopened.chunks(reopened.search_sparse("sentence 3", 5)))
    for store in (one_by_one, bulk, reopened):
        store.close()
