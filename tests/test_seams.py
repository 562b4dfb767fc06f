"""The named seams: each Protocol, its implementations, and the fast pipeline on the fake encoder."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec
import numpy as np
import pytest

from embeddings.encoder import Encoder
from embeddings.index import sparse_tokenizer
from embeddings.store._sparse import tokenize as store_tokens
from qa.answer import ExtractiveGenerator
from qa.generator import Generator, NoReranker
from qa.question import parse_question
from qa.records import MODES, Answer, DocumentText, Passage, Question
from qa.service import FALLBACK_MODE, GENERATORS, ModeEntry
from qa.text import MARKER, content_terms, stemmer
from qa.verify import invariant_violations

QUESTIONS = [
    "Who took Konna and when?",
    "How many Senegalese soldiers arrived in Bamako?",
    "Which countries offered France logistical help?",
    "How far is Niono from Diabaly?",
    "What is the population of Timbuktu?",
]


def check_encoder(encoder: Encoder) -> None:
    """The Encoder contract: (n, dimension) float32 unit rows, the same text the same vector."""
    texts = ["French troops took Konna.", "Rain is forecast.", "French troops took Konna."]
    vectors = encoder.encode(texts)
    assert isinstance(encoder.name, str) and encoder.name
    assert vectors.shape == (3, encoder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.allclose(vectors[0], vectors[2], atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.99
    assert encoder.encode(["one text"]).shape == (1, encoder.dimension)


def test_the_fake_encoder_keeps_the_encoder_contract(fake_encoder):
    check_encoder(fake_encoder)


@pytest.mark.slow
def test_the_real_encoder_keeps_the_encoder_contract(encoder):
    check_encoder(encoder)


def test_the_index_takes_its_dimension_from_the_encoder(fake_index, fake_encoder):
    assert fake_encoder.dimension != 384
    stored = fake_index.get(fake_index.summaries()[0].document.doc_id)
    assert stored is not None
    assert stored.chunk_vectors.shape[1] == fake_encoder.dimension
    assert stored.sentence_vectors.shape[1] == fake_encoder.dimension
    assert fake_index.search_dense(fake_encoder.encode(["Konna"])[0], 3)


def test_bm25_and_term_weights_stem_alike():
    tokenizer = sparse_tokenizer()
    tokenizer.tokenize(["Offensives launched against troops"], return_as="ids", show_progress=False)
    assert set(content_terms("Offensives launched against troops")) <= set(tokenizer.get_vocab_dict())
    assert tokenizer.stemmer.__self__ is stemmer()  # one stemmer object, not a second factory
    text = "Offensives launched against troops"
    assert set(content_terms(text)) <= set(store_tokens(text))  # the store's BM25 stems alike too


def test_every_mode_has_one_generator_and_the_fallback_is_always_configured(fake_service):
    assert set(GENERATORS) == set(MODES)
    assert GENERATORS[FALLBACK_MODE].unavailable(fake_service.settings) is None
    unavailable = {m: why for m in MODES if (why := GENERATORS[m].unavailable(fake_service.settings))}
    assert unavailable  # e.g. llm without QA_LLM_BASE_URL and no bundled model running
    for mode, why in unavailable.items():
        generator, reason = fake_service.generator(mode)
        assert generator is fake_service.generator(FALLBACK_MODE)[0]
        assert reason == why


def test_a_question_is_parsed_once_and_its_evidence_carries_it(fake_service):
    evidence = fake_service.retrieve("How many Senegalese soldiers arrived in Bamako?")
    assert evidence.parsed == parse_question("How many Senegalese soldiers arrived in Bamako?")


def test_a_compound_question_is_split_once_each_part_carrying_its_parse(fake_service):
    evidence = fake_service.retrieve("Who took Konna, and when did the French offensive begin?")
    assert [p.parsed.text for p in evidence.parts if p.parsed] == [
        "Who took Konna?", "when did the French offensive begin?"]


async def _stream(generator: Generator, question: str, evidence) -> list:
    return [e async for e in generator.stream(question, evidence)]


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_extractive_generator_streams_what_it_generates(fake_service, question):
    generator = ExtractiveGenerator()
    evidence = fake_service.retrieve(question)
    answer = asyncio.run(generator.generate(question, evidence))
    events = asyncio.run(_stream(generator, question, evidence))
    assert events[-1].event == "done" and events[-1].data == answer
    assert "".join(e.data["text"] for e in events if e.event == "delta") == answer.answer
    cited = [e.data for e in events if e.event == "citation"]
    assert sorted(c.marker for c in cited) == sorted(c.marker for c in answer.citations)


@pytest.mark.parametrize("question", QUESTIONS)
def test_raw_answers_on_the_fake_index_keep_the_citation_invariants(fake_service, question):
    answer, snapshot = asyncio.run(fake_service.draft(question))
    assert invariant_violations(answer, lambda d: doc.text if (doc := snapshot.document(d)) else None) == []
    assert {int(m) for m in MARKER.findall(answer.answer)} == {c.marker for c in answer.citations}


class Reversed:
    """A reranker that puts the fused order upside down."""

    def __init__(self) -> None:
        self.seen: list[Passage] = []

    def rerank(self, question: Question, passages: Sequence[Passage]) -> list[Passage]:
        self.seen = list(passages)
        return list(reversed(passages))


def test_the_reranker_sits_between_fusion_and_sentence_scoring(fake_service):
    question = "How many Senegalese soldiers arrived in Bamako?"
    fused = fake_service.retrieve(question, 3)
    reranker = Reversed()
    fake_service.reranker = reranker
    reranked = fake_service.retrieve(question, 3)
    assert len(reranker.seen) > 3  # it sees every fused candidate, not only the kept ones
    assert [p.score for p in reranker.seen] == sorted((p.score for p in reranker.seen), reverse=True)
    assert list(reranked.passages) == list(reversed(reranker.seen))[:3]
    assert reranked.passages != fused.passages
    assert {s.passage for s in reranked.sentences} <= {0, 1, 2}


def test_no_reranker_keeps_the_fused_order():
    passages = [Passage(doc_id=str(i), title="t", source=None, published=None, text="x", start=0,
                        end=1, score=1.0 / (i + 1)) for i in range(3)]
    assert NoReranker().rerank(parse_question("why?"), passages) == passages


def test_the_api_returns_a_document_record_not_the_storage_record(fake_service, fake_index):
    doc_id = fake_index.summaries()[0].document.doc_id
    record = fake_service.document(doc_id)
    assert isinstance(record, DocumentText)
    stored = fake_index.document(doc_id)
    as_json = msgspec.json.encode
    assert msgspec.json.decode(as_json(record)) == msgspec.json.decode(as_json(stored))


def test_a_mode_comes_from_the_registry(fake_service, monkeypatch):
    class Fixed:
        async def generate(self, question, evidence) -> Answer:
            return Answer(question=question, answer="fixed", abstained=True, citations=[],
                          mode=FALLBACK_MODE)

        async def stream(self, question, evidence):
            yield await self.generate(question, evidence)

    monkeypatch.setitem(GENERATORS, FALLBACK_MODE, ModeEntry(make=lambda service: Fixed()))
    assert fake_service.ask_sync("Who took Konna?", mode=FALLBACK_MODE).answer == "fixed"


def test_encoder_and_mode_settings_come_from_the_environment():
    from pathlib import Path

    from qa.settings import Settings

    settings = Settings.from_env({"QA_ENCODER_BACKEND": "torch", "QA_MODEL_CACHE": "/tmp/models"})
    assert settings.index.encoder_backend == "torch"
    assert settings.index.model_cache == Path("/tmp/models")
    assert Settings.from_env({}).index.model_cache is None
    with pytest.raises(ValueError, match=", ".join(MODES)):
        Settings.from_env({"QA_MODE": "magic"})
