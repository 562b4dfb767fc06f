"""The claim verifier's reading of what a question asks: names by their head, the kind of answer."""

from __future__ import annotations

import pytest

from embeddings.chunking import load_nlp
from embeddings.encoder import default_encoder
from eval.claims import Case, load_cases
from qa.support import ClaimVerifier, DroppedClaim, SupportedClaim

pytestmark = pytest.mark.slow


def _verdict(question: str, claim: str, passage: str, title: str = "") -> SupportedClaim | DroppedClaim:
    case = Case(id="t:a:bare", split="dev", source="t", form="bare", question=question, claim=claim,
                accept=True, title=title, passage=passage)
    return ClaimVerifier(case.evidence(load_nlp()), default_encoder()).check(claim)


SPEECH = ("The chancellor delivered his Budget to a packed chamber. During his 49 minute speech "
          "Mr Brown told MPs he had hit his growth target.")
TOUR = ("Two executives of Arsenal are travelling round Japan and China at the moment, building "
        "relationships with clubs across Asia.")
SIEGE = ("The town of Konna fell to Islamist fighters on 10 January. Its capture by the rebels "
         "triggered the French intervention, Malian officials said.")


def test_a_name_asked_is_matched_by_its_head() -> None:
    assert isinstance(_verdict("How long did Gordon Brown's Budget speech last?", "49 minutes [1].", SPEECH),
                      SupportedClaim)
    dropped = _verdict("How long did Gordon Smith's Budget speech last?", "49 minutes [1].", SPEECH)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "unconstrained"


def test_a_peoples_adjective_before_a_noun_qualifies_but_a_shorter_form_adds_nothing() -> None:
    assert isinstance(_verdict("Which Asian countries are Arsenal executives touring?", "Japan [1].", TOUR),
                      SupportedClaim)
    dropped = _verdict("Which Asian countries are Arsenal executives touring?", "Asia [1].", TOUR)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "no_answer"


def test_answers_of_the_wrong_kind_are_dropped() -> None:
    place = _verdict("The capture of which town triggered the French intervention?", "Malian [1].", SIEGE)
    assert isinstance(place, DroppedClaim) and place.reason == "wrong_type"
    date = _verdict("What triggered the French intervention?", "10 January [1].", SIEGE)
    assert isinstance(date, DroppedClaim) and date.reason == "wrong_type"
    kind = _verdict("What type of fighters took Konna?", "10 [1].", SIEGE)
    assert isinstance(kind, DroppedClaim) and kind.reason == "wrong_type"
    assert isinstance(_verdict("The capture of which town triggered the French intervention?", "Konna [1].",
                               SIEGE), SupportedClaim)


BROADBAND = ("BT said 600,000 more people signed up for its broadband in the last three months, its best "
             "quarter yet.")
PHARMACY = ("The clinical pharmacist's role involves creating a comprehensive drug therapy plan for "
            "patient-specific problems.")


def test_a_figure_inside_a_date_counts_nothing_asked() -> None:
    question = "How many people signed up for BT broadband in the last quarter?"
    dropped = _verdict(question, "the last three months [1].", BROADBAND)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "600,000 [1].", BROADBAND), SupportedClaim)


def test_a_number_word_in_the_question_is_no_figure_to_find_and_a_when_clause_asks_no_date() -> None:
    example = "creating a comprehensive drug therapy plan [1]."
    assert isinstance(_verdict("What is one example of what a clinical pharmacist's duties entail?", example,
                               PHARMACY), SupportedClaim)
    dropped = _verdict("What is 1 example of what a clinical pharmacist's duties entail?", example, PHARMACY)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "unconstrained"
    assert isinstance(_verdict("What happens when a clinical pharmacist meets a patient?",
                               "a comprehensive drug therapy plan [1].", PHARMACY), SupportedClaim)


def test_a_sentence_stating_every_key_term_is_not_outranked_by_one_stating_fewer() -> None:
    # the seed article: a sentence about French ministers' views sits closer to the question, as an
    # embedding, than the one naming the foreign minister
    case = next(c for c in load_cases(split="dev") if c.id == "seeds:who-02:bare")
    assert isinstance(_verdict(case.question, case.claim, case.passage, case.title), SupportedClaim)


def test_restating_the_other_part_of_a_compound_question_is_free() -> None:
    # the whole question also names Paris, which this passage never does: only its first part is met
    question = "What type of fighters took Konna, and what did Paris say about it?"
    claim = "What type of fighters took Konna, and what did Paris say about it: Islamist fighters [1]."
    assert isinstance(_verdict(question, claim, SIEGE), SupportedClaim)


OUTPUT = ("Industrial production in Ruritania continued to rise in November, at a slower pace than in "
          "October. The statistics office said output from factories, mines and utilities rose 0.4%, in "
          "line with forecasts.")


def test_for_a_figure_asked_only_a_sentence_with_another_figure_offers_a_rival_answer() -> None:
    # the neighbour says what grew and states no figure: it lends its terms to the one that does
    question = "By how much did Ruritanian industrial production grow in November?"
    assert isinstance(_verdict(question, "0.4% [1].", OUTPUT), SupportedClaim)


def test_a_window_lent_its_terms_by_a_neighbour_is_outranked_by_a_far_closer_rival() -> None:
    # the news article: "Harry Potter" stands beside the sentence naming the winning presenters
    case = next(c for c in load_cases(split="dev") if c.id == "news:news-list-06:neighbour_entity")
    verdict = _verdict(case.question, case.claim, case.passage, case.title)
    assert isinstance(verdict, DroppedClaim) and verdict.reason == "off_question"


QUARTER = ("BT reports that more people signed up for broadband in the last three months than in any "
           "other quarter. The 600,000 connections take the number of people signing up for broadband "
           "from BT to almost 3.3 million.")


def test_a_figure_inside_a_date_is_no_rival_count() -> None:
    question = "How many people signed up for BT broadband in the last quarter?"
    assert isinstance(_verdict(question, "600,000 [1].", QUARTER), SupportedClaim)


SUMMIT = ("Ivory Coast President Alassane Ouattara called for more support for Mali at the summit. "
          "The Turkish economics minister, Ali Babacan, said Turkey had reached agreement.")


def test_a_person_titled_by_another_country_holds_no_role_of_the_country_asked() -> None:
    for claim in ("Alassane Ouattara [1].", "Alassane Ouattara is the president of Mali [1]."):
        dropped = _verdict("Who is the president of Mali?", claim, SUMMIT)
        assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    # the country asked titles the person in its people's word: "Turkish" for Turkey
    assert isinstance(_verdict("Who is Turkey's economics minister?", "Ali Babacan [1].", SUMMIT),
                      SupportedClaim)
    assert isinstance(_verdict("Who is the Ivory Coast president?", "Alassane Ouattara [1].", SUMMIT),
                      SupportedClaim)


def test_a_close_sentence_lacking_the_question_terms_yields_to_a_closer_one_stating_them() -> None:
    # the news article: "90 million" discarded handsets sits beside the sentence giving the share
    # handed back; the question's terms stand only in the latter, which is a little closer still
    for form in ("neighbour_entity", "other_question"):
        case = next(c for c in load_cases(split="dev") if c.id == f"news:news-num-43:{form}")
        verdict = _verdict(case.question, case.claim, case.passage, case.title)
        assert isinstance(verdict, DroppedClaim) and verdict.reason == "off_question"
    kept = next(c for c in load_cases(split="dev") if c.id == "news:news-num-43:bare")
    assert isinstance(_verdict(kept.question, kept.claim, kept.passage, kept.title), SupportedClaim)


def test_a_name_the_tagger_missed_is_a_rival_answer_to_a_question_asking_for_one() -> None:
    # the news article: "Group E" is tagged as nothing, yet the sentence naming it answers "which group"
    for form in ("neighbour_entity", "other_question"):
        case = next(c for c in load_cases(split="dev") if c.id == f"news:news-fact-10:{form}")
        verdict = _verdict(case.question, case.claim, case.passage, case.title)
        assert isinstance(verdict, DroppedClaim) and verdict.reason == "off_question"


def test_a_place_the_tagger_calls_a_people_still_answers_where() -> None:
    # the seed article: "Kidal" is tagged as a people (NORP); "Islamists" is one, and answers no where
    case = next(c for c in load_cases(split="dev") if c.id == "seeds:where-08:bare")
    assert isinstance(_verdict(case.question, case.claim, case.passage, case.title), SupportedClaim)
    dropped = _verdict("Where did the militants abandon their positions?", "Islamists [1].",
                       "The Islamists abandoned their positions in Kidal.")
    assert isinstance(dropped, DroppedClaim)


COUNCIL = ("Margaret Hale has said the council needs a new budget. Councillor Hale, who was the first "
           "woman to chair the committee, spoke on Monday.")


def test_a_person_named_in_full_elsewhere_in_the_passage_is_found_by_the_surname() -> None:
    question = "Who was the first woman to chair the committee?"
    verdict = _verdict(question, "Margaret Hale [1].", COUNCIL)
    assert isinstance(verdict, SupportedClaim)
    assert verdict.supports[0].sentence.text.startswith("Councillor Hale")
    for wrong in ("Margaret Smith [1].", "Peter Hale [1]."):
        assert isinstance(_verdict(question, wrong, COUNCIL), DroppedClaim)


PENSION = ("Ann Lee, 50, claims she has been betrayed by her former employer, who promised she would be "
           "paid a pension. But despite a £65,000 settlement four years ago, she says she has been denied "
           "the pension.")


def test_an_age_or_date_is_no_rival_to_a_sum_asked() -> None:
    # the closer sentence states only "50", an age the tagger reads as a date: no rival amount paid
    assert isinstance(_verdict("How much was Ann Lee paid by her former employer?", "£65,000 [1].", PENSION),
                      SupportedClaim)


COURTS = ("Between 15,000 and 20,000 couples go to court to resolve access disputes each year, although "
          "in nine out of 10 separations there is no court intervention.")


def test_a_term_the_source_also_states_unnegated_is_not_denied() -> None:
    question = "How many couples end up in court each year over access to their children?"
    claim = "How many couples end up in court each year over access to their children: 15,000 [1]."
    assert isinstance(_verdict(question, claim, COURTS), SupportedClaim)
    denied = _verdict("How many couples went to court?", "15,000 couples went to court each year [1].",
                      "Last year 15,000 couples did not go to court at all.")
    assert isinstance(denied, DroppedClaim)


RACE = "Coach Ada Okafor praised her Kenyan runner Juma Otieno after the race in Berlin on Sunday."


def test_a_person_titled_by_the_people_the_question_names_holds_the_role_asked() -> None:
    assert isinstance(_verdict("Who is the Kenyan runner Ada Okafor praised?", "Juma Otieno [1].", RACE),
                      SupportedClaim)


OBITUARY = ("Record producer Ada Okafor, who made hits with the singer Juma Otieno and the Night Owls, has "
            "died aged 62. She died on Friday at her home in Lagos after a long illness.")


def test_a_person_answers_no_where_unless_the_passage_titles_it_by_the_place_noun_asked() -> None:
    where = "Where did the producer Ada Okafor die?"
    claim = ("Record producer Ada Okafor, who made hits with the singer Juma Otieno and the Night Owls, "
             "has died aged 62 [1].")
    dropped = _verdict(where, claim, OBITUARY)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(where, "Lagos [1].", OBITUARY), SupportedClaim)
    # "Konna" is tagged a person here; "the town of" titles it as the town asked
    retaken = "Officials say the army has retaken the town of Konna, whose capture set off the intervention."
    which = "The capture of which town set off the intervention?"
    assert isinstance(_verdict(which, "Konna [1].", retaken), SupportedClaim)


def test_a_relative_clause_binds_what_is_asked_to_the_name_it_follows() -> None:
    board = "Lady Okafor, who was the first woman to chair the board, said Juma Otieno had backed the reform."
    question = "Who was the first woman to chair the board?"
    dropped = _verdict(question, "Juma Otieno [1].", board)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "Lady Okafor [1].", board), SupportedClaim)


JOBS = ("Analysts expect America's 6.1% jobless rate to fall next year. Factory orders rose 2.2% in "
        "the spring.")


def test_a_country_asked_or_named_by_another_of_its_names_is_the_same_country() -> None:
    assert isinstance(_verdict("What is the jobless rate in the States?", "6.1% [1].", JOBS),
                      SupportedClaim)
    assert isinstance(_verdict("What is the jobless rate in the States?",
                               "The jobless rate in the United States is 6.1% [1].", JOBS), SupportedClaim)
    other = _verdict("What is the jobless rate in Britain?", "6.1% [1].", JOBS)
    assert isinstance(other, DroppedClaim) and other.reason == "unconstrained"
    assert isinstance(_verdict("What is the jobless rate in the States?",
                               "The jobless rate in Canada is 6.1% [1].", JOBS), DroppedClaim)


MOTHS = "Whenever the lamps are switched off, the moths settle on the walls. Keepers feed them ripe fruit."


def test_an_occasion_the_source_states_answers_when() -> None:
    assert isinstance(_verdict("When do the moths settle on the walls?", "switched off [1].", MOTHS),
                      SupportedClaim)
    for other in ("ripe fruit [1].", "walls [1]."):
        assert isinstance(_verdict("When do the moths settle on the walls?", other, MOTHS), DroppedClaim)


CRITICS = "The drama Greyhaven was named best film at the junior awards by the critics"
AWARDS = ("Young viewers picked the cartoon Moonfall as best film at the junior awards on Sunday. The "
          f"ceremony was held in a packed theatre. Tickets sold out within hours. {CRITICS}.")


def test_a_sentence_stating_far_more_of_the_question_about_as_closely_holds_the_answer() -> None:
    question = "Which film did young viewers pick as best film at the junior awards?"
    assert isinstance(_verdict(question, "Moonfall [1].", AWARDS), SupportedClaim)
    for claim in ("Greyhaven [1].", f"{CRITICS} [1]."):
        dropped = _verdict(question, claim, AWARDS)
        assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"


CHALLENGE = ("Harlow, held on remand at the time, brought a legal challenge in 2004 in which he sought "
             "£7,000. Lawyers for the government declined to comment.")


def test_the_closest_sentence_with_the_passages_only_answer_of_the_kind_answers_reworded() -> None:
    question = "How much did the jailed burglar originally ask for?"
    kept = _verdict(question, "£7,000 [1].", f"{CHALLENGE} The appeal court will rule next spring.")
    assert isinstance(kept, SupportedClaim)
    rival = _verdict(question, "£7,000 [1].", f"{CHALLENGE} The court awarded him £2,500 last spring.")
    assert isinstance(rival, DroppedClaim) and rival.reason == "off_question"
    assert isinstance(_verdict(question, "£7,000 [1].", CHALLENGE), DroppedClaim)  # two sentences: no choice


STRIKE = ("Ferry strike ends\n\nCrews on the Quillsound ferries returned to work on Monday after a four-day "
          "strike over pay. The union accepted a rise of 6% over two years.")
GARDENS = ("Acme's private gardens are not open to the public; the firm can choose its own visitors, "
           "a spokeswoman said.")


def test_a_figure_spelt_inside_a_compound_word_answers_how_long() -> None:
    question = "How long did the Quillsound ferry strike last?"
    assert isinstance(_verdict(question, "four-day [1].", STRIKE), SupportedClaim)
    dropped = _verdict(question, "five-day [1].", STRIKE)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "unsupported"


def test_a_restated_negative_question_does_not_negate_its_answer() -> None:
    question = "What can Acme do that the public can't?"
    restated = "What can Acme do that the public can't: choose its own visitors [1]."
    assert isinstance(_verdict(question, restated, GARDENS), SupportedClaim)
    dropped = _verdict(question, "Acme does not choose its own visitors [1].", GARDENS)
    assert isinstance(dropped, DroppedClaim)


FINE = ("Ferran was fined on Tuesday for insulting Quillmere forward Dario Pell last month. The Quillmere "
        "Football Association at first declined to act against Ferran, but was later asked to by the sports "
        "ministry. The fine was far smaller than the expected sum.")


def test_a_reworded_sentence_answers_only_when_no_closer_one_is_in_its_passage() -> None:
    # near the question as a whole, but none of its terms, and another sentence is nearer still
    question = "Which Quillmere striker did coach Ferran make his remarks to?"
    dropped = _verdict(question, "The Quillmere Football Association [1].", FINE)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"


LIBRARY = ("The Marlow Street library in Ashbury will close in April because the council can no longer "
           "afford to run it. The building, which opened in 1905, has 30,000 books. Campaigners collected "
           "5,600 signatures against the closure.")


def test_a_sentence_keeping_the_question_in_near_synonyms_is_not_outranked_by_a_closer_one() -> None:
    # "the building" is the library asked about; the closer sentence says nothing of opening
    question = "When did the Marlow Street library open?"
    assert isinstance(_verdict(question, "1905 [1].", LIBRARY), SupportedClaim)
    dropped = _verdict(question, "1907 [1].", LIBRARY)
    assert isinstance(dropped, DroppedClaim)


HARBOUR = ("Tarvin\n\nDutch marines captured Tarvin on 4 March 1944, local historians say.\n\n"
           "The harbour reopened in May.")


def test_a_heading_that_only_repeats_the_question_does_not_outrank_the_reworded_answer() -> None:
    # "captured" rewords "took", and keeps no other term of the question; the heading "Tarvin" is
    # closer to the question but says nothing more, so the reworded sentence is the closest that answers
    question = "Who took Tarvin and when?"
    kept = _verdict(question, "Dutch marines captured Tarvin on 4 March 1944 [1].", HARBOUR)
    assert isinstance(kept, SupportedClaim)
    assert kept.supports[0].sentence.text.startswith("Dutch marines")
    assert isinstance(_verdict(question, "Dutch marines captured Tarvin on 5 March 1944 [1].", HARBOUR),
                      DroppedClaim)


PAYOUT = ("Tom Reed, 47, says the council broke its promise to cover his legal costs. He was later paid "
          "£30,000 in compensation by the council, his lawyer said.")


def test_an_age_or_date_gives_no_sum_asked() -> None:
    question = "How much was Tom Reed paid by the council?"
    wrong = "Tom Reed, 47, says the council broke its promise to cover his legal costs [1]."
    assert isinstance(_verdict(question, wrong, PAYOUT), DroppedClaim)
    assert isinstance(_verdict(question, "£30,000 [1].", PAYOUT), SupportedClaim)


def test_an_age_asked_is_answered_by_a_figure_the_tagger_reads_as_a_date() -> None:
    passage = "Tom Reed, 47, retired from the council last year after a long illness."
    assert isinstance(_verdict("How old was Tom Reed when he retired from the council?", "47 [1].", passage),
                      SupportedClaim)


PANEL = ("Talks on the Quillmere bridge repairs have been making steady progress, officials said. The chair "
         "of the review panel, engineer Maren Holt of Ashbury, warned that much work remained.")


def test_a_neighbour_stating_far_more_of_the_question_with_an_answer_of_its_own_holds_the_answer() -> None:
    # the first sentence is about the repairs, but only the next one says who chairs the panel: a
    # neighbour naming its own answer is no context lending its terms, it is where the answer is
    question = "Which engineer chairs the review panel on the Quillmere bridge repairs?"
    dropped = _verdict(question, "Talks on the Quillmere bridge repairs have been making steady progress, "
                                 "officials said [1].", PANEL)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "Maren Holt [1].", PANEL), SupportedClaim)


TIDES = ("Tide tables were first printed in the town in 1820. However, the earliest surviving records of the "
         "study of tides come from the harbour guild of Quillmere. Holt also showed how to predict a spring "
         "tide from the phases of the moon. The almanac of Maren Holt lists the tides of the whole coast.")


def test_a_name_opening_a_sentence_is_a_rival_answer_when_the_tagger_named_it_elsewhere() -> None:
    # "Holt" opens the sentence that says who showed it: untagged there, but named in the next one
    question = "Who showed how to predict a spring tide from the phases of the moon?"
    dropped = _verdict(question, "the harbour guild of Quillmere [1].", TIDES)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "Holt [1].", TIDES), SupportedClaim)


LITTER = ("The Quillmere council's \"Keep streets tidy\" campaign asked residents to pick up litter on "
          "their own streets. Officials said the idea was to get volunteers cleaning the streets every week "
          "and to cut the cost of litter.")


def test_a_short_capitalised_quotation_is_a_name_that_may_answer_what_a_thing_is_called() -> None:
    # the campaign's name is quoted, in lower case after its first word: a rival answer all the same
    question = "What did the Quillmere council call its campaign against litter?"
    idea = "Officials said the idea was to get volunteers cleaning the streets every week and to cut the cost"
    dropped = _verdict(question, f"{idea} of litter [1].", LITTER)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "Keep streets tidy [1].", LITTER), SupportedClaim)


QUILLET = ("The quillet is kept in a wooden box beside the harbour master's desk. Every pilot once carried a "
           "quillet, a small brass whistle used to signal other boats.")


def test_what_is_a_thing_is_answered_by_a_sentence_that_says_what_it_is() -> None:
    # the first sentence is about the quillet, but says where it is kept, not what it is
    question = "What is a quillet?"
    dropped = _verdict(question, "The quillet is kept in a wooden box beside the harbour master's desk [1].",
                       QUILLET)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict(question, "a small brass whistle [1].", QUILLET), SupportedClaim)


RETAKEN = ("A senior officer warned that parts of Ballina's population were sympathetic to the rebels, which "
           "made the task difficult. Officials say the army has also retaken the town of Quillmere, whose "
           "capture by rebels triggered the intervention.")


def test_a_neighbour_naming_its_own_town_of_the_kind_asked_lends_no_terms_to_another_town() -> None:
    # the tagger calls Quillmere an organisation: "the town of" is what makes it the rival answer
    question = "The capture of which town triggered the intervention?"
    dropped = _verdict(question, "The capture of Ballina triggered the intervention [1].", RETAKEN)
    assert isinstance(dropped, DroppedClaim)
    kept = _verdict(question, "The capture of Quillmere triggered the intervention [1].", RETAKEN)
    assert isinstance(kept, SupportedClaim)


ENTERED = ("Troops have entered the contested town of Ballina after the retreat of the fighters. About 30 "
           "armoured vehicles went in without resistance, local media reported. Residents said the fighters "
           "had fled after airstrikes last week.")


def test_the_closest_sentence_naming_only_the_kind_asked_does_not_answer_what_was_asked_of_it() -> None:
    # the passage's one town, in its sentence closest to the question, but nothing of the triggering
    question = "The capture of which town triggered the intervention?"
    dropped = _verdict(question, "The capture of Ballina triggered the intervention [1].", ENTERED)
    assert isinstance(dropped, DroppedClaim) and dropped.reason == "off_question"
    assert isinstance(_verdict("Which town did the troops enter?", "Ballina [1].", ENTERED), SupportedClaim)
