"""The claim verifier's windows: a neighbour or the title may carry what the question asks about."""

from __future__ import annotations

import pytest

from embeddings.chunking import load_nlp
from embeddings.encoder import default_encoder
from eval.claims import Case
from qa.support import ClaimVerifier, SupportedClaim

pytestmark = pytest.mark.slow


def _kept(question: str, claim: str, passage: str, title: str = "") -> bool:
    case = Case(id="t:w:bare", split="dev", source="t", form="bare", question=question, claim=claim,
                accept=True, title=title, passage=passage)
    verdict = ClaimVerifier(case.evidence(load_nlp()), default_encoder()).check(claim)
    return isinstance(verdict, SupportedClaim)


WING = ("The museum's new wing opened to visitors on Monday after four years of building work. "
        "It was designed by the architect Lena Ortiz, who also planned the city library.")
RIVAL = ("The museum's new wing was designed by the architect Lena Ortiz. "
         "Its opening was attended by the mayor, Carl Brandt, and a crowd of schoolchildren.")


def test_a_neighbour_may_carry_the_question_terms_of_the_answer_sentence() -> None:
    assert _kept("Who designed the museum's new wing?", "Lena Ortiz [1].", WING)


def test_a_neighbour_that_holds_its_own_answer_does_not_lend_its_terms() -> None:
    assert _kept("Who designed the museum's new wing?", "Lena Ortiz [1].", RIVAL)
    assert not _kept("Who designed the museum's new wing?", "Carl Brandt [1].", RIVAL)
