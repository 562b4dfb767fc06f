"""The fast read path gives what the plain one gives: shared IDF, first stored chunks, visible text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from embeddings.store import IndexedDocument, open_store
from embeddings.store._base import idf_from_counts
from qa.question import one_name_each, parse_question
from qa.reader import anchors_of, matched, visible
from qa.retrieve import first_stored, retrieve
from qa.settings import RetrievalSettings
from tests.fakes import FakeEncoder
from tests.test_store_conformance import ALPHA, BETA, DIM, MODEL, make_doc

GAMMA = make_doc("gamma", ["Konna lies on the river.", "Rebels left the town.", "Troops arrived."], 3)


def _expected_idf(store: object) -> dict[str, float]:
    db = store._db  # type: ignore[attr-defined]
    n = int(db.execute("SELECT value FROM meta WHERE name = 'sentences'").fetchone()[0])
    return idf_from_counts(dict(db.execute("SELECT term, df FROM terms").fetchall()), n)


def test_views_share_one_idf_per_store_version(tmp_path: Path) -> None:
    store = open_store("", data_dir=tmp_path, model=MODEL, dim=DIM)
    store.upsert([ALPHA, BETA])
    first, second = store.view(), store.view()  # type: ignore[attr-defined]
    assert first.term_idf() is second.term_idf()
    assert first.term_idf() == _expected_idf(store)
    store.upsert([GAMMA])
    after = store.view()  # type: ignore[attr-defined]
    assert after.term_idf() == _expected_idf(store) != first.term_idf()
    assert first.term_idf() != after.term_idf()  # an older view keeps its own version's IDF
    store.close()


def test_first_stored_is_the_prefix_of_every_stored_chunk(tmp_path: Path) -> None:
    store = open_store("", data_dir=tmp_path, model=MODEL, dim=DIM)
    store.upsert([ALPHA, BETA, GAMMA])
    keys = [c.key for doc in ("gamma", "alpha", "beta") for c in store.chunks_of(doc)]
    keys.insert(1, max(keys) + 50)  # a key no longer stored is skipped, as chunks() skips it
    for n in range(1, len(keys) + 2):
        want = [c.key for c in store.chunks(keys)[:n]]
        assert [c.key for c in first_stored(store, keys, n)] == want
    store.close()


def test_stored_sentence_terms_are_each_sentence_s_content_terms(tmp_path: Path) -> None:
    store = open_store("", data_dir=tmp_path, model=MODEL, dim=DIM)
    store.upsert([ALPHA])
    (stored, *_) = store.chunks_of("alpha")
    assert stored.sentence_terms == (frozenset({"rebel", "seiz", "town", "konna", "thursday"}),)
    store.close()


def test_visible_drops_only_format_characters() -> None:
    assert visible("Quill\u200bmere\u00ad and\ufeff Konna") == "Quillmere and Konna"
    text = "Plain text, “quoted” — and 5 €."
    assert visible(text) is text
    assert matched(anchors_of("What did Quillmere do?"), "Quill\u200bmere opened a crossing.")


WIDE = 64  # hashed terms seldom collide


def _hashed_doc(doc_id: str, sentences: list[str]) -> IndexedDocument:
    """A document of one sentence per chunk, embedded by the fake encoder (texts sharing words are close)."""
    doc = make_doc(doc_id, sentences, 0)
    vectors = FakeEncoder(WIDE).encode(sentences)
    return dataclasses.replace(doc, chunk_vectors=vectors, sentence_vectors=vectors.copy())


def test_each_coordinated_name_s_own_articles_are_among_the_passages(tmp_path: Path) -> None:
    store = open_store("", data_dir=tmp_path, model=MODEL, dim=WIDE)
    france = [_hashed_doc(f"fr{i}", [f"France's finance minister spoke on plan {i}."]) for i in range(6)]
    reshuffle = "Mali's finance minister is Tieman Coulibaly, named on state radio Monday."
    mali = _hashed_doc("ml", [reshuffle])
    store.upsert([*france, mali])
    question = "Who are the finance ministers of France and Mali?"
    settings = RetrievalSettings(top_k=4, candidates=10)

    def docs(variants: tuple[str, ...]) -> set[str]:
        found = retrieve(store, FakeEncoder(WIDE), parse_question(question), 4, settings, variants=variants)
        return {p.doc_id for p in found.passages}

    assert "ml" not in docs(())
    assert "ml" in docs(one_name_each(question))
    store.close()
