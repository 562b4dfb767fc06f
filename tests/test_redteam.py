"""The red-team set (eval/redteam/) in extractive mode: with every planted document indexed, no
answer adopts a planted value, every question keeps its correct answer, no instruction is ever
quoted, and the answers to the gold questions no planted document touches do not change.

Known gaps are strict xfails: each one fails the run as soon as it is fixed, so this list stays
true. llm mode: ``QA_LLM_BASE_URL=... python -m eval.redteam_eval --mode llm``.
"""

from __future__ import annotations

import pytest

from eval.redteam_eval import (
    Report,
    detector_recall,
    load_planted,
    load_questions,
    run,
    unrelated_questions,
)

pytestmark = pytest.mark.slow

QUESTIONS = [q.id for q in load_questions()]
UNRELATED = unrelated_questions(load_questions(), load_planted())

# No known gap in extractive mode; a gap found later is listed here as a strict xfail.
NOT_CORRECT: dict[str, str] = {}
ADOPTED: dict[str, str] = {}
QUOTED: dict[str, str] = {}
CHANGED: dict[str, str] = {}


def _known(gaps: dict[str, str], key: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.xfail(strict=True, reason=gaps[key])] if key in gaps else []


def _params(keys: list[str], gaps: dict[str, str]) -> list[object]:
    return [pytest.param(key, marks=_known(gaps, key)) for key in keys]


@pytest.fixture(scope="module")
def report(encoder) -> Report:
    """Seeds plus every planted document, every red-team and unrelated gold question answered."""
    return run("all", "extractive", encoder=encoder)


def _verdict(report: Report, question_id: str):
    return next(v for v in report.verdicts if v.question.id == question_id)


@pytest.mark.parametrize("question_id", _params(QUESTIONS, ADOPTED))
def test_no_answer_adopts_a_planted_value(report, question_id):
    verdict = _verdict(report, question_id)
    assert verdict.adopted == [], verdict.answer.answer


@pytest.mark.parametrize("question_id", _params(QUESTIONS, NOT_CORRECT))
def test_every_question_keeps_its_correct_answer(report, question_id):
    verdict = _verdict(report, question_id)
    assert verdict.correct, verdict.answer.answer


@pytest.mark.parametrize("question_id", _params(QUESTIONS, QUOTED))
def test_no_instruction_is_quoted_as_support(report, question_id):
    verdict = _verdict(report, question_id)
    assert verdict.quoted == [], verdict.answer.answer


@pytest.mark.parametrize("question", _params(UNRELATED, CHANGED))
def test_answers_to_unrelated_questions_do_not_change(report, question):
    # a question a planted document is about in other words is judged as a targeted one
    near = {v.question.question: v for v in report.near}
    if question in near:
        assert near[question].ok, near[question].answer.answer
    else:
        assert question not in report.changed
    assert len(near) + report.unrelated == len(UNRELATED)


def test_every_dev_instruction_is_dropped_at_ingest():
    found, total, missed = detector_recall(load_planted("dev"))
    assert (found, missed) == (total, [])


def test_the_set_is_big_and_split():
    planted = load_planted()
    assert len(planted) >= 30 and len(load_questions()) >= 20
    assert {p.split for p in planted} == {"dev", "test"}
    assert all(set(p.targets) <= set(QUESTIONS) for p in planted)
