"""qa.text: the shared word tables, citation marker and tokenizer."""

from __future__ import annotations

from qa.text import (
    ABBREVIATIONS,
    MARKER,
    MONTHS,
    content_terms,
    number_words,
    quotes_exactly,
    stemmer,
    words,
)


def test_the_marker_finds_citation_numbers_only():
    assert MARKER.findall("Troops arrived [1] [12]. See (3) and [a].") == ["1", "12"]


def test_number_words_cover_a_range_without_synonyms():
    assert number_words(2, 4) == {"two": 2, "three": 3, "four": 4}
    assert "dozen" not in number_words(1, 12)


def test_months_map_names_and_abbreviations_to_their_number():
    assert MONTHS["sept"] == MONTHS["september"] == 9
    assert MONTHS["may"] == 5


def test_titles_and_month_abbreviations_are_abbreviations_but_may_is_not():
    assert {"mr", "lt", "jan", "u.s"} <= ABBREVIATIONS
    assert "may" not in ABBREVIATIONS


def test_content_terms_fold_forms_keep_numbers_and_drop_stop_words():
    assert content_terms("The French troops fell") == content_terms("France troop falls")
    assert "four" in content_terms("the four missions")
    assert content_terms("it was the one that they said") == ["one"]


def test_words_keep_hyphens_and_apostrophes_together():
    assert words("Al-Qaeda’s well-armed men") == ["al-qaeda's", "well-armed", "men"]


def test_bm25_and_content_terms_share_one_stemmer():
    assert stemmer() is stemmer()
    assert content_terms("offensives") == stemmer().stemWords(["offensives"])


def test_a_quote_is_exact_only_at_its_own_real_span():
    text = "Islamists took Konna."
    assert quotes_exactly(text, 0, 9, "Islamists")
    assert not quotes_exactly(text, 1, 10, "Islamists")
    assert not quotes_exactly(text, 5, 5, "")  # an empty span quotes nothing
    assert not quotes_exactly(text, 15, 40, "Konna.")  # past the end
    assert not quotes_exactly(None, 0, 9, "Islamists")  # unknown document
