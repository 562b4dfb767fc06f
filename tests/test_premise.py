"""A sentence that misses the question's premise by one detail does not answer it."""

from __future__ import annotations

from embeddings.records import Entity, Sentence
from qa.answer import ExtractiveGenerator
from qa.premise import near_miss
from qa.question import parse_question
from qa.records import Evidence, Passage, ScoredSentence


def test_a_negation_on_another_word_or_on_the_asked_one_misses() -> None:
    question = "Which bridge in Quilltown was never repainted?"
    assert near_miss(question, "The Acme bridge in Quilltown was never rebuilt, only repainted.")
    assert not near_miss(question, "The Acme bridge in Quilltown was never repainted.")
    assert near_miss("Who attended the Quilltown fair?", "Acme did not attend the Quilltown fair.")
    assert not near_miss("Who attended the Quilltown fair?", "Acme attended the Quilltown fair.")
    # a yes-no question is answered either way; a "not" between nouns negates no verb
    assert not near_miss("Did Acme attend the Quilltown fair?", "Acme did not attend the Quilltown fair.")
    assert not near_miss("What did Acme call its campaign against litter?",
                         "Acme called its campaign against litter 'Bins not litter'.")
    # "no" denies a noun, the way a clause aside does ("no court ruling"), not what is asked
    assert not near_miss("How many couples go to court each year?",
                         "Some 900 couples go to court each year, though most get no court ruling.")
    # a question denying nothing it names ("that others don't") leaves the sentence to its words
    assert not near_miss("What right do mayors have that clerks don't?",
                         "Mayors, not clerks, have the right to veto.")


def test_the_prefixed_opposite_of_a_question_s_word_misses() -> None:
    assert near_miss("Which mayor of Quilltown was unpopular?", "The mayor of Quilltown was popular.")
    assert near_miss("Which mayor of Quilltown was popular?", "The mayor of Quilltown was unpopular.")
    assert near_miss("What does disconnecting the Acme boxes let them do?",
                     "Connecting the Acme boxes lets them share files.")
    assert near_miss("Which league was Acme included in?", "Acme was excluded from the Quill league.")
    assert not near_miss("Which mayor of Quilltown was popular?", "The mayor of Quilltown was popular.")
    # "in-" of a word that is no adjective is no negation ("income" is no "come")
    assert not near_miss("What income did Acme report?", "Whatever may come, Acme reported a profit.")


def test_another_degree_of_the_question_s_superlative_misses() -> None:
    question = "What is the largest town in Quill county?"
    assert near_miss(question, "Acme is the second-largest town in Quill county.")
    assert near_miss(question, "Acme is larger than any village in Quill county.")
    assert not near_miss(question, "Acme is the largest town in Quill county.")
    assert near_miss("What is the second largest town in Quill county?", "Acme is the largest town there.")
    assert near_miss("Which lake is the lowest in Quill county?", "Acme lake is the highest in Quill county.")
    assert near_miss("What was the least popular show in 2015?", "Acme was the most popular show in 2015.")


def test_how_many_years_needs_a_count_of_years() -> None:
    question = "How many years did the Quilltown bridge take to build?"
    assert near_miss(question, "The Quilltown bridge was finished in 1921.")
    assert near_miss(question, "The Quilltown bridge took 800 days to build.")
    assert not near_miss(question, "The Quilltown bridge took twelve years to build.")
    assert not near_miss(question, "Building the Quilltown bridge took a decade and 3 years.")


def test_a_fact_dated_to_another_year_the_same_way_misses() -> None:
    question = "What was the jobless rate in Quilltown as of 2011?"
    assert near_miss(question, "Quilltown had a 4.1% jobless rate as of April 2009.")
    assert not near_miss(question, "Quilltown had a 4.1% jobless rate as of 2011.")
    assert not near_miss(question, "Quilltown, founded in 1820, had a 4.1% jobless rate.")
    # "in", "on" and "during" a year all say when
    assert near_miss("Which town was formed when Quill merged with Acme in 1967?",
                     "On October 1, 1968, Quill merged with Acme to form Quillacme.")


def _evidence(question_text: str, *texts: str) -> tuple[object, Evidence]:
    doc = " ".join(texts)
    passage = Passage(doc_id="d", title="", source=None, published=None, text=doc, start=0, end=len(doc),
                      score=1.0)
    question = parse_question(question_text)
    scored = []
    for i, text in enumerate(texts):
        start = doc.index(text)
        people = [Entity(text=m, label="PERSON", start=text.index(m), end=text.index(m) + len(m))
                  for m in ("Ann Lee", "Bo Kay") if m in text]
        sentence = Sentence(doc_id="d", start=start, end=start + len(text), text=text, entities=tuple(people))
        scored.append(ScoredSentence(sentence=sentence, passage=0, score=0.9 - 0.1 * i))
    weights = tuple((t, 1.0) for t in question.terms)
    return question, Evidence(question=question.text, passages=(passage,), sentences=tuple(scored),
                              parsed=question, term_weights=weights)


def test_the_reader_refuses_a_sentence_that_near_misses_the_question() -> None:
    question, evidence = _evidence("Who was the unpopular mayor of Quilltown?",
                                   "Ann Lee was the popular mayor of Quilltown.")
    assert ExtractiveGenerator().answer(question, evidence).abstained  # type: ignore[arg-type]
    question, evidence = _evidence("Who was the popular mayor of Quilltown?",
                                   "Ann Lee was the popular mayor of Quilltown.")
    answer = ExtractiveGenerator().answer(question, evidence)  # type: ignore[arg-type]
    assert not answer.abstained and "Ann Lee" in answer.answer


def test_a_near_miss_best_sentence_is_not_replaced_by_a_weaker_one() -> None:
    question, evidence = _evidence("Who was the least popular mayor of Quilltown?",
                                   "Ann Lee was the most popular mayor of Quilltown.",
                                   "Bo Kay was a mayor of Quilltown too.")
    assert ExtractiveGenerator().answer(question, evidence).abstained  # type: ignore[arg-type]


def test_the_question_s_subject_in_the_answer_s_place_misses() -> None:
    question = "What was Quill FM later renamed as?"
    assert near_miss(question, "Acme Radio was later re-named as 'Quill FM' in 2011.")
    assert not near_miss(question, "Quill FM was later renamed as Acme Radio in 2011.")
    assert near_miss("Who was Acme sold to?", "Bolt Ltd was sold to Acme in 2001.")
    assert not near_miss("Who was Acme sold to?", "Acme was sold to Bolt Ltd in 2001.")


def test_another_doer_or_object_of_the_question_s_verb_misses() -> None:
    question = "In what year was Finch hired to design the new harbour?"
    assert near_miss(question, "In 1972, Abel Tarrow was hired to design the new harbour.")
    assert not near_miss(question, "In 1972, Finch was hired to design the new harbour.")
    question = "Where did the crew bury the chest?"
    assert near_miss(question, "The crew buried a cannon near the old lighthouse.")
    assert not near_miss(question, "The crew buried the chest near the old lighthouse.")
    assert not near_miss(question, "They buried it near the old lighthouse.")  # a pronoun may refer back
    # a name and a common noun may be one thing; so may phrases sharing a word
    assert not near_miss("When did Acme open the plant?", "The firm opened the plant in 2004.")
    assert not near_miss("How fast did the spam websites run?", "The spam sites ran at full speed.")


def test_a_name_said_elsewhere_in_the_sentence_is_not_the_one_in_the_verb_s_place() -> None:
    question = "In what year was Finch hired to design the new harbour?"
    assert near_miss(question, "In 1972, Abel Tarrow was hired to design the new harbour, "
                               "later praised by the architects Finch & Moor.")
    assert not near_miss(question, "In 1972, Abel Tarrow and Finch were hired to design the new harbour.")


def test_another_count_of_the_question_s_counted_noun_misses() -> None:
    question = "Which league do six of the rowing clubs belong to?"
    assert near_miss(question, "Three of the rowing clubs belong to the Northern League, "
                               "and six of the tennis clubs play in Quilltown.")
    assert not near_miss(question, "Six of the rowing clubs belong to the Northern League.")
    assert not near_miss("Where did the 12 climbers camp?", "The twelve climbers camped below the ridge.")


def test_a_noun_the_sentence_says_another_verb_of_is_not_in_the_question_s_place() -> None:
    question = "When did Acme settle its dispute with Bolt?"
    assert near_miss(question, "Acme settled the tax case in 2004, but the dispute with Bolt goes on.")
    assert not near_miss(question, "Acme settled the dispute with Bolt in 2004.")


def test_what_a_passive_question_asks_of_a_noun_an_active_sentence_says_of_its_object() -> None:
    question = "How were the pipes lined?"
    assert not near_miss(question, "Some builders lined the pipes with copper, and the pipes lasted longer.")
    assert near_miss(question, "Some builders lined the walls with copper, and the pipes lasted longer.")


def test_have_and_do_place_no_doer() -> None:
    assert not near_miss("What rights do the clubs have?",
                         "The clubs keep the right to pick members, though a guest may have a pass.")


def test_a_name_said_with_the_question_s_verb_in_the_other_place_is_no_rival() -> None:
    # either player may be said to play the other
    assert not near_miss("Who played Ann Lee in the final?", "Ann Lee played Bo Kay in the final.")


def test_a_question_dated_before_christ_or_to_a_century_is_not_answered_of_another() -> None:
    question = "Which tribe farmed the valley in 900 BC?"
    assert near_miss(question, "In the 12th century, the valley was farmed by the Quill tribe.")
    assert not near_miss(question, "In 900 BC, the valley was farmed by the Quill tribe.")
    question = "Which tribe farmed the valley in the 12th century?"
    assert near_miss(question, "In the 14th century, the valley was farmed by the Quill tribe.")
    assert not near_miss(question, "In the 12th century, the valley was farmed by the Quill tribe.")


def test_a_noun_said_each_time_as_another_kind_than_the_question_s_misses() -> None:
    question = "What grant can a pupil at a rural academy win?"
    context = "Rural academies teach farming. Urban academies teach trade."
    sentence = "At some urban academies a pupil may win a travel grant."
    assert near_miss(question, sentence, context)
    # the question's own kind in the sentence, or a kind the texts never tell apart, answers it
    assert not near_miss(question, "At some rural academies a pupil may win a travel grant.", context)
    assert not near_miss(question, sentence, "Urban academies teach trade.")
    # a question weighing two kinds asks of both; "the spread of seeds" says "seed spread"
    assert not near_miss("What right do rural academies have that urban academies lack?",
                         "Rural academies keep the right to pick pupils.", context)
    assert not near_miss("How is seed spread measured near Quilltown?",
                         "The slow spread of seeds is measured near Quilltown.",
                         "Seed spread is slow. Wind spread is fast.")


def test_a_word_said_only_as_what_is_set_aside_misses() -> None:
    sentence = ("Quill clubs are paid for by members' dues rather than relying on council grants, "
                "so they choose their own coaches.")
    assert near_miss("What kind of grants pay for Quill clubs?", sentence)
    assert near_miss("What grants pay for Quill clubs?",
                     "Quill clubs are paid for by dues instead of grants.")
    # the question sets the same word aside: the sentence says what is so instead
    assert not near_miss("Rather than grants, what pays for Quill clubs?", sentence)
    # said outside the aside too, it is stated
    assert not near_miss("What grants pay for Quill clubs?",
                         "Quill clubs get council grants, rather than relying on grants from members.")
    # the aside reaches only its first words: "coaches" is stated after it
    assert not near_miss("Who chooses the coaches of Quill clubs?",
                         "Quill clubs rely on dues rather than on council grants paying the coaches.")
