"""The core pipeline end to end: real spaCy, real model, real FAISS and BM25 over the seed articles."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from qa.errors import IndexIncompatible, IndexNotFound, InvalidQuestion
from qa.records import Answer
from qa.settings import IndexSettings
from qa.verify import MARKER, invariant_violations

ANSWERABLE = [
    "Who took Konna and when?",
    "When did the French offensive begin?",
    "How many Senegalese soldiers arrived in Bamako?",
    "Which countries offered France logistical help?",
    "Who claimed responsibility for the attack in central Nigeria?",
    "How far is Niono from Diabaly?",
    "What did EU foreign ministers approve on Thursday?",
    "How much would an African offensive cost?",
    "What are the four missions of the French forces?",
    "How many French troops are in Mali?",
    "When did France increase its troop strength to 1,400?",
    "Are the French hostages alive?",
]
UNANSWERABLE = [
    "What is the population of Timbuktu?",
    "How do I unsubscribe from the newsletter?",
    "How much will Hyundai invest in Malaysia?",
    "What did China say about a trade war?",
    "Who won the 2012 US presidential election?",
    "How many civilians died in Gao?",
]


def assert_invariants(answer: Answer, service) -> None:
    problems = invariant_violations(answer, lambda d: service.document(d).text)
    assert problems == []


@pytest.mark.parametrize("question", ANSWERABLE + UNANSWERABLE)
def test_citation_invariants_hold_for_every_answer(seed_service, question):
    # the generator's own output: ask() would have turned a broken answer into an abstention
    answer, _ = asyncio.run(seed_service.draft(question))
    assert_invariants(answer, seed_service)
    for c in answer.citations:
        assert seed_service.document(c.doc_id).text[c.start:c.end] == c.quote
    used = {int(m) for m in MARKER.findall(answer.answer)}
    assert used == {c.marker for c in answer.citations}


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answerable_questions_are_answered_with_citations(seed_service, question):
    answer = seed_service.ask_sync(question)
    assert not answer.abstained, answer
    assert answer.citations
    assert answer.mode == "extractive"


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_questions_abstain_plainly(seed_service, question):
    answer = seed_service.ask_sync(question)
    assert answer.abstained, answer.answer
    assert answer.citations == []
    assert "don't answer" in answer.answer


def test_konna_answer_names_the_islamists_and_the_date(seed_service):
    answer = seed_service.ask_sync("Who took Konna and when?")
    assert "Islamists" in answer.answer
    assert "January 10" in answer.answer or "10 January" in answer.answer
    assert any("Konna" in c.quote and "Islamists" in c.quote for c in answer.citations)
    assert answer.short_answer and "Islamists" in answer.short_answer


def test_conflicting_troop_figures_are_each_given_with_source_and_date(seed_service):
    answer = seed_service.ask_sync("How many French troops are in Mali?")
    figures = [f for f in ("1,400", "2,000", "2,300", "1,800") if f in answer.answer]
    assert len(figures) >= 2, answer.answer
    assert len({c.doc_id for c in answer.citations}) >= 2
    assert "According to" in answer.answer


def test_relative_dates_are_resolved_against_publication(seed_service):
    answer = seed_service.ask_sync("When did France increase its troop strength to 1,400?")
    assert "17 January 2013" in answer.answer
    assert answer.short_answer and "17 January 2013" in answer.short_answer


def test_list_questions_cite_every_item(seed_service):
    answer = seed_service.ask_sync("What are the four missions of the French forces?")
    quotes = " ".join(c.quote for c in answer.citations)
    for item in ("stop the progression", "terrorist base", "security in Bamako", "Malian forces"):
        assert item in quotes, item


def test_page_furniture_is_never_cited(seed_service):
    furniture = [
        (d.doc_id, d.start, d.end)
        for summary in seed_service.store.summaries() for d in summary.dropped
    ]
    assert furniture, "the seeds contain furniture that must be dropped"
    questions = ANSWERABLE + UNANSWERABLE + [
        "What did Trump threaten China with?",
        "Who directed the film C4Cinta?",
        "What newsletters can I sign up for?",
        "What does the image caption say about French forces?",
    ]
    for q in questions:
        for c in seed_service.ask_sync(q).citations:
            for doc_id, start, end in furniture:
                assert not (c.doc_id == doc_id and c.start < end and start < c.end), (q, c)


def test_bad_questions_are_refused_with_a_reason(seed_service):
    with pytest.raises(InvalidQuestion, match="empty"):
        seed_service.ask_sync("   ")
    with pytest.raises(InvalidQuestion, match="1000"):
        seed_service.ask_sync("why " * 300)
    with pytest.raises(InvalidQuestion, match="top_k"):
        seed_service.ask_sync("Who took Konna?", top_k=0)


def test_store_persists_and_reopens_identically(seed_settings, seed_index, encoder):
    from qa.service import open_settings_store

    reopened = open_settings_store(seed_settings, encoder)
    try:
        assert [s.document for s in reopened.summaries()] == [s.document for s in seed_index.summaries()]
        query = encoder.encode_one("Who took Konna?")
        assert reopened.search_dense(query, 10) == seed_index.search_dense(query, 10)
        words = "Konna Islamists"
        assert reopened.search_sparse(words, 10) == seed_index.search_sparse(words, 10)
    finally:
        reopened.close()


def test_a_store_built_by_another_model_is_refused_with_the_fix(seed_settings, seed_index):
    from embeddings.store import open_store

    with pytest.raises(IndexIncompatible, match="qa index"):
        open_store("", data_dir=seed_settings.index.data_dir, model="some-other/model", dim=384)


def test_a_missing_store_gives_a_clear_error(tmp_path, encoder):
    from qa.service import QAService
    from qa.settings import Settings

    with pytest.raises(IndexNotFound, match="qa index"):
        QAService.open(replace(Settings(), index=IndexSettings(data_dir=tmp_path / "nothing")), encoder)


def test_a_failed_write_leaves_the_store_as_it_was(fresh_service):
    from embeddings.store import IndexedDocument

    store = fresh_service.store
    before = [s.document for s in store.summaries()]
    good = store.get(before[0].doc_id)
    assert good is not None
    broken = IndexedDocument(processed=good.processed, chunk_vectors=good.chunk_vectors[:0],
                             sentence_vectors=good.sentence_vectors)
    with pytest.raises(IndexError):
        store.upsert([broken])  # its first chunk has no vector: the write fails half-way
    assert [s.document for s in store.summaries()] == before
    assert len(store.chunks_of(before[0].doc_id)) == len(good.processed.chunks)


def test_one_document_add_and_delete_touch_only_that_document(fresh_service):
    from qa.records import NewDocument

    store = fresh_service.store
    keys_before = {c.key for s in store.summaries() for c in store.chunks_of(s.document.doc_id)}
    fresh_service.add_document(NewDocument(doc_id="one", text="The Kidal airstrip was repaired on Monday."))
    keys_after = {c.key for s in store.summaries() for c in store.chunks_of(s.document.doc_id)}
    assert keys_before < keys_after  # nothing else was re-written
    fresh_service.delete_document("one")
    assert {c.key for s in store.summaries() for c in store.chunks_of(s.document.doc_id)} == keys_before


def test_documents_can_be_added_and_deleted(fresh_service):
    from qa.records import NewDocument

    info = fresh_service.add_document(NewDocument(
        doc_id="zz-test", title="Bamako water", published="2013-01-25",
        text="Bamako's water utility said on Friday that 12 new wells had been dug in the city.",
    ))
    assert info.chunks == 1
    answer = fresh_service.ask_sync("How many new wells were dug in Bamako?")
    assert not answer.abstained and "12" in answer.answer
    assert answer.citations[0].doc_id == "zz-test"
    reopened = type(fresh_service).open(fresh_service.settings, fresh_service.encoder)
    assert reopened.document("zz-test").title == "Bamako water"
    fresh_service.delete_document("zz-test")
    assert fresh_service.ask_sync("How many new wells were dug in Bamako?").abstained
    reopened = type(fresh_service).open(fresh_service.settings, fresh_service.encoder)
    assert "zz-test" not in {d.doc_id for d in reopened.documents()}


@pytest.mark.slow
def test_cli_index_and_ask(tmp_path):
    env = {"QA_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parent.parent
    run = [sys.executable, "-m", "qa.cli"]
    out = subprocess.run([*run, "index", "--show-dropped"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Indexed 5 documents" in out.stdout and "off-topic" in out.stdout
    out = subprocess.run([*run, "ask", "--json", "Who took Konna and when?"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    answer = msgspec.json.decode(out.stdout, type=Answer)
    assert not answer.abstained and "Islamists" in answer.answer
    out = subprocess.run([*run, "ask", "Who took Konna and when?"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert "Sources:" in out.stdout and "[1]" in out.stdout
    # the CLI reports index problems without a traceback
    out = subprocess.run([*run, "ask", "anything"], cwd=root,
                         env={**env, "QA_DATA_DIR": str(tmp_path / "none")},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "qa index" in out.stderr and "Traceback" not in out.stderr
