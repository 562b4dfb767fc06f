"""Follow-up questions: the standalone rewrite, the history the API takes, and the gold dialogues."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from litestar.testing import TestClient

from eval.dialogues import load_dialogues, run_dialogue
from qa.app import create_app
from qa.followup import (
    MAX_TURNS,
    Turn,
    invented,
    keeps_user_words,
    resolved_in_place,
    rewrite,
    standalone_chain,
)
from qa.followup_llm import llm_standalone, same_grounds
from qa.records import Evidence, Passage
from qa.service import QAService
from qa.settings import GeneratorSettings

KONNA = "Who took Konna?"


@pytest.mark.parametrize(("previous", "question", "expected"), [
    (KONNA, "How many French troops are in Mali?", "How many French troops are in Mali?"),
    ("How many soldiers has Nigeria committed to Mali?", "Who is France's foreign minister?",
     "Who is France's foreign minister?"),
    (KONNA, "And who is the French defence minister?", "Who is the French defence minister?"),
    ("Who is the French defence minister?", "What did France say its aim was?",
     "What did France say its aim was?"),
])
def test_a_question_that_stands_alone_keeps_its_words(previous: str, question: str, expected: str) -> None:
    assert rewrite(question, previous, "Islamists") == expected


def test_a_pronoun_takes_the_previous_answer_or_subject() -> None:
    assert rewrite("What did he say about the hostages?", "Who is the French defence minister?",
                   "Le Drian") == "What did Le Drian say about the hostages?"
    assert rewrite("When did they leave it?", "When did Islamists seize Diabaly?") == (
        "When did Islamists leave Diabaly?")


def test_an_event_pronoun_carries_the_previous_names_and_keeps_every_user_word() -> None:
    question = "And when did that happen?"
    standalone = rewrite(question, KONNA, "Islamists")
    assert "Konna" in standalone and "Islamists" in standalone
    assert keeps_user_words(question, standalone)


def test_a_demonstrative_takes_the_description_the_previous_question_gave_its_noun() -> None:
    previous = "Which union called the strike in Leeds that halted car production?"
    question = "When did that strike end?"
    standalone = rewrite(question, previous)
    assert standalone == "When did the strike in Leeds that halted car production end?"
    assert keeps_user_words(question, standalone)
    # the noun asked about ("which strike") has no description to give: the names are carried
    assert rewrite("When did that strike end?", "Which strike halted car production in Leeds?") == (
        "When did that strike end, regarding Leeds and car production?")


def test_it_agrees_strictly_so_one_thing_is_enough_but_they_may_be_a_group() -> None:
    previous = "Which day did the ministers approve the budget?"
    assert rewrite("When was it published?", previous) == "When was the budget published?"
    # "how many net cafes" offers the net cafes; with the authorities also plural, "they" is unsure
    assert "regarding" in rewrite("When did they open?", "How many net cafes did the authorities close?")


def test_a_bare_and_asks_the_previous_question_about_the_new_name() -> None:
    previous = "How many soldiers has Nigeria committed to Mali?"
    assert rewrite("What about Benin?", previous) == "How many soldiers has Benin committed to Mali?"


def test_a_three_turn_chain_resolves_each_turn_against_the_one_before() -> None:
    history = [Turn(question="When did Islamists seize Diabaly?"),
               Turn(question="When did they leave it?")]
    standalone = standalone_chain("Where did they go then?", history)
    assert "Diabaly" in standalone and "Islamists" in standalone


def test_keeps_user_words_rejects_a_dropped_constraint_or_number() -> None:
    question = "How many French troops were there on 17 January?"
    assert keeps_user_words("And when did that happen?", "When did the Islamists seize Konna?")
    assert keeps_user_words(question, "How many French troops were in Mali on 17 January?")
    assert not keeps_user_words(question, "How many troops were in Mali on 17 January?")
    assert not keeps_user_words(question, "How many French troops were in Mali in January?")


def _llm_replying(text: str | None, status: int = 200) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"choices": [{"message": {"role": "assistant", "content": text}}]}
        return httpx.Response(status, json=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(("question", "reply", "status", "expected"), [
    ("And when did that happen?", "When did the Islamists seize Konna?", 200,
     "When did the Islamists seize Konna?"),  # "that happen" stood for the event
    ("How many soldiers did they send there in January?", "How many soldiers did Nigeria send?",
     200, None),  # drops "January"
    ("How many soldiers did they send there?", '"How many soldiers did Nigeria send to Mali?"',
     200, "How many soldiers did Nigeria send to Mali?"),
    ("How many soldiers did they send there?", "How many soldiers did Ghana send to Mali?",
     200, None),  # nobody said Ghana
    ("How many soldiers did they send there?", "How many soldiers did they send there?", 200, None),
    ("And when did that happen?", "", 200, None),
    ("How many operations did it carry out?", "The French army carried out 12 operations.", 200,
     None),  # answered instead of rewriting
    ("Where did that attack happen?", "Ansaru claimed the attack. Where did the attack happen?",
     200, None),  # explains first
    ("What kind of law have they imposed there?", "What kind of law have they imposed in Mali?",
     200, None),  # "they" still points outside
    ("And when did that happen?", "When did the Islamists seize Konna?", 503, None),
])
def test_the_llm_rewrite_is_kept_only_when_it_keeps_the_user_words(
    question: str, reply: str, status: int, expected: str | None
) -> None:
    settings = GeneratorSettings(llm_base_url="http://llm.invalid/v1")

    async def run() -> str | None:
        async with _llm_replying(reply, status) as client:
            return await llm_standalone(client, settings, question, [
                Turn(question="How many soldiers has Nigeria committed to Mali?", short_answer="1,200"),
                Turn(question=KONNA, short_answer="Islamists"),
            ])

    assert asyncio.run(run()) == expected


@pytest.fixture(scope="module")
def client(seed_service: QAService) -> Iterator[TestClient]:
    settings = seed_service.settings
    settings = replace(settings, server=replace(settings.server, rate_limit="off"))
    with TestClient(create_app(settings, service=seed_service)) as test_client:
        yield test_client


def test_ask_with_history_answers_the_standalone_question(client: TestClient) -> None:
    history = [{"question": KONNA, "short_answer": "Islamists"}]
    body = client.post("/v1/ask", json={"question": "And when did that happen?", "history": history})
    assert body.status_code == 200, body.text
    answer = body.json()
    assert answer["question"] == "And when did that happen?"
    assert "Konna" in answer["standalone_question"]
    assert not answer["abstained"]
    assert re.search(r"January 10|10 January", answer["answer"])


def test_ask_without_history_answers_the_question_as_asked(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": "When did that happen?"}).json()
    assert answer["standalone_question"] == "When did that happen?"


@pytest.mark.parametrize(("history", "says"), [
    ([{"question": KONNA}] * (MAX_TURNS + 1), "length"),
    ([{"question": "   "}], "empty question"),
    ([{"question": KONNA, "answer": "x" * 5000}], "answer is 5000 characters"),
    ([{"question": KONNA, "extra": 1}], "extra"),
    ([{"answer": "no question"}], "question"),
    ("not a list", "array"),
])
def test_bad_history_gets_a_400_that_says_what_is_wrong(
    client: TestClient, history: object, says: str
) -> None:
    response = client.post("/v1/ask", json={"question": "When?", "history": history})
    assert response.status_code == 400
    assert says in json.dumps(response.json())


def test_chat_completions_reads_the_whole_conversation(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "When did Diabaly fall to the Islamists?"},
        {"role": "assistant", "content": "On 14 January [1].\n\nSources:\n[1] ..."},
        {"role": "user", "content": "On what date did they leave it?"},
    ]
    reply = client.post("/v1/chat/completions", json={"messages": messages})
    assert reply.status_code == 200, reply.text
    content = reply.json()["choices"][0]["message"]["content"]
    assert re.search(r"January 18|18 January|Friday", content), content
    alone = client.post("/v1/chat/completions", json={"messages": messages[-1:]}).json()
    assert alone["choices"][0]["message"]["content"] != content


def test_dialogues_file_is_large_enough_and_varied() -> None:
    dialogues = load_dialogues()
    assert len(dialogues) >= 40
    kinds = [t.kind for d in dialogues for t in d.turns]
    assert kinds.count("switch") >= 5
    assert sum(t.must_abstain for d in dialogues for t in d.turns[1:]) >= 5
    assert {len(d.turns) for d in dialogues} == {2, 3}
    assert {d.split for d in dialogues} == {"dev", "test"}
    for d in dialogues:
        assert all(re.fullmatch(r"bbc_[a-z]+_\d{3}\.txt", name) for name in d.bbc_files)


def test_seed_dialogues_never_let_a_topic_switch_inherit(seed_service: QAService) -> None:
    seeds_only = [d for d in load_dialogues() if not d.bbc_files]

    def ask(question: str, history: object) -> object:
        return seed_service.ask_sync(question, history=history)

    results = [r for d in seeds_only for r in run_dialogue(d, ask)]  # type: ignore[arg-type]
    switches = [r for r in results if r.kind == "switch"]
    assert switches and not any(r.inherited for r in switches)


def test_possessives_are_not_doubled() -> None:
    assert rewrite("And Mali's?", "Who is France's foreign minister?", "Fabius") == (
        "Who is Mali's foreign minister?")
    assert rewrite("What did its film division earn?", "Which company's profits rose 76%?",
                   "Time Warner's") == "What did Time Warner's film division earn?"


def test_a_date_answer_is_not_what_a_pronoun_points_to() -> None:
    standalone = rewrite("Where are they hiding now?", "On what date did the Islamists leave Diabaly?",
                         "18 January 2013")
    assert "January" not in standalone


def test_a_follow_up_near_the_length_limit_is_still_answered(client: TestClient) -> None:
    question = ("What did it say about " + "the troops " * 90)[:995].rstrip() + "?"
    history = [{"question": "When did Islamists seize the town of Konna in central Mali?"}]
    response = client.post("/v1/ask", json={"question": question, "history": history})
    assert response.status_code == 200, response.text
    assert response.json()["standalone_question"] == question


def test_a_rewrite_is_resolved_in_place_unless_it_carries_earlier_names_as_a_tail() -> None:
    who = [Turn(question="Who is the French defence minister?", short_answer="Jean-Yves Le Drian")]
    in_place = standalone_chain("Which organisation does he lead?", who)
    assert resolved_in_place("Which organisation does he lead?", in_place)
    event = "And when did that happen?"
    carried = standalone_chain(event, [Turn(question=KONNA, short_answer="Islamists")])
    assert not resolved_in_place(event, carried)
    assert not resolved_in_place(KONNA, KONNA)


def test_in_llm_mode_the_model_rewrites_only_what_the_rule_left_unresolved(fake_service: QAService) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content)["messages"][-1]["content"])
        body = {"choices": [{"message": {"role": "assistant",
                                         "content": "When did the Islamists seize Konna?"}}]}
        return httpx.Response(200, json=body)

    gen = replace(fake_service.settings.generator, mode="llm", llm_base_url="http://llm.invalid/v1")
    fake_service.settings = replace(fake_service.settings, generator=gen)
    fake_service._http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    who = [Turn(question="Who is the French defence minister?", short_answer="Jean-Yves Le Drian")]
    konna = [Turn(question=KONNA, short_answer="Islamists")]

    async def run() -> tuple[str, str]:
        try:
            return (await fake_service.standalone("Which organisation does he lead?", who),
                    await fake_service.standalone("And when did that happen?", konna))
        finally:
            await fake_service.aclose()

    in_place, by_model = asyncio.run(run())
    assert in_place == "Which organisation does Jean-Yves Le Drian lead?"
    assert by_model == "When did the Islamists seize Konna?"
    assert len(asked) == 1 and "when did that happen" in asked[0]


def _found(*where: tuple[str, int]) -> Evidence:
    passages = tuple(Passage(doc_id=doc, title=doc, source=None, published=None, text="x", start=start,
                             end=start + 1, score=1.0) for doc, start in where)
    return Evidence(question="q", passages=passages, sentences=())


def test_the_model_rewrite_must_find_first_a_passage_the_rule_form_finds() -> None:
    rule = _found(("a", 0), ("a", 500), ("b", 0))
    assert same_grounds(rule, _found(("a", 500), ("c", 0)), read=2)
    assert not same_grounds(rule, _found(("b", 0), ("a", 0)), read=2)  # the rule's third: not read
    assert not same_grounds(rule, _found(("a", 1), ("a", 0)), read=3)  # another passage of a
    assert not same_grounds(rule, _found(), read=3)


def test_a_rewrite_naming_what_nobody_said_is_made_up() -> None:
    said = ["Who took Konna?", "Islamists seized the town on 10 January [1]."]
    assert invented("And when did that happen?", "When did Islamists seize Konna?", said) == []
    assert invented("And when did that happen?", "When did Ansar Dine seize Konna in 2013?",
                    said) == ["Ansar", "Dine", "2013"]
    assert invented("And in 2012?", "Who took Konna in 2012?", said) == []  # the user's own number


def test_in_llm_mode_a_rewrite_that_finds_other_passages_gives_way_to_the_rule(
    fake_service: QAService,
) -> None:
    drifted = "When did the Nigerian soldiers die in an attack in Kogi?"

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"choices": [{"message": {"role": "assistant", "content": drifted}}]}
        return httpx.Response(200, json=body)

    gen = replace(fake_service.settings.generator, mode="llm", llm_base_url="http://llm.invalid/v1")
    fake_service.settings = replace(fake_service.settings, generator=gen)
    fake_service._http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    said = "Islamists took Konna, and Nigerian soldiers died in an attack in Kogi."
    history = [Turn(question=KONNA, answer=said)]

    async def run() -> str:
        try:
            return await fake_service.standalone("And when did that happen?", history)
        finally:
            await fake_service.aclose()

    standalone = asyncio.run(run())
    assert standalone != drifted and "Konna" in standalone
    assert not fake_service._same_grounds(standalone, drifted)
