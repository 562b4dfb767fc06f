"""The gold dialogues in `qa eval --check`: selection, limits, report, and a gate that fails when
the follow-up rewrite breaks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from eval import cli, dialogues_gate
from eval.corpora import CORPORA
from eval.dialogues import TurnResult, load_dialogues
from eval.gate import THRESHOLDS_PATH, GateConfigError, load_thresholds
from qa.followup import Turn


def _turn(dialogue: str, n: int, split: str = "test", *, followup_ok: bool = True,
          standalone_ok: bool = True, kind: str = "follow-up", inherited: bool = False,
          recall: float | None = 1.0) -> TurnResult:
    return TurnResult(dialogue=dialogue, turn=n, kind=kind, split=split,  # type: ignore[arg-type]
                      question=f"q{dialogue}{n}", standalone_gold="g", standalone_used="u",
                      followup_ok=followup_ok, standalone_ok=standalone_ok, inherited=inherited,
                      referent_recall=None if kind != "follow-up" else recall)


def _run_of(later: Sequence[TurnResult]) -> list[TurnResult]:
    return [_turn(r.dialogue, 1, r.split, kind="first") for r in later] + list(later)


LIMITS = {"ratio": 0.9, "referent_recall": 0.5, "switches_inherited": 0}


def test_the_dialogues_run_by_default_and_when_named_but_not_when_narrowed() -> None:
    assert dialogues_gate.wanted(None, None, None) == (None, True)
    assert dialogues_gate.wanted(None, "who-03", None) == (None, False)
    assert dialogues_gate.wanted(None, None, "http://127.0.0.1:1") == (None, False)
    assert dialogues_gate.wanted("seeds,dialogues", None, None) == ("seeds", True)
    assert dialogues_gate.wanted("dialogues", None, None) == ("", True)
    assert dialogues_gate.wanted("news", None, None) == ("news", False)
    with pytest.raises(ValueError, match="in process"):
        dialogues_gate.wanted("dialogues", None, "http://127.0.0.1:1")


def test_the_committed_limits_gate_the_test_split_and_leave_the_corpus_minimums_valid() -> None:
    limits = dialogues_gate.load_limits(THRESHOLDS_PATH)
    assert limits["ratio"] >= 0.9 and limits["referent_recall"] > 0
    assert limits["switches_inherited"] == 0
    assert "dialogues" not in load_thresholds(THRESHOLDS_PATH)


def test_malformed_limits_are_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"dialogues": {"test": {"pass_rate": 0.9}}}))
    with pytest.raises(GateConfigError, match="dialogues"):
        dialogues_gate.load_limits(path)


def test_the_gate_fails_on_a_low_ratio_lost_referents_or_an_inherited_switch() -> None:
    good = _run_of([_turn(f"d{i}", 2) for i in range(10)])
    assert dialogues_gate.check(good, LIMITS) == []
    low = _run_of([_turn(f"d{i}", 2, followup_ok=i < 8) for i in range(10)])
    assert dialogues_gate.check(low, LIMITS) == ["dialogues test: ratio: 0.800 < minimum 0.900"]
    unresolved = _run_of([_turn(f"d{i}", 2, recall=0.0 if i < 6 else 1.0) for i in range(10)])
    assert dialogues_gate.check(unresolved, LIMITS) == [
        "dialogues test: referent_recall: 0.400 < minimum 0.500"]
    switched = _run_of([_turn("d0", 2, kind="switch", inherited=True), _turn("d1", 2)])
    assert dialogues_gate.check(switched, LIMITS) == ["dialogues test: switches_inherited: 1 > maximum 0"]
    dev_only = _run_of([_turn("d0", 2, "dev")])
    assert "test split" in dialogues_gate.check(dev_only, LIMITS)[0]
    assert "no thresholds" in dialogues_gate.check(good, {})[0]


def test_the_report_names_lost_dev_turns_but_not_test_ones_unless_asked() -> None:
    results = _run_of([_turn("lostdev", 2, "dev", followup_ok=False),
                       _turn("losttest", 2, followup_ok=False)])
    text = dialogues_gate.report(results)
    assert "lostdev" in text and "losttest" not in text
    assert "losttest" in dialogues_gate.report(results, show_test=True)
    assert [line.split()[0] for line in text.splitlines()[2:4]] == ["dev", "test"]


def test_the_articles_are_the_seeds_and_the_named_bbc_files_with_their_titles(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "stale.txt").write_text("from an older dialogues file")
    corpus = dialogues_gate.gather_articles(load_dialogues(), folder)
    named = {f for d in load_dialogues() for f in d.bbc_files}
    seeds = {p.name for p in CORPORA["seeds"].articles.glob("*.txt")}
    assert {p.name for p in folder.glob("*.txt")} == named | seeds
    entries = json.loads((folder / "manifest.json").read_text())["documents"]
    titles = {e["file"]: e.get("title") for e in entries}
    assert set(titles) == named | seeds and all(titles[f] for f in named)
    assert corpus.articles == folder and corpus.name == "dialogues"


def _unchanged(question: str, history: Sequence[Turn]) -> str:
    return question


def _carrying_the_first_question(question: str, history: Sequence[Turn]) -> str:
    return f"{question.rstrip(' ?')}, regarding {history[0].question.rstrip(' ?')}?"


@pytest.fixture
def extractive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MODE", "extractive")
    monkeypatch.delenv("QA_LLM_BASE_URL", raising=False)


@pytest.mark.slow
@pytest.mark.usefixtures("extractive")
def test_qa_eval_check_fails_when_follow_ups_are_not_rewritten(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = tmp_path_factory.getbasetemp() / "dialogues-eval-data"
    monkeypatch.setattr("qa.service.standalone_chain", _unchanged)
    code = cli.main(["--corpus", "dialogues", "--check", "--split", "test", "--quiet",
                     "--data-dir", str(cache)])
    out = capsys.readouterr().out
    assert code == 1, out
    # answers alone barely tell (a small index answers many a bare follow-up); the referents do
    assert "gate FAILED" in out and "dialogues test: referent_recall: 0.000 <" in out


@pytest.mark.slow
@pytest.mark.usefixtures("extractive")
def test_the_gate_fails_when_a_topic_switch_inherits_the_old_subject(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path_factory.getbasetemp() / "dialogues-eval-data"
    monkeypatch.setattr("qa.service.standalone_chain", _carrying_the_first_question)
    results = dialogues_gate.run(cache, split="test")
    problems = dialogues_gate.check(results, dialogues_gate.load_limits(THRESHOLDS_PATH))
    assert any(p.startswith("dialogues test: switches_inherited:") for p in problems), problems


def test_referent_recall_is_zero_for_a_follow_up_left_as_asked_and_one_for_its_gold_form() -> None:
    from eval.dialogues import referent_recall

    turn = next(t for d in load_dialogues() for t in d.turns if t.kind == "follow-up")
    assert referent_recall(turn, turn.question) == 0.0
    assert referent_recall(turn, turn.standalone) == 1.0
    first = load_dialogues()[0].turns[0]
    assert referent_recall(first, first.question) is None
