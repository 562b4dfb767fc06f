"""Scale benchmark: the dense index over a million realistic vectors (build, memory, p50, recall@10).

The vectors are mixtures of real chunk embeddings: ``normalise(w * a + (1 - w) * b + noise)`` for
two random real vectors ``a`` and ``b`` (a text that combines two passages embeds close to such a
mix), so the corpus has the topical structure of real embeddings rather than uniform noise.
Queries are real embeddings of template questions. Run as a subprocess, so its memory is its own:
``python -m eval.bench_scale BASE.npy QUERIES.npy N INDEX_TYPE OUT.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NOISE = 0.02  # per-dimension standard deviation: a noise vector of norm ~0.4 before normalising
QUERY_BATCH = 64
K = 10


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 3) -> np.ndarray:
    """``n`` unit vectors mixed from pairs of real embeddings, plus a little noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        a = base[rng.integers(0, len(base), m)]
        b = base[rng.integers(0, len(base), m)]
        w = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
        v = w * a + (1 - w) * b + NOISE * rng.standard_normal((m, base.shape[1]), dtype=np.float32)
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """The true top-k ids by inner product (blocked matrix products)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start:start + 200_000].T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        cand_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], axis=1)
        cand_ids = np.concatenate([best_ids, top + start], axis=1)
        order = np.argsort(-cand_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(cand_scores, order, 1)
        best_ids = np.take_along_axis(cand_ids, order, 1)
    return best_ids


def measure(base_path: Path, queries_path: Path, n: int, index_type: str) -> dict[str, object]:
    """Build the index over ``n`` vectors, then load it in a fresh process and query it."""
    import faiss

    from embeddings.index import make_dense_index

    faiss.omp_set_num_threads(min(2, os.cpu_count() or 1))
    base, queries = np.load(base_path), np.load(queries_path)
    started = time.perf_counter()
    vectors = synthetic_vectors(base, n)
    generated = time.perf_counter() - started
    truth = exact_neighbours(vectors, queries)
    started = time.perf_counter()
    index = make_dense_index(vectors, index_type)
    build_s = time.perf_counter() - started
    kind = type(index).__name__
    del vectors
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        index_file, truth_file = Path(tmp) / "index.faiss", Path(tmp) / "truth.npy"
        faiss.write_index(index, str(index_file))
        del index
        np.save(truth_file, truth)
        probe = subprocess.run(
            [sys.executable, "-m", "eval.bench_scale", "--query", str(index_file), str(queries_path),
             str(truth_file)],
            capture_output=True, text=True, check=True,
        )
        served = json.loads(probe.stdout)
        size_mb = index_file.stat().st_size / 2**20
    return {
        "vectors": n, "index_type": index_type, "faiss_class": kind, "generate_s": round(generated, 1),
        "build_s": round(build_s, 1), "file_mb": round(size_mb, 1), **served,
    }


def query_probe(index_file: Path, queries_path: Path, truth_path: Path) -> dict[str, object]:
    """In a fresh process: load the index, time single queries (one thread), compute recall@10."""
    import faiss

    faiss.omp_set_num_threads(1)  # as the service searches
    before, _ = rss_mb()
    index = faiss.read_index(str(index_file))
    loaded, _ = rss_mb()
    queries, truth = np.load(queries_path), np.load(truth_path)
    for q in queries[:10]:
        index.search(q[None, :], K)
    latencies, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = index.search(q[None, :], K)
        latencies.append(time.perf_counter() - started)
        found.append(ids[0])
    recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))
    rss, peak = rss_mb()
    return {
        "query_p50_ms": round(float(np.median(latencies)) * 1000, 3),
        "query_p95_ms": round(float(np.percentile(latencies, 95)) * 1000, 3),
        "recall_at_10": round(recall, 4),
        "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1),
        "index_rss_mb": round(loaded - before, 1),
    }


def main(argv: list[str]) -> int:
    """Subprocess entry points: ``BASE QUERIES N TYPE OUT`` builds; ``--query ...`` probes."""
    if argv and argv[0] == "--query":
        print(json.dumps(query_probe(Path(argv[1]), Path(argv[2]), Path(argv[3]))))
        return 0
    base, queries, n, index_type, out = argv
    result = measure(Path(base), Path(queries), int(n), index_type)
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
