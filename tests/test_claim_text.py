"""What the claim verifier reads a question as asking (qa.claim_text.asked)."""

from __future__ import annotations

from qa.claim_text import affirmed_terms, asked, negated_terms, numbers, renamed
from qa.question import NUMBER, PLACE


def test_a_where_clause_after_a_noun_asks_no_place_when_a_figure_is_asked() -> None:
    needs = asked("The area where the town now sits has been inhabited for how many years?").parsed.needs
    assert NUMBER in needs and PLACE not in needs
    assert PLACE in asked("Where has the area been inhabited for many years?").parsed.needs
    assert PLACE in asked("The area where the town now sits is in which country?").parsed.needs


def test_affirmed_terms_skip_only_what_a_negation_reaches() -> None:
    assert "court" in affirmed_terms("Couples go to court, although there is no court intervention.")
    assert "court" not in affirmed_terms("Couples did not go to court.")


def test_renamed_finds_a_country_the_source_names_another_way() -> None:
    assert renamed("the United States", "America's jobless rate") == {"unit", "state"}
    assert renamed("the UK", "British exports") == {"uk"}
    assert renamed("the United States", "British exports") == set()
    assert renamed("us and them", "America") == set()  # "us" is no country


def test_numbers_read_figures_spelt_inside_compounds() -> None:
    assert numbers("after a four-day strike") == {"4"}
    assert numbers("twenty-five workers and 2,000 troops") == {"25", "2000"}
    assert numbers("a well-known firm") == set()


def test_a_colon_ends_a_negations_reach() -> None:
    assert negated_terms("What do they not own: the land") == {"<not>"}
    assert "land" in affirmed_terms("What do they not own: the land")
    assert negated_terms("They do not own the land") == {"land"}
