"""`qa bench --quick` runs and reports every figure; its inputs and the choices it measured hold."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_reports_every_figure_with_its_target(tmp_path: Path) -> None:
    from eval.bench import FIGURE_KEYS

    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "bench", "--quick", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = {f["key"]: f for f in report["figures"]}
    assert set(FIGURE_KEYS) <= set(figures), set(FIGURE_KEYS) - set(figures)
    for key in FIGURE_KEYS:
        assert math.isfinite(figures[key]["value"]), key
        assert figures[key]["label"] in run.stdout, key
    assert report["floor_ms"] > 0
    assert figures["ask_p50_ms"]["x_floor"] == pytest.approx(
        figures["ask_p50_ms"]["value"] / report["floor_ms"], rel=0.01)
    targets = [f for f in report["figures"] if f["target"]]
    assert len(targets) >= 10 and all(isinstance(f["met"], bool) for f in targets)
    assert {row["backend"] for row in report["details"]["backends"]} == {"torch", "onnx", "onnx-int8"}
    assert report["details"]["profile"], "the profile names where a question's time goes"


def test_bench_questions_mix_corpus_entities_and_unknown_subjects_but_no_gold(seed_service) -> None:
    from eval.bench_data import ELSEWHERE, _gold_questions, make_questions

    questions = make_questions(seed_service.store, 200)
    assert len(questions) == 200
    unanswerable = [q for q in questions if any(subject in q for subject in ELSEWHERE)]
    assert 0.15 < len(unanswerable) / len(questions) < 0.5
    assert not {q.lower() for q in questions} & _gold_questions()


def test_synthetic_corpus_only_recombines_real_seed_sentences(tmp_path: Path) -> None:
    from embeddings.documents import load_documents
    from eval.bench_data import seed_sentences, write_synthetic_corpus

    seeds = ROOT / "seeds"
    count = write_synthetic_corpus(seeds, tmp_path, 20_000)
    docs = load_documents(tmp_path)
    assert len(docs) == count >= 3
    seed_text = " ".join(d.text for d in load_documents(seeds))
    pool = seed_sentences(seeds)
    assert all(sentence in seed_text for sentence in pool)
    remainder = docs[0].text
    for sentence in sorted(pool, key=len, reverse=True):
        remainder = remainder.replace(sentence, "")
    assert not remainder.strip(), "every character of a synthetic article comes from a seed sentence"


@pytest.mark.slow
def test_onnx_backend_reproduces_pytorch_vectors() -> None:
    from embeddings.encoder import MiniLMEncoder

    texts = ["Who leads the operation?", "French troops advanced on the town. " * 20, "x"]
    torch_vectors = MiniLMEncoder(backend="torch").encode(texts)
    onnx = MiniLMEncoder(backend="onnx")
    assert onnx.backend == "onnx"
    onnx_vectors = onnx.encode(texts)
    assert onnx_vectors.dtype == np.float32 and onnx_vectors.shape == (3, 384)
    assert (onnx_vectors * torch_vectors).sum(axis=1).min() > 0.9999
    assert float(onnx.encode_one(texts[0]) @ onnx_vectors[0]) > 0.9999


@pytest.mark.slow
def test_auto_index_is_exact_when_small_and_compressed_with_high_recall_when_large() -> None:
    import faiss

    from embeddings.index import EXACT_SEARCH_LIMIT, make_dense_index
    from eval.bench_scale import exact_neighbours, synthetic_vectors

    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    small = synthetic_vectors(base, 1000)
    assert isinstance(make_dense_index(small, "auto"), faiss.IndexFlatIP)
    large = synthetic_vectors(base, EXACT_SEARCH_LIMIT + 10_000)
    index = make_dense_index(large, "auto")
    assert isinstance(index, faiss.IndexIVFScalarQuantizer)
    queries = synthetic_vectors(base, 50, seed=99)
    truth = exact_neighbours(large, queries)
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9
    with pytest.raises(ValueError, match="unknown index type"):
        make_dense_index(small, "lsh")
