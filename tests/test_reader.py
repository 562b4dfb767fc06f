"""The reader's general mechanisms: question anchors and the asked-for span."""

from __future__ import annotations

from embeddings.records import Entity, Sentence
from qa.answer import short_answer
from qa.question import AGENT, NUMBER, PERSON, parse_question
from qa.reader import anchors_of, matched


def _sentence(
    text: str, entities: tuple[tuple[str, str], ...] = (), numbers: tuple[str, ...] = ()
) -> Sentence:
    ents = tuple(
        Entity(text=t, label=label, start=text.index(t), end=text.index(t) + len(t)) for t, label in entities
    )
    return Sentence(doc_id="d", start=0, end=len(text), text=text, entities=ents, dates=(), numbers=numbers)


def test_a_swapped_year_figure_or_name_is_not_matched() -> None:
    text = "The proclamation of 1863 was signed by Lincoln before a 12-hour debate in the Senate."
    assert matched(anchors_of("Who signed the proclamation of 1863?"), text)
    assert not matched(anchors_of("Who signed the proclamation of 1836?"), text)
    assert not matched(anchors_of("How long was the debate in the French Senate?"), text)
    assert not matched(anchors_of("Who signed the proclamation in March?"), text)


def test_a_name_is_matched_by_its_last_word_and_by_its_demonym() -> None:
    assert matched(anchors_of("How much did George Galloway win?"), "Mr Galloway won £150,000.")
    assert matched(anchors_of("How many troops has France sent?"), "French troops number 2,000.")


def test_invisible_characters_do_not_split_a_name() -> None:
    text = "The Quill\u200bmere harbour recorded 412 vessels."
    assert matched(anchors_of("What did Quillmere record?"), text)


def test_coordinated_names_need_only_one_per_sentence() -> None:
    anchors = anchors_of("How far are Banamba and Niono from Bamako?")
    assert matched(anchors, "Banamba is 90 miles from Bamako.")
    assert not matched(anchors, "Banamba is 90 miles from the capital.")


def test_who_is_a_named_person_asks_for_no_name() -> None:
    assert not parse_question("Who is Le Drian?").needs & {PERSON, AGENT}
    assert PERSON in parse_question("Who is France's foreign minister?").needs
    assert NUMBER in parse_question("How old is Dustin Hoffman?").needs


def test_short_answer_is_one_asked_for_span_or_none() -> None:
    distances = _sentence("The towns are 20 miles and 215 miles away, troops said.", numbers=("20", "215"))
    assert short_answer(parse_question("How many troops are there?"), [distances]) is not None
    fee = _sentence("Sky charges a £10 subscription fee to the service.", numbers=("10",))
    assert short_answer(parse_question("How much is the subscription fee?"), [fee]) == "£10 subscription"
    who = _sentence("Le Drian, the defence minister of France, spoke.", entities=(("Le Drian", "PERSON"),
                                                                              ("France", "GPE")))
    assert short_answer(parse_question("Who is Le Drian?"), [who]) is None
    nobody = _sentence("The offensive went on for days.")
    assert short_answer(parse_question("Who led the offensive?"), [nobody]) is None
