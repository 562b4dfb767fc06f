"""`qa eval --store milvus` indexes each corpus apart from the default store; parity compares answers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from eval.corpora import BUILT, CORPORA, MILVUS, index_key, settings_for
from eval.store_parity import differences
from qa.settings import Settings


def _built(cache: Path, name: str) -> Path:
    folder = cache / name
    folder.mkdir(parents=True)
    (folder / BUILT).write_text("test\n")
    return folder


def test_each_store_gets_its_own_cached_index(tmp_path: Path) -> None:
    seeds = CORPORA["seeds"]
    default = Settings()
    milvus = replace(default, index=replace(default.index, store=MILVUS))
    key = index_key(seeds, default)
    plain, other = _built(tmp_path, f"seeds-{key}"), _built(tmp_path, f"seeds-{MILVUS}-{key}")
    on_milvus = settings_for(seeds, milvus, tmp_path)
    assert on_milvus.index.data_dir == other
    assert on_milvus.index.store == f"milvus://{other}/milvus.db"
    on_default = settings_for(seeds, default, tmp_path)
    assert (on_default.index.data_dir, on_default.index.store) == (plain, "")


def test_differences_lists_questions_answered_otherwise() -> None:
    row = {"corpus": "news", "id": "q1", "answer": "A. [1]", "abstained": False, "passed": True,
           "citations": [{"doc_id": "d", "start": 0, "end": 2}]}
    moved = {**row, "citations": [{"doc_id": "d", "start": 5, "end": 9}]}
    assert differences([row], [row]) == {"news": []}
    assert differences([row], [moved]) == {"news": ["q1"]}
    assert differences([row], []) == {"news": ["q1"]}
