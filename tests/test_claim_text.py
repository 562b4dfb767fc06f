"""What the claim verifier reads a question as asking (qa.claim_text.asked)."""

from __future__ import annotations

from qa.claim_text import asked
from qa.question import NUMBER, PLACE


def test_a_where_clause_after_a_noun_asks_no_place_when_a_figure_is_asked() -> None:
    needs = asked("The area where the town now sits has been inhabited for how many years?").parsed.needs
    assert NUMBER in needs and PLACE not in needs
    assert PLACE in asked("Where has the area been inhabited for many years?").parsed.needs
    assert PLACE in asked("The area where the town now sits is in which country?").parsed.needs
