"""The quantised encoder: a text's vector depends on the text alone, not on what it is encoded with."""

from __future__ import annotations

import numpy as np

from embeddings.encoder import MiniLMEncoder

TEXTS = [
    "Who leads the country?",
    "French troops entered Konna on Friday after air strikes drove the rebels out, residents said.",
    "The ferry line opened a night crossing.",
    "Shares in the carmaker fell 4% after it cut its sales forecast for the third time this year, "
    "blaming weak demand in Europe and a strike at its largest plant.",
]


def test_an_int8_vector_is_the_same_alone_and_in_a_batch() -> None:
    int8 = MiniLMEncoder(backend="onnx-int8")
    assert int8.batch_size == 1
    batched = int8.encode(TEXTS)
    alone = np.vstack([int8.encode([text]) for text in TEXTS])
    assert np.array_equal(batched, alone)
    assert np.array_equal(int8.encode(TEXTS[::-1])[::-1], batched)


def test_int8_batches_would_move_vectors_which_is_why_it_encodes_one_text_per_call() -> None:
    padded = MiniLMEncoder(backend="onnx-int8", batch_size=8)
    batched = padded.encode(TEXTS)
    alone = np.vstack([padded.encode([text]) for text in TEXTS])
    assert float((batched * alone).sum(axis=1).min()) < 0.9999
    fp32 = MiniLMEncoder(backend="onnx").encode(TEXTS)
    assert float((alone * fp32).sum(axis=1).min()) > 0.98  # close to fp32, not equal
