"""A short soak (the full 60 s one is `python -m eval.soak`): 8 clients ask a real server while an
admin replaces, adds and deletes documents."""

from __future__ import annotations

import shutil

import pytest

from eval.soak import BULLETIN, Corpus, Write, bulletin, soak, start_server


@pytest.mark.slow
def test_concurrent_questions_during_document_updates(seed_settings, seed_index, tmp_path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seed_settings.index.data_dir, data)
    with start_server(data, tmp_path / "server.log") as server:
        report = soak(server, seconds=30, clients=8)  # long enough that "warmed up" means warm
    print(report.text())
    assert report.errors == []
    assert report.violations == []
    assert report.mixed == []  # no answer quotes two versions, or one that was not live
    assert report.bulletin_answers > 0 and report.writes >= 5  # the race was really run
    assert report.memory_flat, report.text()


def test_the_soak_flags_answers_that_mix_or_outlive_versions() -> None:
    corpus = Corpus({})
    corpus.writes += [Write(version=1, sent=0.0, acked=1.0), Write(version=2, sent=10.0, acked=11.0)]

    def quote(version: int, line: int) -> tuple[str, int, int, str]:
        text = bulletin(version)
        start = sum(len(x) for x in text.splitlines(keepends=True)[:line])
        end = start + len(text.splitlines()[line])
        return BULLETIN, start, end, text[start:end]

    assert corpus.check([quote(1, 0), quote(1, 2)], 5.0, 6.0)[1] == []
    assert corpus.check([quote(1, 0), quote(2, 2)], 10.5, 10.6)[1]  # two versions in one answer
    assert corpus.check([quote(1, 0)], 12.0, 13.0)[1]  # version 1 was replaced before the question
    assert corpus.check([quote(2, 1)], 10.5, 10.6)[1] == []  # mid-write: either version may answer
