"""The fixed small subset of `qa bench --scale` that CI runs: a synthetic store through the bulk path,
served end to end in process, its dense leg against exact search."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.store import _embedded
from eval.bench_store import bbc_material, in_process, synthetic_store

QUESTIONS = ["Who took Konna?", "What did EU foreign ministers approve?", "Where is Timbuktu?",
             "How many soldiers arrived in Bamako?", "Who won the election?"]


@pytest.mark.slow
def test_a_synthetic_store_is_bulk_written_and_served_with_ivf_recall(
    seed_settings, seed_index, encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_embedded, "EXACT_SEARCH_LIMIT", 1_000)  # IVF at a size CI can afford
    sentences, base = bbc_material(seed_settings.index.data_dir, encoder)
    assert len(sentences) == len(base) > 50
    assert synthetic_store(tmp_path, 3_000, sentences, base, encoder.name) == 3_000
    figures = in_process(tmp_path, QUESTIONS, encoder)
    assert figures["dense_recall_at_10"] >= 0.95
    assert figures["ask_p50_ms"] > 0
    reopened = _embedded.EmbeddedStore(tmp_path / "store", model=encoder.name, dim=encoder.dimension)
    assert "IVF" in type(reopened._dense).__name__ and reopened.count() == 300
    reopened.close()


@pytest.mark.slow
def test_the_ingest_figures_give_each_stage_and_the_bare_encoder_of_the_same_run(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval import bench_store

    monkeypatch.setattr(bench_store, "BBC", Path(__file__).resolve().parent.parent / "seeds")
    figures, texts, _, _ = bench_store.bbc_ingest(tmp_path, encoder, 3)
    assert figures["documents"] == 3 and figures["chunks"] == len(texts) > 0
    assert set(figures["stages_s"]) >= {"clean", "split+tag", "embed", "store"}  # type: ignore[arg-type]
    assert figures["ingest_over_bare"] > 0 and figures["bare_encoder_chunks_per_s"] > 0  # type: ignore[operator]
    assert figures["cpu_s"]["ingest"] > figures["cpu_s"]["bare_encoder"] > 0  # type: ignore[index]
    assert set(figures["load_avg_1min"]) == {"before", "after_ingest", "after_bare"}  # type: ignore[arg-type]
    assert figures["encoder_backend"] == encoder.backend
