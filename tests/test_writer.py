"""Writes judge near-duplicates once, against the store and against the rest of their own batch."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_a_near_copy_in_the_same_batch_is_marked_and_an_orphaned_copy_is_judged_again(
    tmp_path: Path, encoder
) -> None:
    from qa.service import QAService
    from qa.settings import IndexSettings, Settings

    folder = tmp_path / "articles"
    folder.mkdir()
    original = sorted(SEEDS.glob("*.txt"))[1]
    shutil.copy(original, folder / "a-original.txt")
    text = original.read_text(encoding="utf-8")
    (folder / "b-copy.txt").write_text(text.replace("\n\n", "\n\nSyndicated.\n\n", 1), encoding="utf-8")
    shutil.copy(sorted(SEEDS.glob("*.txt"))[3], folder / "c-other.txt")
    settings = replace(Settings(), index=IndexSettings(data_dir=tmp_path / "data", seeds_dir=folder))
    QAService.build(settings, encoder).close()
    service = QAService.open(settings, encoder)
    marks = {d.doc_id: d.duplicate_of for d in service.documents()}
    assert marks == {"a-original": None, "b-copy": "a-original", "c-other": None}
    service.delete_document("a-original")
    assert {d.doc_id: d.duplicate_of for d in service.documents()} == {"b-copy": None, "c-other": None}


def test_a_snapshot_from_an_earlier_version_moves_into_the_store(tmp_path: Path, encoder) -> None:
    from embeddings.build import build_index
    from embeddings.documents import load_documents
    from embeddings.index import save_snapshot
    from qa.service import QAService
    from qa.settings import IndexSettings, Settings

    data = tmp_path / "data"
    save_snapshot(build_index(load_documents(SEEDS), encoder), data)  # what the API and qa index wrote
    settings = replace(Settings(), index=IndexSettings(data_dir=data, seeds_dir=SEEDS))
    service = QAService.open(settings, encoder)
    assert {d.doc_id for d in service.documents()} == {p.stem for p in SEEDS.glob("*.txt")}
    assert "Islamists" in service.ask_sync("Who took Konna and when?").answer
