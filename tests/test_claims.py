"""The claim-verification benchmark (eval/claims.jsonl) through the real verifier and encoder."""

from __future__ import annotations

import pytest

from eval.claims import GATE_ACCEPT, GATE_REJECT, judge, load_cases, rates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def verdicts(encoder):
    return judge(load_cases(), encoder)


def test_benchmark_has_enough_cases_of_every_form(verdicts) -> None:
    forms = {v.case.form for v in verdicts}
    assert len(verdicts) >= 250
    assert {"bare", "restated", "sentence", "shortened"} <= forms
    assert {"swapped_number", "swapped_date", "neighbour_entity", "negated", "addition",
            "other_question"} <= forms
    assert {v.case.split for v in verdicts} == {"dev", "test"}
    assert {v.case.source for v in verdicts} == {"seeds", "news", "squad"}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_faithful_claims_are_kept_and_corrupted_ones_dropped(verdicts, split) -> None:
    measured = rates([v for v in verdicts if v.case.split == split])
    assert measured["accept_rate"] >= GATE_ACCEPT, measured
    assert measured["reject_rate"] >= GATE_REJECT, measured


def test_swapped_figures_and_added_negations_are_never_kept(verdicts) -> None:
    for v in verdicts:
        if v.case.form in ("swapped_number", "swapped_date", "negated", "addition"):
            assert not v.kept, (v.case.id, v.case.claim)
