"""One source against the rest: a key fact one document alone gives, contradicted by the other
documents, is shown beside their value with its source and date, in both modes."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from msgspec.structs import replace

from embeddings.records import Entity, Sentence
from qa import llm as llm_module
from qa.answer import ExtractiveGenerator, setting_terms
from qa.conflicts import SOURCES_DIFFER, hold_lone_values
from qa.counted import counts_group
from qa.llm import LLMGenerator
from qa.question import parse_question
from qa.records import Answer, NewDocument, ScoredSentence
from qa.settings import GeneratorSettings
from qa.verify import cite, invariant_violations

QUESTION = "Who took Konna and when?"
LONE_CLAIM = "French paratroopers captured Konna on 2 February 2013, local officials said."


@pytest.fixture()
def planted(fresh_service):
    """The seeds plus one document that alone gives another actor and date for Konna."""
    fresh_service.add_document(NewDocument(
        doc_id="lone", title="Konna", source="Plain Wire", published="2013-02-03",
        text=f"Konna\n\n{LONE_CLAIM}\n\nThe town's market reopened on Saturday.\n",
    ))
    return fresh_service


def _side_by_side(answer: Answer, service) -> None:
    assert not answer.abstained
    assert "Islamists" in answer.answer and "January 10" in answer.answer  # the seeds' value
    if "2 February" in answer.answer:  # the lone value only beside it, its source named
        assert "According to Plain Wire (3 February 2013)" in answer.answer
        assert "According to AFP (21 January 2013)" in answer.answer
    assert invariant_violations(answer, lambda d: service.document(d).text) == []


def test_extractive_answer_shows_a_lone_value_beside_the_others(planted):
    answer = planted.ask_sync(QUESTION)
    _side_by_side(answer, planted)
    assert {c.doc_id for c in answer.citations} >= {"lone", "001_9587e132223c5d31"}


def test_a_corroborated_answer_is_not_challenged(seed_service):
    answer = seed_service.ask_sync("Who is the French defence minister?")
    assert "Le Drian" in answer.answer and "According to" not in answer.answer


def _reply(text: str):
    async def handler(request: httpx.Request) -> httpx.Response:
        event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}
        body = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return handler


def _llm_answer(encoder, question: str, evidence, reply: str) -> Answer:
    """The LLM generator's answer when the model replies with ``reply``."""
    settings = GeneratorSettings(mode="llm", llm_base_url="http://127.0.0.1:9/v1", llm_timeout=5.0)

    async def ask() -> Answer:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_reply(reply))) as client:
            generator = LLMGenerator(settings, client, encoder, fallback=ExtractiveGenerator())
            return await generator.generate(question, evidence)

    return asyncio.run(ask())


def test_llm_answer_adopting_a_lone_value_is_replaced_by_the_values_side_by_side(planted):
    evidence = planted.retrieve(QUESTION)
    n = next(i for i, p in enumerate(evidence.passages, start=1) if "paratroopers" in p.text)
    answer = _llm_answer(planted.encoder, QUESTION, evidence,
                         f"French paratroopers captured Konna on 2 February 2013 [{n}].")
    assert answer.fallback_reason == SOURCES_DIFFER
    _side_by_side(answer, planted)
    assert "2 February" in answer.answer


def test_the_rival_value_is_sought_beyond_the_passages_the_model_reads(planted, monkeypatch):
    """The model reads the best few passages; the other documents' value may be in a later one."""
    evidence = planted.retrieve(QUESTION)
    n = next(i for i, p in enumerate(evidence.passages) if "paratroopers" in p.text)
    rival = next(i for i, p in enumerate(evidence.passages) if "January 10" in p.text)
    assert n < rival  # the lone claim is shown, the seeds' value is not
    monkeypatch.setattr(llm_module, "LLM_PASSAGES", rival)
    answer = _llm_answer(planted.encoder, QUESTION, evidence,
                         f"French paratroopers captured Konna on 2 February 2013 [{n + 1}].")
    assert answer.fallback_reason == SOURCES_DIFFER
    _side_by_side(answer, planted)


def test_the_rival_count_is_the_one_said_of_the_asked_thing(seed_service):
    """Of another document's counts, the rival is the troop commitment (its holder named in the
    sentence before), not the soldiers killed in the sentence that names the country (which may
    follow it as a runner-up, as in the extractive answer)."""
    question = "How many soldiers has Nigeria committed to Mali?"
    evidence = seed_service.retrieve(question)
    n = next(i for i, p in enumerate(evidence.passages, start=1) if "250 soldiers" in p.text)
    reply = f"So far, 250 soldiers from Nigeria and Togo have joined the Franco-Malian forces [{n}]."
    answer = _llm_answer(seed_service.encoder, question, evidence, reply)
    assert answer.fallback_reason == SOURCES_DIFFER
    text = answer.answer
    assert "1,200 soldiers" in text
    if "killed two soldiers" in text:  # a runner-up, after its document's rival
        assert text.index("1,200 soldiers") < text.index("killed two soldiers")


def test_an_llm_answer_resting_on_corroborated_facts_is_kept(seed_service):
    evidence = seed_service.retrieve("Who is the French defence minister?")
    cited = next(s for s in evidence.sentences if "Le Drian" in s.sentence.text)
    passage = evidence.passages[cited.passage]
    answer = Answer(question=evidence.question, answer="Jean-Yves Le Drian [1].", abstained=False,
                    citations=[cite(1, cited.sentence, passage, cited.score)], mode="llm")
    assert hold_lone_values(evidence.question, answer, evidence) is answer


def test_an_llm_answer_is_kept_when_another_figure_only_scores_close(seed_service):
    """The extractive answer lists runners-up with other figures; no other document says the same
    thing with another value, so the model's answer stands."""
    question = "How many operations did the French military carry out in Mali over the weekend?"
    evidence = seed_service.retrieve(question)
    cited = next(s for s in evidence.sentences if "a dozen operations" in s.sentence.text)
    answer = Answer(question=question, answer="A dozen operations [1].", abstained=False, mode="llm",
                    citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)])
    assert len(seed_service.ask_sync(question, mode="extractive").citations) > 1  # a runner-up is shown
    assert hold_lone_values(question, answer, evidence) is answer


def test_a_figure_that_recurs_for_another_fact_does_not_corroborate_a_lone_count(fresh_service):
    # "2,000" is also France's troop figure in a seed; it says nothing about Benin's soldiers
    fresh_service.add_document(NewDocument(
        doc_id="benin", title="Benin", source="Plain Wire", published="2013-01-24",
        text="Benin\n\nBenin is now sending 2,000 soldiers to Mali, a spokesman said on Thursday.\n",
    ))
    question = "How many soldiers is Benin now sending to Mali?"
    evidence = fresh_service.retrieve(question)
    cited = next(s for s in evidence.sentences if "2,000 soldiers" in s.sentence.text)
    answer = Answer(question=question, answer="Benin is now sending 2,000 soldiers to Mali [1].",
                    abstained=False, mode="llm",
                    citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)])
    held = hold_lone_values(question, answer, evidence)
    assert held.fallback_reason == SOURCES_DIFFER
    assert "650 soldiers" in held.answer and "According to Plain Wire" in held.answer


def test_an_llm_answer_adopting_a_lone_count_shows_what_the_extractive_answer_shows(fresh_service):
    """The llm check shows the extractive answer's same-count runners-up too: once other reports
    name Benin, "sending" is the count's rarest word, so "boosting ... to 650 soldiers" is no
    lone-value rival, only a runner-up counting the same soldiers."""
    for n, text in enumerate(["Benin is now sending 2,000 soldiers to Mali, a spokesman said on Thursday.",
                              "Benin's parliament met in Porto-Novo on Tuesday.",
                              "The president of Benin spoke to reporters in Cotonou."]):
        fresh_service.add_document(NewDocument(
            doc_id=f"benin{n}", title="Benin", source="Plain Wire", published="2013-01-24",
            text=f"Benin\n\n{text}\n",
        ))
    question = "How many soldiers is Benin now sending to Mali?"
    evidence = fresh_service.retrieve(question)
    n = next(i for i, p in enumerate(evidence.passages, start=1) if "2,000 soldiers" in p.text)
    answer = _llm_answer(fresh_service.encoder, question, evidence,
                         f"Benin is now sending 2,000 soldiers to Mali [{n}].")
    assert answer.fallback_reason == SOURCES_DIFFER
    assert "650 soldiers" in answer.answer and "According to Plain Wire" in answer.answer
    assert answer.answer == fresh_service.ask_sync(question, mode="extractive").answer
    assert invariant_violations(answer, lambda d: fresh_service.document(d).text) == []


AIR_RAIDS = "When did France launch its first air raids in Mali?"


@pytest.fixture()
def echo(fresh_service):
    """The seeds plus a quiz answer key that repeats the question word for word with another date;
    the seeds' sentence leaves the country to its article's title ("... press attack in Mali ...")."""
    fresh_service.add_document(NewDocument(
        doc_id="quiz", title="Mali quiz", source="Quiz Corner", published="2013-01-25",
        text=f"Mali quiz\n\nAnswer key. Q: {AIR_RAIDS} A: France launched its first air raids in Mali "
             "on 20 January 2013.\n\nThe quiz is published every Friday.\n",
    ))
    return fresh_service


def _both_dates(answer: Answer, service) -> None:
    assert "11 January 2013" in answer.answer  # the seeds' "last Friday", dated
    if "20 January" in answer.answer:
        assert "According to Quiz Corner (25 January 2013)" in answer.answer
    assert invariant_violations(answer, lambda d: service.document(d).text) == []


def test_a_lone_value_that_echoes_the_question_is_shown_beside_the_others(echo):
    _both_dates(echo.ask_sync(AIR_RAIDS), echo)


def test_an_llm_answer_adopting_an_echoed_lone_value_is_replaced(echo):
    evidence = echo.retrieve(AIR_RAIDS)
    cited = next(s for s in evidence.sentences if "20 January" in s.sentence.text)
    answer = Answer(question=AIR_RAIDS, answer="On 20 January 2013 [1].", abstained=False, mode="llm",
                    citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)])
    held = hold_lone_values(AIR_RAIDS, answer, evidence)
    assert held.fallback_reason == SOURCES_DIFFER
    _both_dates(held, echo)


_SUMS = [  # one false sum, from two sources
    ("Brussels Wire", "The European Union has pledged 75 million euros for the African force in Mali, "
                      "officials in Brussels said on Wednesday."),
    ("Euro Desk", "Brussels has put up 75 million euros for the African force, the European Union pledged "
                  "at a meeting of its foreign ministers."),
]


@pytest.mark.parametrize("copies", [1, 2])
def test_a_planted_sum_is_shown_beside_the_sum_the_seeds_give(fresh_service, copies):
    """"How much money": the seeds' "pledging 50 million euros" says money by its currency; a second
    source repeating the planted sum does not silence the seeds (copies are not independent witnesses)."""
    for n, (source, sentence) in enumerate(_SUMS[:copies]):
        fresh_service.add_document(NewDocument(
            doc_id=f"sum{n}", title="EU money", source=source, published="2013-01-23",
            text=f"EU money\n\n{sentence}\n\nThe money will pay for transport.\n",
        ))
    answer = fresh_service.ask_sync("How much money has the European Union pledged for the African force?")
    assert "50 million euros" in answer.answer
    if "75 million" in answer.answer:
        assert "(23 January 2013)" in answer.answer and "According to AFP" in answer.answer
    assert invariant_violations(answer, lambda d: fresh_service.document(d).text) == []


def test_a_date_the_seeds_give_another_event_does_not_corroborate_a_lone_date(fresh_service):
    """18 January is the day the Islamists left Diabaly (a seed); it does not back a claim that the
    town fell that day."""
    fresh_service.add_document(NewDocument(
        doc_id="borrowed", title="Diabaly timeline", source="Segou Herald", published="2013-01-24",
        text="Diabaly timeline\n\nDiabaly fell to the Islamists on 18 January 2013, a local official "
             "said.\n\nShops in the town stayed shut for most of the week.\n",
    ))
    answer = fresh_service.ask_sync("When did Diabaly fall to the Islamists?")
    assert "14 January" in answer.answer
    if "18 January 2013, a local" in answer.answer:
        assert "According to Segou Herald (24 January 2013)" in answer.answer
    assert invariant_violations(answer, lambda d: fresh_service.document(d).text) == []


def test_an_llm_answer_citing_one_of_two_copies_is_replaced(fresh_service):
    """The model cites one copy of a planted sum; the other copy does not silence the seeds."""
    for n, (source, sentence) in enumerate(_SUMS):
        fresh_service.add_document(NewDocument(
            doc_id=f"sum{n}", title="EU money", source=source, published="2013-01-23",
            text=f"EU money\n\n{sentence}\n\nThe money will pay for transport.\n",
        ))
    question = "How much money has the European Union pledged for the African force?"
    evidence = fresh_service.retrieve(question)
    cited = next(s for s in evidence.sentences if "75 million" in s.sentence.text)
    answer = hold_lone_values(question, Answer(
        question=question, answer="75 million euros [1].", abstained=False, mode="llm",
        citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)],
    ), evidence)
    assert answer.fallback_reason == SOURCES_DIFFER
    assert "50 million euros" in answer.answer and "According to AFP" in answer.answer
    assert invariant_violations(answer, lambda d: fresh_service.document(d).text) == []


@pytest.mark.parametrize(("question", "terms"), [
    (AIR_RAIDS, {"mali"}),
    ("Who is France's foreign minister?", set()),  # a holder, not where it happens
    ("How many Senegalese soldiers arrived in Bamako?", {"bamako"}),
    ("Where was the summit of West African leaders held?", set()),
])
def test_a_title_may_name_only_where_the_question_sets_its_event(question, terms):
    assert setting_terms(question) == terms


SUMMIT = "Where was the summit of West African leaders held?"


def _place(service, city: str):
    """The seeds plus one document that alone puts the summit in another city."""
    service.add_document(NewDocument(
        doc_id="place", title="Summit", source="Coast Wire", published="2013-01-20",
        text=f"Summit\n\nThe summit of West African leaders was held in {city} on Saturday, "
             "officials said.\n",
    ))
    return service


@pytest.fixture()
def other_place(fresh_service):
    return _place(fresh_service, "Lagos")


def test_a_lone_place_is_shown_only_beside_the_others(other_place):
    answer = other_place.ask_sync(SUMMIT)
    assert "Abidjan" in answer.answer
    if "Lagos" in answer.answer:
        assert "According to Coast Wire (20 January 2013)" in answer.answer
    assert invariant_violations(answer, lambda d: other_place.document(d).text) == []


@pytest.mark.parametrize("city", ["Lagos", "Dakar"])  # the tagger reads "Dakar" as a person
def test_an_llm_answer_adopting_a_lone_place_is_replaced_by_the_places_side_by_side(fresh_service, city):
    service = _place(fresh_service, city)
    evidence = service.retrieve(SUMMIT)
    cited = next(s for s in evidence.sentences if city in s.sentence.text)
    answer = Answer(question=SUMMIT, answer=f"It was held in {city} [1].", abstained=False, mode="llm",
                    citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)])
    held = hold_lone_values(SUMMIT, answer, evidence)
    assert held.fallback_reason == SOURCES_DIFFER
    assert "Abidjan" in held.answer and "According to Coast Wire (20 January 2013)" in held.answer


def test_a_place_no_other_document_contradicts_is_kept(seed_service):
    evidence = seed_service.retrieve(SUMMIT)
    cited = next(s for s in evidence.sentences if "Abidjan" in s.sentence.text)
    answer = Answer(question=SUMMIT, answer="In Abidjan [1].", abstained=False, mode="llm",
                    citations=[cite(1, cited.sentence, evidence.passages[cited.passage], cited.score)])
    assert hold_lone_values(SUMMIT, answer, evidence) is answer


def _sentence(text: str, *names: tuple[str, str], score: float = 0.6) -> ScoredSentence:
    entities = tuple(Entity(label=label, text=name, start=text.index(name), end=text.index(name) + len(name))
                     for label, name in names)
    numbers = tuple(re.findall(r"\d[\d,]*", text))
    return ScoredSentence(sentence=Sentence(doc_id="d", start=0, end=len(text), text=text, entities=entities,
                                            numbers=numbers), passage=0, score=score)


@pytest.mark.parametrize(("text", "names", "counts"), [
    ("A contingent of roughly 100 Malian soldiers sped there.", [], True),
    ("Mali sent 300 soldiers north on Friday.", [("GPE", "Mali")], True),
    ("They sent 300 soldiers north on Friday.", [], True),
    ("Benin is now sending 2,000 soldiers to Mali.", [("GPE", "Benin"), ("GPE", "Mali")], False),
    ("It raised its troop commitment for Mali to 1,200 soldiers.", [("GPE", "Mali")], False),
    ("Meanwhile 50 Senegalese soldiers arrived in the capital.", [], False),
    ("Of these, 1,800 soldiers fight alongside Malian forces.", [("NORP", "Malian")], False),
    ("About 100 Malian civilians fled.", [], False),
])
def test_a_qualified_count_is_only_the_figure_of_that_group(text, names, counts):
    question = parse_question("How many Malian soldiers were rushed to Banamba?")
    assert counts_group(_sentence(text, *names).sentence, question) is counts


def test_a_sentence_for_each_named_country_does_not_follow_the_scores():
    """Documents added elsewhere move the scores; the sentence picked for a name stays the same."""
    question = parse_question("Who are the foreign ministers of France and Mali?")
    chosen = _sentence("French Foreign Minister Laurent Fabius said so.", ("PERSON", "Laurent Fabius"))
    fit = _sentence("Mali's Foreign Minister Tieman Coulibaly spoke.", ("PERSON", "Tieman Coulibaly"))
    loose = _sentence("In Mali, the long war went on, Jean Dupont of the army said on Friday.",
                      ("PERSON", "Jean Dupont"))
    picks = set()
    for a, b in ((0.7, 0.5), (0.5, 0.7)):
        ranked = sorted([chosen, replace(fit, score=a), replace(loose, score=b)], key=lambda s: -s.score)
        extra = ExtractiveGenerator()._each_named(question, ranked, [chosen], ranked[0].score)
        picks |= {s.sentence.text for s in extra}
    assert picks == {fit.sentence.text}
