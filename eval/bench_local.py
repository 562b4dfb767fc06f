"""The in-process benchmarks: the encode floor, a bare encode loop, a profile of one question,
ingestion of a large corpus, and a comparison of the encoder backends."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.documents import load_documents
from embeddings.encoder import MiniLMEncoder
from qa.service import QAService


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(np.asarray(seconds), q) * 1000) if seconds else float("nan")


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run PyTorch on ``threads`` intra-op threads inside the block (None: leave it alone)."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def encode_floor(encoder: MiniLMEncoder, questions: Sequence[str], runs: int) -> float:
    """p50 (ms) of encoding one short question, over ``runs`` encodes after a warm-up."""
    for question in questions[:10]:
        encoder.encode_one(question)
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        encoder.encode_one(questions[i % len(questions)])
        timings.append(time.perf_counter() - started)
    return percentile_ms(timings, 50)


def bare_encode_rate(
    encoder: MiniLMEncoder, questions: Sequence[str], threads: int, seconds: float, *, batched: bool = False
) -> float:
    """Questions encoded per second by ``threads`` threads, each encoding one question per call in
    a loop: straight to the model, or (``batched``) through the encoder's micro-batcher."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds
    encode = encoder.encode_one if batched else (lambda text: encoder.encode_batch([text]))

    def loop(k: int) -> None:
        i = k
        while time.perf_counter() < deadline:
            encode(questions[i % len(questions)])
            counts[k] += 1
            i += threads

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started)


@dataclass
class ProfileItem:
    """One function of the profile: where it is, and its time per question."""

    function: str
    self_ms: float
    total_ms: float


def profile_questions(service: QAService, questions: Sequence[str], top: int = 10) -> list[ProfileItem]:
    """cProfile of retrieval + extractive answering (what /v1/ask does besides HTTP), per question."""
    import faiss

    faiss.omp_set_num_threads(1)  # as the service searches
    loop = asyncio.new_event_loop()
    snapshot = service.store
    k = service.settings.retrieval.top_k
    profiler = cProfile.Profile()
    try:
        for question in questions[:5]:
            loop.run_until_complete(service.generator("extractive")[0].generate(
                question, service._retrieve(snapshot, question, k)))
        profiler.enable()
        for question in questions:
            evidence = service._retrieve(snapshot, question, k)
            loop.run_until_complete(service.generator("extractive")[0].generate(question, evidence))
        profiler.disable()
    finally:
        loop.close()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    items = []
    for (path, line, name), (_, _, self_s, total_s, _) in stats.items():
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if path != "~" else ""
        items.append(ProfileItem(
            function=f"{where}({name})", self_ms=self_s * 1000 / len(questions),
            total_ms=total_s * 1000 / len(questions),
        ))
    return sorted(items, key=lambda item: -item.self_ms)[:top]


@dataclass
class Ingest:
    """Timings of one ingestion of a corpus, by stage."""

    documents: int
    chunks: int
    sentences: int
    stages: dict[str, float]
    chunk_texts: list[str]
    chunk_vectors: np.ndarray
    wall_s: float  # writing the documents, start to end (the stages overlap on threads)

    @property
    def rate(self) -> float:
        """Chunks per second, loading the documents and writing them."""
        return self.chunks / (self.stages.get("load", 0.0) + self.wall_s)


def ingest(source: Path, data_dir: Path, encoder: MiniLMEncoder) -> Ingest:
    """Write ``source`` into a new store as `qa index` does (clean, split + tag, embed, judge
    near-duplicates, store), timing each stage."""
    from embeddings.store import open_store
    from qa.writer import index_documents

    stages: dict[str, float] = {}
    started = time.perf_counter()
    documents = load_documents(source)
    stages["load"] = time.perf_counter() - started
    store = open_store("", data_dir=data_dir, model=encoder.name, dim=encoder.dimension)
    try:
        started = time.perf_counter()
        index_documents(store, encoder, documents, stages=stages)
        wall_s = time.perf_counter() - started
        texts: list[str] = []
        vectors: list[np.ndarray] = []
        sentences = 0
        for summary in store.summaries():
            stored = store.get(summary.document.doc_id)
            assert stored is not None
            texts.extend(c.text for c in stored.processed.chunks)
            vectors.append(stored.chunk_vectors)
            sentences += len(stored.sentence_vectors)
    finally:
        store.close()
    return Ingest(
        documents=len(documents), chunks=len(texts), sentences=sentences, stages=stages,
        chunk_texts=texts, chunk_vectors=np.concatenate(vectors), wall_s=wall_s,
    )


def compare_backends(
    texts: Sequence[str], questions: Sequence[str], runs: int, backends: Sequence[str]
) -> list[dict[str, object]]:
    """Per backend: one-question p50, chunks/s, and agreement of dense top-10 with PyTorch's."""
    rows: list[dict[str, object]] = []
    reference: np.ndarray | None = None
    for backend in backends:
        encoder = MiniLMEncoder(backend=backend)
        with torch_threads(1 if backend == "torch" else None):  # as the service runs it
            single = encode_floor(encoder, questions, runs)
        started = time.perf_counter()
        chunk_vectors = encoder.encode(texts)
        rate = len(texts) / (time.perf_counter() - started)
        ranking = np.argsort(-(encoder.encode(questions) @ chunk_vectors.T), axis=1)[:, :10]
        if reference is None:
            reference = ranking
        overlap = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ranking, reference, strict=True)]))
        rows.append({"backend": encoder.backend, "one_question_ms": round(single, 3),
                     "chunks_per_s": round(rate, 1), "top10_agreement_with_torch": round(overlap, 3)})
    return rows
