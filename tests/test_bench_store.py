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
