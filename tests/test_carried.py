"""A follow-up's carried referents (", regarding X and Y"): any one of them, not all, must be met."""

from __future__ import annotations

from qa.claim_text import asked
from qa.question import carried_apart, parse_question
from qa.reader import anchors_of, matched
from qa.retrieve import term_weights

CARRYING = "How many aircraft has it taken delivery of, regarding Zenair, March and passenger numbers?"


def test_a_question_splits_into_what_it_asks_and_what_it_carried() -> None:
    assert carried_apart(CARRYING) == (
        "How many aircraft has it taken delivery of?", "Zenair, March and passenger numbers")
    assert carried_apart("What did she say regarding taxes?") == ("What did she say regarding taxes?", "")
    assert carried_apart(", regarding Zenair?") == (", regarding Zenair?", "")


def test_what_it_asks_comes_from_its_own_words() -> None:
    parsed = parse_question(CARRYING)
    assert parsed.text == CARRYING
    assert parsed.counted == ("aircraft",)
    assert set(parsed.carried) == {"zenair", "march", "passeng", "number"}
    assert set(parsed.terms) == {"aircraft", "take", "deliveri", *parsed.carried}
    plain = parse_question("How many aircraft has Zenair taken delivery of?")
    assert plain.carried == ()


def test_the_carried_referents_share_one_terms_weight() -> None:
    idf = {"aircraft": 2.0, "take": 1.0, "deliveri": 1.0, "zenair": 4.0, "march": 2.0,
           "passeng": 2.0, "number": 2.0}
    weights = term_weights(idf, parse_question(CARRYING))
    assert weights["aircraft"] == 2.0
    assert weights["zenair"] == 1.0  # 4.0 shared by the four carried terms
    assert sum(weights[t] for t in ("zenair", "march", "passeng", "number")) == 2.5


def test_a_window_needs_one_carried_referent_not_all() -> None:
    anchors = anchors_of(CARRYING)
    assert not anchors.months  # "March" was carried along, not asked about
    assert frozenset({"zenair", "march", "passeng", "number"}) in anchors.choices
    assert matched(anchors, "Zenair has taken delivery of six aircraft.")
    assert not matched(anchors, "Skyways has taken delivery of six aircraft.")
    # asked plainly, the month is still required
    assert anchors_of("How many aircraft did Zenair take in March?").months == frozenset({"march"})


def test_the_verifier_keys_on_what_is_asked_and_groups_the_carried() -> None:
    question = asked(CARRYING)
    assert question.text == CARRYING
    assert "passeng" not in question.key and "aircraft" in question.key
    assert frozenset({"zenair", "march", "passeng", "number"}) in question.name_groups
    assert not question.dates  # the carried month constrains nothing
