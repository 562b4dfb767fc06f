"""Micro-batching of concurrent question encodes (embeddings/batching.py), on the real model."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from embeddings.batching import MicroBatcher

QUESTIONS = [
    "Who captured the town of Konna?", "How many French troops are in Mali?",
    "When did the air strikes begin?", "Where is Diabaly?", "What did the president say?",
    "Which groups hold the north?", "How far is Bamako from Mopti?", "Who leads Ansar Dine?",
]


class Gated:
    """The real encoder's batch call, held at a gate so that callers pile up behind it."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.gate = threading.Event()
        self.sizes: list[int] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.sizes.append(len(texts))
        self.gate.wait(timeout=10)
        return self.encoder.encode(list(texts))


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_concurrent_questions_share_one_call_and_get_their_own_vectors(encoder) -> None:
    gated = Gated(encoder)
    batcher = MicroBatcher(gated, max_batch=16, lanes=1)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        first = pool.submit(batcher.encode_one, QUESTIONS[0])
        _wait_for(lambda: gated.sizes == [1])  # the first caller encodes at once, alone
        rest = [pool.submit(batcher.encode_one, q) for q in QUESTIONS[1:]]
        _wait_for(lambda: len(batcher._queue) == len(QUESTIONS) - 1)
        gated.gate.set()
        vectors = [first.result(timeout=10)] + [f.result(timeout=10) for f in rest]
    assert gated.sizes == [1, len(QUESTIONS) - 1]  # the seven waiting callers: one call
    assert batcher.batches == 2 and batcher.encoded == len(QUESTIONS)
    alone = np.stack([encoder.encode([q])[0] for q in QUESTIONS])
    # each caller got its own question's vector (padding in a batch moves nothing that matters)
    np.testing.assert_allclose(np.stack(vectors), alone, atol=1e-4)


def test_batches_are_capped_and_lanes_run_side_by_side(encoder) -> None:
    gated = Gated(encoder)
    batcher = MicroBatcher(gated, max_batch=3, lanes=2)
    texts = QUESTIONS * 2
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = [pool.submit(batcher.encode_one, t) for t in texts]
        _wait_for(lambda: len(gated.sizes) == 2 and len(batcher._queue) == len(texts) - 2)
        gated.gate.set()
        vectors = [f.result(timeout=10) for f in futures]
    assert gated.sizes[:2] == [1, 1]  # two lanes: two lone callers encode at once
    assert max(gated.sizes) == 3 and sum(gated.sizes) == len(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert float(vector @ encoder.encode([text])[0]) > 0.9999


def test_a_failed_call_fails_every_caller_in_it_and_the_next_call_works(encoder) -> None:
    calls = {"n": 0}
    release = threading.Event()

    def flaky(texts: Sequence[str]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("encoder failed")
        release.wait(timeout=10)
        return encoder.encode(list(texts))

    batcher = MicroBatcher(flaky, max_batch=16, lanes=1)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher.encode_one, QUESTIONS[0])
        _wait_for(lambda: calls["n"] == 1)
        failing = [pool.submit(batcher.encode_one, q) for q in QUESTIONS[1:4]]
        _wait_for(lambda: len(batcher._queue) == 3)
        release.set()
        assert first.result(timeout=10).shape == (encoder.dimension,)
        for future in failing:
            with pytest.raises(RuntimeError, match="encoder failed"):
                future.result(timeout=10)
    assert batcher.encode_one(QUESTIONS[4]).shape == (encoder.dimension,)  # nothing left stuck
    assert batcher._running == 0 and not batcher._queue


def test_encoder_encode_one_goes_through_the_batcher(encoder) -> None:
    before = encoder._batcher.encoded
    vector = encoder.encode_one("Who is the president of France?")
    assert encoder._batcher.encoded == before + 1
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
