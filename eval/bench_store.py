"""``qa bench --scale``: the store at scale, in one run.

1. Ingest of every BBC article through the store (stage by stage) against the bare encoder over
   the same chunk texts.
2. A store of ``--chunks`` chunks (default 100,000; made of real BBC sentences and vectors mixed
   from real embeddings, as eval/bench_scale.py does): `qa serve` ready time, RSS, one-document
   add (until answerable) and delete (until gone) through the HTTP API, extractive ask p50.
3. A store of ``--big`` chunks in process (default 1,000,000): extractive ask p50 end to end and
   recall@10 of the dense leg against exact search.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from embeddings.records import Chunk, Document, ProcessedDocument, Sentence
from embeddings.store import IndexedDocument
from eval.bench_local import ingest, percentile_ms
from eval.bench_scale import exact_neighbours, rss_mb, synthetic_vectors

BBC = Path(os.environ.get("QA_BBC_DIR", "/work/shared/corpora/bbc"))
CHUNK_SENTENCES = 3
DOC_CHUNKS = 10
ADMIN_KEY = "bench-admin-key"
NEW_DOC = ("The Vellmark ferry line opened a night crossing to Quillmere on Tuesday, its operator said. "
           "The crossing takes four hours and runs twice a week.")
NEW_QUESTION = "When did the Vellmark ferry line open a night crossing to Quillmere?"


def _log(message: str) -> None:
    print(f"[bench --scale] {message}", flush=True)


def subset(folder: Path, n: int) -> Path:
    """Every k-th article of the BBC corpus (all categories), ``n`` of them, in ``folder``."""
    manifest = json.loads((BBC / "manifest.json").read_text())["documents"]
    chosen = manifest[:: max(1, len(manifest) // n)][:n]
    folder.mkdir(parents=True, exist_ok=True)
    for entry in chosen:
        shutil.copy(BBC / entry["file"], folder / entry["file"])
    (folder / "manifest.json").write_text(json.dumps({"documents": chosen}))
    return folder


def bbc_ingest(
    work: Path, encoder: object, n_docs: int | None
) -> tuple[dict[str, object], list[str], list[str], np.ndarray]:
    """Ingest the BBC corpus (or ``n_docs`` of it) into a fresh store; the bare encoder over the same
    chunk texts."""
    source = BBC if n_docs is None else subset(work / "bbc-subset", n_docs)
    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    result = ingest(source, work / "bbc", encoder)  # type: ignore[arg-type]
    ingest_cpu = time.process_time() - cpu
    work_s = result.wall_s
    load_after_ingest = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    encoder.encode(result.chunk_texts)  # type: ignore[attr-defined]
    bare_s = time.perf_counter() - started
    bare_cpu = time.process_time() - cpu
    sentences, vectors = bbc_material(work / "bbc", encoder)
    figures = {
        "documents": result.documents, "chunks": result.chunks, "sentences": result.sentences,
        "encoder_backend": getattr(encoder, "backend", "?"),
        # Wall seconds per stage; they overlap (the next batch is cleaned and tagged while this
        # one is embedded and the one before stored), so they add up to more than write_s.
        "stages_s": {k: round(v, 1) for k, v in result.stages.items()},
        "write_s": round(work_s, 1),
        "ingest_chunks_per_s": round(result.chunks / work_s, 1),
        "bare_encoder_chunks_per_s": round(result.chunks / bare_s, 1),
        "ingest_over_bare": round(bare_s / work_s, 3),
        "cpu_s": {"ingest": round(ingest_cpu, 1), "bare_encoder": round(bare_cpu, 1)},
        "load_avg_1min": {"before": round(load_before, 2), "after_ingest": round(load_after_ingest, 2),
                          "after_bare": round(os.getloadavg()[0], 2)},
    }
    return figures, result.chunk_texts, sentences, vectors


def bbc_material(data_dir: Path, encoder: object) -> tuple[list[str], np.ndarray]:
    """The sentences of an ingested BBC store and their vectors: what synthetic stores are made of."""
    from embeddings.store import open_store

    store = open_store("", data_dir=data_dir, model=encoder.name, dim=encoder.dimension)  # type: ignore[attr-defined]
    chunks = [c for summary in store.summaries() for c in store.chunks_of(summary.document.doc_id)]
    store.close()
    sentences = [s.text for c in chunks for s in c.chunk.sentences]
    return sentences, np.concatenate([c.sentence_vectors for c in chunks])


def synthetic_store(path: Path, n_chunks: int, sentences: list[str], base: np.ndarray, model: str) -> int:
    """Write a store of ``n_chunks`` chunks (documents of DOC_CHUNKS chunks of real sentences) through
    the store's bulk path: rows in batches, then the indexes derived once."""
    from embeddings.store import open_store

    store = open_store("", data_dir=path, model=model, dim=base.shape[1])
    n_docs = n_chunks // DOC_CHUNKS
    store.bulk_upsert(synthetic_batches(n_docs, sentences, base))  # type: ignore[attr-defined]
    _log("  indexes derived and checkpointed")
    store.close()
    return n_docs * DOC_CHUNKS


def synthetic_batches(n_docs: int, sentences: list[str], base: np.ndarray) -> Iterator[list[IndexedDocument]]:
    """Batches of 500 synthetic documents: runs of real sentences, vectors mixed from real ones."""
    rng = random.Random(5)
    batch: list[IndexedDocument] = []
    per_doc = DOC_CHUNKS * CHUNK_SENTENCES
    started = time.perf_counter()
    for d in range(n_docs):
        doc_id = f"synthetic-{d:07d}"
        first = rng.randrange(len(sentences))
        texts = [sentences[(first + i) % len(sentences)] for i in range(per_doc)]
        text = " ".join(texts)
        position = 0
        made: list[Sentence] = []
        for t in texts:
            made.append(Sentence(doc_id=doc_id, start=position, end=position + len(t), text=t))
            position += len(t) + 1
        chunks = tuple(
            Chunk(doc_id=doc_id, start=group[0].start, end=group[-1].end,
                  text=text[group[0].start:group[-1].end], sentences=tuple(group))
            for group in (made[i:i + CHUNK_SENTENCES] for i in range(0, per_doc, CHUNK_SENTENCES))
        )
        vectors = synthetic_vectors(base, per_doc + DOC_CHUNKS, seed=d)
        batch.append(IndexedDocument(
            processed=ProcessedDocument(
                document=Document(doc_id=doc_id, title=f"Synthetic {d}", source="bench", text=text),
                dropped=(), chunks=chunks),
            chunk_vectors=vectors[:DOC_CHUNKS], sentence_vectors=vectors[DOC_CHUNKS:],
        ))
        if len(batch) == 500 or d == n_docs - 1:
            yield batch
            batch = []
            if (d + 1) % 10_000 == 0 or d == n_docs - 1:
                _log(f"  {d + 1:,} / {n_docs:,} documents written ({time.perf_counter() - started:.0f} s)")


def served(path: Path, questions: list[str], encoder: object) -> dict[str, object]:
    """Ready time, RSS, one-document add and delete, ask p50 of `qa serve` over the store in ``path``."""
    from eval.local_server import LocalServer

    env = {"QA_ADMIN_KEY": ADMIN_KEY, "QA_RATE_LIMIT": "off"}
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with LocalServer.start(path, env=env, ready_timeout=600) as server, httpx.Client(timeout=300) as http:
        ready_s = server.cold_start_s
        timings = []
        for question in questions:
            started = time.perf_counter()
            http.post(f"{server.url}/v1/ask", json={"question": question}).raise_for_status()
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        encoder.encode([NEW_DOC, *NEW_DOC.split(". ")])  # type: ignore[attr-defined]
        embed_s = time.perf_counter() - started
        started = time.perf_counter()
        http.post(f"{server.url}/v1/documents", json={"doc_id": "vellmark", "text": NEW_DOC},
                  headers=headers).raise_for_status()
        answer = http.post(f"{server.url}/v1/ask", json={"question": NEW_QUESTION}).json()
        add_s = time.perf_counter() - started
        answerable = any(c["doc_id"] == "vellmark" for c in answer["citations"])
        started = time.perf_counter()
        http.delete(f"{server.url}/v1/documents/vellmark", headers=headers).raise_for_status()
        answer = http.post(f"{server.url}/v1/ask", json={"question": NEW_QUESTION}).json()
        delete_s = time.perf_counter() - started
        gone = all(c["doc_id"] != "vellmark" for c in answer["citations"])
        rss = server.rss_mb()
    return {
        "ready_s": round(ready_s, 2), "rss_mb": round(rss, 1),
        "ask_p50_ms": round(percentile_ms(timings, 50), 1),
        "add_until_answerable_s": round(add_s, 3), "add_answerable": answerable,
        "its_embedding_s": round(embed_s, 3), "delete_until_gone_s": round(delete_s, 3),
        "delete_gone": gone,
    }


def in_process(path: Path, questions: list[str], encoder: object) -> dict[str, object]:
    """Extractive ask p50 end to end in process, and dense recall@10 against exact search."""
    import faiss

    from qa.service import QAService
    from qa.settings import IndexSettings, Settings

    faiss.omp_set_num_threads(1)
    settings = Settings()
    settings = type(settings)(**{**settings.__dict__, "index": IndexSettings(data_dir=path)})
    started = time.perf_counter()
    service = QAService.open(settings, encoder)  # type: ignore[arg-type]
    open_s = time.perf_counter() - started
    timings, cpu = [], []
    with asyncio.Runner() as runner:  # one event loop, as `qa serve` has: not a new one per question
        for question in questions:
            started, began_cpu = time.perf_counter(), time.process_time()
            runner.run(service.ask(question))
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - began_cpu)  # every thread's: what the load cannot inflate
    store = service.store
    queries = encoder.encode(questions)  # type: ignore[attr-defined]
    recall = store.dense_recall(queries, 10)  # type: ignore[attr-defined]
    return {"open_s": round(open_s, 2), "ask_p50_ms": round(percentile_ms(timings, 50), 1),
            "ask_p95_ms": round(percentile_ms(timings, 95), 1),
            "ask_cpu_p50_ms": round(percentile_ms(cpu, 50), 1), "dense_recall_at_10": round(recall, 4),
            "rss_mb": round(rss_mb()[0], 1)}


def main(argv: list[str] | None = None) -> int:
    """Run the scale benchmarks and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(prog="qa bench --scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 skips the in-process run")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--ingest-docs", type=int, help="ingest this many BBC articles (default: all 2,225)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--work", type=Path, help="keep the stores here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the stores an earlier run left in --work (skips the ingest figures)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from embeddings.encoder import default_encoder
    from eval.bench_data import make_questions

    encoder = default_encoder()
    report: dict[str, object] = {"load_avg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="qa-bench-scale-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.reuse and (work / "bbc" / "store").is_dir():
            sentences, vectors = bbc_material(work / "bbc", encoder)
        else:
            _log(f"ingesting {BBC}")
            report["bbc"], _, sentences, vectors = bbc_ingest(work, encoder, args.ingest_docs)
            _log(json.dumps(report["bbc"]))
        from embeddings.store import open_store

        bbc_store = open_store("", data_dir=work / "bbc", model=encoder.name, dim=encoder.dimension)
        questions = make_questions(bbc_store, args.questions)
        bbc_store.close()
        for name, n in (("store", args.chunks), ("big", args.big)):
            if n <= 0:
                continue
            path = work / name
            if not (args.reuse and (path / "store" / "checkpoint").is_dir()):
                shutil.rmtree(path, ignore_errors=True)
                _log(f"writing a {n:,}-chunk store")
                started = time.perf_counter()
                report[f"{name}_chunks"] = synthetic_store(path, n, sentences, vectors, encoder.name)
                report[f"{name}_build_s"] = round(time.perf_counter() - started, 1)
            if name == "store":
                report["served"] = served(path, questions, encoder)
                _log(json.dumps(report["served"]))
            report[f"{name}_in_process"] = in_process(path, questions, encoder)
            _log(json.dumps(report[f"{name}_in_process"]))
    report["load_avg_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


__all__ = ["exact_neighbours", "main"]
