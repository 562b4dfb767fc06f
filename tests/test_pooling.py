"""Each token goes through the encoder once: sentences are encoded, chunks are pooled from them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from embeddings.documents import load_documents
from embeddings.encoder import MiniLMEncoder, TokenEncoder, TokenVectors
from embeddings.pooling import DocTokens, can_pool, sentence_vector

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

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        self.tokenized.extend(texts)
        return self.inner.encode_tokens(texts)


def test_pooling_all_of_a_texts_tokens_gives_its_own_vector(encoder) -> None:
    texts = ["Who leads the country?", "Troops entered Konna on Friday.\nThe town had been held for a week."]
    for text, tokens in zip(texts, encoder.encode_tokens(texts), strict=True):
        assert tokens.starts.tolist() == sorted(tokens.starts.tolist())
        assert float(sentence_vector(tokens) @ encoder.encode([text])[0]) > 0.9999
    bank = DocTokens(encoder.dimension, [(100, encoder.encode_tokens([texts[0]])[0])])
    assert bank.pool(0, 100) is None  # no token starts before the sentence
    pooled = bank.pool(100, 100 + len(texts[0]))
    assert pooled is not None and float(pooled @ encoder.encode([texts[0]])[0]) > 0.9999


def test_a_span_of_two_sentences_pools_both_with_their_special_tokens(encoder) -> None:
    first, second = "The ferry sails at dawn.", "It returns at dusk."
    a, b = encoder.encode_tokens([first, second])
    bank = DocTokens(encoder.dimension, [(0, a), (len(first) + 1, b)])
    total = a.vectors.sum(0) + a.special + b.vectors.sum(0) + b.special
    pooled = bank.pool(0, len(first) + 1 + len(second))
    assert pooled is not None
    assert np.allclose(pooled, total / np.linalg.norm(total), atol=1e-5)
    direct = encoder.encode([f"{first} {second}"])[0]
    assert float(pooled @ direct) > 0.8  # close to encoding the span on its own, not equal


def test_the_torch_backend_gives_the_same_token_embeddings() -> None:
    torch_encoder = MiniLMEncoder(backend="torch")
    onnx_encoder = MiniLMEncoder(backend="onnx")
    text = "Rebels pulled back from the town after air strikes, residents said."
    [mine], [theirs] = torch_encoder.encode_tokens([text]), onnx_encoder.encode_tokens([text])
    assert mine.starts.tolist() == theirs.starts.tolist()
    assert float(sentence_vector(mine) @ sentence_vector(theirs)) > 0.9999


def test_ingest_encodes_each_sentence_once_and_no_chunk(tmp_path: Path, encoder) -> None:
    from embeddings.store import open_store
    from qa.writer import index_documents

    recording = Recording(encoder)
    assert can_pool(recording) and isinstance(recording, TokenEncoder)
    store = open_store("", data_dir=tmp_path, model=recording.name, dim=recording.dimension)
    try:
        index_documents(store, recording, load_documents(SEEDS))
        stored = [store.get(s.document.doc_id) for s in store.summaries()]
    finally:
        store.close()
    sentences = [s for doc in stored if doc for c in doc.processed.chunks for s in c.sentences]
    chunks = [c for doc in stored if doc for c in doc.processed.chunks]
    assert recording.encoded == []  # nothing encoded on its own: no chunk, no block opening
    # every stored sentence exactly once; beyond them only the sentences the content check dropped
    extra = Counter(recording.tokenized) - Counter(s.text for s in sentences)
    assert Counter(s.text for s in sentences) <= Counter(recording.tokenized)
    off_topic = [d.text for doc in stored if doc for d in doc.processed.dropped if d.reason == "off-topic"]
    assert all(any(text in span for span in off_topic) for text in extra)
    assert not {c.text for c in chunks if len(c.sentences) > 1} & set(recording.tokenized)
    tokens = sum(len(t.starts) for t in encoder.encode_tokens(recording.tokenized))
    chunk_tokens = sum(len(t.starts) for t in encoder.encode_tokens([c.text for c in chunks]))
    assert tokens <= 1.25 * chunk_tokens  # the kept text once, plus the openings the check drops
    sentence_vectors = np.concatenate([doc.sentence_vectors for doc in stored if doc])
    direct = encoder.encode([s.text for s in sentences])
    assert float((sentence_vectors * direct).sum(1).min()) > 0.9999
    chunk_vectors = np.concatenate([doc.chunk_vectors for doc in stored if doc])
    cosines = (chunk_vectors * encoder.encode([c.text for c in chunks])).sum(1)
    assert float(cosines.mean()) > 0.85 and float(cosines.min()) > 0.6


@pytest.mark.parametrize("backend", ["onnx-int8"])
def test_the_quantised_export_has_token_embeddings_too(backend: str) -> None:
    encoder = MiniLMEncoder(backend=backend)
    [tokens] = encoder.encode_tokens(["A short sentence."])
    assert float(sentence_vector(tokens) @ encoder.encode(["A short sentence."])[0]) > 0.999


def test_a_store_written_before_pooled_vectors_asks_for_qa_index(tmp_path: Path) -> None:
    from embeddings.encoder import MODEL_NAME
    from embeddings.store import open_store
    from qa.errors import IndexIncompatible

    open_store("", data_dir=tmp_path, model=MODEL_NAME, dim=384).close()  # as the previous version wrote it
    assert MiniLMEncoder.name != MODEL_NAME
    with pytest.raises(IndexIncompatible, match="qa index"):
        open_store("", data_dir=tmp_path, model=MiniLMEncoder.name, dim=384)
