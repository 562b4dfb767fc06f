"""Each token goes through the encoder once: chunks are encoded, sentences pooled from their tokens."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.documents import load_documents
from embeddings.encoder import MiniLMEncoder, TokenVectors
from embeddings.pooling import TokenEncoder, chunk_and_sentence_vectors, sentence_vector
from embeddings.records import Chunk, Sentence
from tests.fakes import FakeEncoder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


class Recording:
    """A TokenEncoder that records every text it is asked to encode, by way of a real one."""

    def __init__(self, inner: MiniLMEncoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.encoded: list[str] = []
        self.tokenized: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode(texts)

    def encode_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        self.tokenized.extend(texts)
        return self.inner.encode_tokens(texts)


def _chunk(text: str, cuts: Sequence[int]) -> Chunk:
    bounds = [0, *cuts, len(text)]
    sentences = tuple(
        Sentence(doc_id="d", start=a + (a > 0), end=b, text=text[a + (a > 0):b])
        for a, b in itertools.pairwise(bounds)
    )
    return Chunk(doc_id="d", start=0, end=len(text), text=text, sentences=sentences)


def test_token_pass_gives_the_same_chunk_vectors_and_each_tokens_offsets(encoder) -> None:
    texts = ["Who leads the country?", "Troops entered Konna on Friday. The town had been held for a week."]
    vectors, tokens = encoder.encode_tokens(texts)
    assert np.array_equal(vectors, encoder.encode(texts))
    for text, t in zip(texts, tokens, strict=True):
        assert t.starts.tolist() == sorted(t.starts.tolist()) and int(t.ends[-1]) == len(text)
        assert len(t.vectors) == len(t.starts) < len(text)  # real tokens only: no [CLS], [SEP], padding


def test_a_sentence_is_pooled_from_its_own_tokens_in_the_chunk(encoder) -> None:
    text = "The ferry sails at dawn. It returns at dusk, the operator said."
    cut = text.index(" It")
    [tokens] = encoder.encode_tokens([text])[1]
    inside = (tokens.starts >= cut + 1) & (tokens.starts < len(text))
    expected = tokens.vectors[inside].sum(0)
    pooled = sentence_vector(tokens, cut + 1, len(text))
    assert pooled is not None and np.allclose(pooled, expected / np.linalg.norm(expected), atol=1e-6)
    direct = encoder.encode([text[cut + 1:]])[0]
    assert float(pooled @ direct) > 0.5  # the same words read in context: near, not equal
    assert sentence_vector(tokens, cut + 1, len(text) + 40) is None  # past the encoded window


def test_only_chunks_go_through_the_encoder_except_sentences_cut_off(encoder) -> None:
    recording = Recording(encoder)
    assert isinstance(recording, TokenEncoder)
    short = _chunk("The ferry sails at dawn. It returns at dusk.", [24])
    alone = _chunk("Rebels pulled back from the town.", [])
    long_text = " ".join(["Talks resumed in the capital on Monday after a week of strikes."] * 30)
    long = _chunk(long_text, [len(long_text) // 2])  # ~480 tokens: the window (256) stops in the first
    chunk_vectors, sentence_vectors = chunk_and_sentence_vectors(recording, [short, alone, long])
    assert recording.tokenized == [short.text, alone.text, long.text]
    assert recording.encoded == [long.sentences[1].text]  # only the sentence past the window
    assert np.array_equal(sentence_vectors[2], chunk_vectors[1])  # a one-sentence chunk is its own text
    assert np.allclose(sentence_vectors[4], encoder.encode([long.sentences[1].text])[0], atol=1e-6)
    assert np.allclose(np.linalg.norm(sentence_vectors, axis=1), 1.0, atol=1e-5)


def test_an_encoder_without_token_embeddings_encodes_sentences_directly() -> None:
    fake = FakeEncoder()
    chunk = _chunk("The ferry sails at dawn. It returns at dusk.", [24])
    chunk_vectors, sentence_vectors = chunk_and_sentence_vectors(fake, [chunk])
    assert np.array_equal(chunk_vectors, fake.encode([chunk.text]))
    assert np.array_equal(sentence_vectors, fake.encode([s.text for s in chunk.sentences]))


def test_ingest_encodes_each_chunk_once_and_no_sentence(tmp_path: Path, encoder) -> None:
    from embeddings.store import open_store
    from qa.writer import index_documents

    recording = Recording(encoder)
    store = open_store("", data_dir=tmp_path, model=recording.name, dim=recording.dimension)
    try:
        index_documents(store, recording, load_documents(SEEDS))
        stored = [store.get(s.document.doc_id) for s in store.summaries()]
    finally:
        store.close()
    chunks = [c for doc in stored if doc for c in doc.processed.chunks]
    assert sorted(recording.tokenized) == sorted(c.text for c in chunks)
    # Beyond the chunks, only the furniture check's block openings: each starts a line of its article.
    lines = [line.strip() for doc in stored if doc for line in doc.processed.document.text.splitlines()]
    assert recording.encoded and all(any(line.startswith(t) for line in lines) for t in recording.encoded)
    chunk_vectors = np.concatenate([doc.chunk_vectors for doc in stored if doc])
    assert np.allclose(chunk_vectors, encoder.encode([c.text for c in chunks]), atol=1e-6)
