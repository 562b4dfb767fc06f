"""Ingestion on the real seed articles: loading, furniture, sentences, dates, numbers, chunks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.chunking import load_nlp, process_all, process_document
from embeddings.cleaning import find_furniture
from embeddings.dates import resolve_date
from embeddings.documents import load_documents, make_document
from embeddings.records import Document, ProcessedDocument, Sentence
from qa.errors import InvalidDocument

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# Lines of the seed files that are page furniture (everything else is article text).
FURNITURE_LINES = {
    "000": [
        "  • Published",
        "French troops in Niono (20 Jan)",
        "Image caption,",
        "There are now some 2,000 French troops in Mali",
        "French forces have bombed rebel bases in Mali, where Islamist rebels",
    ],
    "002": [
        "Get Today's Headlines in your inbox:",
        "The day's top stories delivered every morning.",
        "Thank you for signing up! Sign up for more newsletters here",
    ],
    "003": [
        "Sign up to our free newsletters",
        "Get the best updates straight to your inbox:",
        "Please select at least one mailing list.",
        "You can unsubscribe at any time",
    ],
    "001": ["AFP", "Mon Jan 21 2013", "A French jeep is unloaded"],  # + everything after the jeep
}
# Appended to a real article: unrelated lines that no phrase rule knows.
UNRELATED_LINES = [
    "Preheat the oven to 180C and line a loaf tin with baking paper.",
    "Beat the butter and sugar together until pale and fluffy, then add the eggs one at a time.",
    "Fold in the flour and the mashed bananas, pour into the tin and bake for 50 minutes.",
    "Arsenal came from behind to beat Chelsea 2-1 in a thrilling derby at the Emirates.",
    "The winger curled in a late free kick to seal the points for the home side.",
]


@pytest.fixture(scope="session")
def nlp():
    return load_nlp()


@pytest.fixture(scope="session")
def seed_docs() -> dict[str, Document]:
    return {doc.doc_id[:3]: doc for doc in load_documents(SEEDS)}


@pytest.fixture(scope="session")
def processed(seed_docs, encoder, nlp) -> dict[str, ProcessedDocument]:
    return {p.document.doc_id[:3]: p for p in process_all(list(seed_docs.values()), encoder, nlp)}


def sentences_of(p: ProcessedDocument) -> list[Sentence]:
    return [s for chunk in p.chunks for s in chunk.sentences]


def lines_with_offsets(text: str) -> list[tuple[int, int, str]]:
    out, position = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((position, position + len(line), line))
        position += len(line) + 1
    return out


def is_furniture(key: str, line: str, after_jeep: bool) -> bool:
    return after_jeep or any(line.startswith(f) for f in FURNITURE_LINES.get(key, []))


def test_load_documents_uses_manifest_and_derives_missing_titles(seed_docs):
    assert sorted(seed_docs) == ["000", "001", "002", "003", "004"]
    bbc = seed_docs["000"]
    assert bbc.doc_id == "000_c0997ec08ee8e834"
    assert (bbc.title, bbc.source, bbc.published) == (
        "Mali conflict: France aiming for 'total reconquest'",
        "BBC News",
        "2013-01-20",
    )
    afp = seed_docs["001"]  # null title in the manifest
    assert afp.source == "AFP" and afp.published == "2013-01-21"
    assert afp.title.startswith("French troops on Sunday consolidated gains")
    assert len(afp.title) <= 121
    assert seed_docs["003"].published == "2013-01-22"
    for key, doc in seed_docs.items():
        with (SEEDS / f"{doc.doc_id}.txt").open(encoding="utf-8", newline="") as handle:
            assert doc.text == handle.read(), key


def test_load_documents_keeps_crlf_and_works_without_manifest(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"Second story\r\n\r\nBody of it.\r\n")
    (tmp_path / "a.txt").write_bytes(b"  First headline here\r\nIts body.")
    (tmp_path / "notes.md").write_text("not an article")
    docs = load_documents(tmp_path)
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert docs[0].title == "First headline here" and docs[0].published is None
    assert docs[1].text == "Second story\r\n\r\nBody of it.\r\n"


def test_load_documents_rejects_bad_files(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(InvalidDocument, match=r"x\.txt.*UTF-8"):
        load_documents(tmp_path)
    (tmp_path / "x.txt").write_text("Fine text.")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"documents": [{"file": "x.txt", "published": "Jan 5"}]})
    )
    with pytest.raises(InvalidDocument, match="YYYY-MM-DD"):
        load_documents(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": " \n\t "}, "empty"),
        ({"text": "Some news.", "published": "2013-13-01"}, "YYYY-MM-DD"),
        ({"text": "Some news.", "published": "20-01-2013"}, "YYYY-MM-DD"),
        ({"text": "Some news.", "published": "yesterday"}, "YYYY-MM-DD"),
        ({"text": "Some news.", "doc_id": "has space"}, "doc_id"),
        ({"text": "Some news.", "doc_id": "../etc/passwd"}, "doc_id"),
        ({"text": "Some news.", "doc_id": "x" * 129}, "doc_id"),
        ({"text": "Some news.", "doc_id": ""}, "doc_id"),
    ],
)
def test_make_document_rejects_invalid_input(kwargs, message):
    with pytest.raises(InvalidDocument, match=message):
        make_document(**kwargs)


def test_make_document_derives_stable_id_and_title():
    text = "Troops advance on Diabaly\n\nFrench troops advanced on Monday."
    first, second = make_document(text), make_document(text)
    assert first.doc_id == second.doc_id != make_document(text + " More.").doc_id
    assert first.title == "Troops advance on Diabaly" and first.text == text
    named = make_document(text, doc_id="my-doc_1.v2", title="  ", source="AFP", published="2013-01-21")
    assert (named.doc_id, named.title, named.source, named.published) == (
        "my-doc_1.v2",
        "Troops advance on Diabaly",
        "AFP",
        "2013-01-21",
    )


def test_every_span_is_exactly_the_source_text(processed):
    for key, p in processed.items():
        text = p.document.text
        previous_end = 0
        for span in p.dropped:
            assert text[span.start : span.end] == span.text, key
            assert span.start >= previous_end
            previous_end = span.end
        previous_end = 0
        for chunk in p.chunks:
            assert text[chunk.start : chunk.end] == chunk.text
            assert chunk.start >= previous_end and chunk.start == chunk.sentences[0].start
            previous_end = chunk.end
            for sentence in chunk.sentences:
                assert text[sentence.start : sentence.end] == sentence.text
                assert "\n" not in sentence.text and sentence.text == sentence.text.strip()
                for item in (*sentence.entities, *sentence.dates):
                    assert text[item.start : item.end] == item.text
                    assert sentence.start <= item.start <= item.end <= sentence.end


def test_unrelated_headlines_at_the_end_of_001_are_all_dropped(processed):
    p = processed["001"]
    lines = lines_with_offsets(p.document.text)
    jeep = next(i for i, (_, _, line) in enumerate(lines) if line.startswith("A French jeep"))
    tail = lines[jeep + 1 :]
    assert len(tail) == 40  # 20 headlines, each with its blurb
    assert tail[0][2].startswith("'No one will win a trade war,'")
    assert tail[-2][2] == "Ringgit opens lower as greenback gains ground"
    off_topic = [d for d in p.dropped if d.reason == "off-topic"]
    for start, end, line in tail:
        assert any(d.start <= start and end <= d.end for d in off_topic), line


def test_newsletter_caption_and_dateline_furniture_is_dropped(processed):
    expected = {
        "002": [("Get Today's Headlines", "newsletter"), ("The day's top stories", "newsletter"),
                ("Thank you for signing up!", "newsletter")],
        "003": [("Sign up to our free newsletters", "newsletter"), ("Please select at least", "newsletter"),
                ("We use Mailchimp", "newsletter")],
        "000": [("Image caption,", "caption"), ("French troops in Niono (20 Jan)", "caption"),
                ("There are now some 2,000", "caption"), ("French forces have bombed rebel bases", "caption"),
                ("• Published", "boilerplate")],
        "001": [("AFP\n", "dateline"), ("Mon Jan 21 2013", "dateline"),
                ("A French jeep is unloaded", "caption")],
    }  # fmt: skip
    for key, phrases in expected.items():
        p = processed[key]
        for phrase, reason in phrases:
            at = p.document.text.index(phrase)
            assert any(d.start <= at < d.end and d.reason == reason for d in p.dropped), (key, phrase)
    assert processed["004"].dropped == ()
    bbc = processed["000"]
    labels = [i for i in range(len(bbc.document.text)) if bbc.document.text.startswith("Image caption", i)]
    assert len(labels) == 2
    assert all(any(d.start <= i < d.end for d in bbc.dropped) for i in labels)


def test_every_real_paragraph_is_kept(processed):
    for key, p in processed.items():
        covered = {i for s in sentences_of(p) for i in range(s.start, s.end)}
        after_jeep = False
        for start, end, line in lines_with_offsets(p.document.text):
            if is_furniture(key, line, after_jeep):
                after_jeep = after_jeep or line.startswith("A French jeep")
                continue
            assert not any(d.start < end and start < d.end for d in p.dropped), (key, line)
            words = [i for i in range(start, end) if not p.document.text[i].isspace()]
            assert all(i in covered for i in words), (key, line)


def test_known_body_sentences_survive_as_sentences(processed):
    expected = {
        "001": [
            "Meanwhile a radical Islamist group Ansaru on Sunday claimed responsibility for an attack "
            "in central Nigeria that killed two soldiers who were due to be deployed to Mali, injuring "
            "five others.",
            "The regional powerhouse last week boosted its troop commitment for Mali to 1,200 soldiers from "
            "900 planned earlier.",
            '"The goal is the total reconquest of Mali," French Defence Minister Le Drian said in televised '
            "remarks.",
            '"We will not leave any pockets" of resistance.',
            "German Foreign Minister Guido Westerwelle responded by acknowledging the need for financial aid "
            "and pledging to do its bit, without setting an amount.",
        ],
        "000": [
            "Officials say the Islamists left Diabaly on Friday.",
            "Mr Le Drian said the former Islamist stronghold of Diabaly had not yet been retaken, even "
            "though the militants withdrew from the town two days ago.",
        ],
        "002": ["EU foreign ministers on Thursday approved sending a military training mission to Mali."],
        "004": [
            'On Monday, French and Malian forces were said to be "progressing towards the north", and the '
            "Islamists' strongholds."
        ],
    }
    for key, sentences in expected.items():
        texts = {s.text for s in sentences_of(processed[key])}
        for sentence in sentences:
            assert sentence in texts, (key, sentence)


def test_content_check_drops_unrelated_lines_no_rule_knows(seed_docs, encoder, nlp):
    base = seed_docs["004"].text
    doc = make_document(base + "\n" + "\n".join(UNRELATED_LINES) + "\n", doc_id="mali-plus-recipe")
    appended = doc.text.index(UNRELATED_LINES[0])
    assert find_furniture(doc, None) == []  # no phrase or shape rule fires on these lines
    dropped = find_furniture(doc, encoder)
    assert [d.reason for d in dropped] == ["off-topic"]
    assert (dropped[0].start, dropped[0].end) == (appended, len(doc.text) - 1)
    kept = process_document(doc, dropped, nlp)
    assert kept.chunks[-1].end == len(base.rstrip())


@pytest.mark.slow
def test_content_check_keeps_an_article_whatever_paragraph_it_ends_on(seed_docs, encoder):
    for key in ("000", "001"):
        text = seed_docs[key].text
        body_end = text.index("\nAFP\n") if key == "001" else len(text)
        ends = [end for _, end, _ in lines_with_offsets(text[:body_end])]
        for end in ends[4::3]:
            doc = make_document(text[:end], doc_id="cut")
            assert [d for d in find_furniture(doc, encoder) if d.reason == "off-topic"] == [], (key, end)


def test_dates_are_resolved_against_publication(processed):
    def resolved(key: str, phrase: str, context: str) -> str | None:
        for sentence in sentences_of(processed[key]):
            if context in sentence.text:
                return next(d.resolved for d in sentence.dates if d.text == phrase)
        raise AssertionError(f"no sentence with {context!r}")

    assert resolved("002", "Thursday", "it increased its troop strength") == "2013-01-17"
    assert resolved("002", "last Friday", "first air raids") == "2013-01-11"
    assert resolved("002", "earlier this week", "garrison town") == "2013-01-14/2013-01-17"
    assert resolved("000", "14 January", "fallen to the Islamists") == "2013-01-14"
    assert resolved("000", "two days ago", "withdrew from the town") == "2013-01-18"
    assert resolved("000", "Friday", "left Diabaly") == "2013-01-18"
    assert resolved("001", "January 10", "Konna, whose seizure") == "2013-01-10"
    assert resolved("001", "March last year", "Kidal was the first town") == "2012-03"
    assert resolved("001", "Saturday", "stand-off ended") == "2013-01-19"
    assert resolved("003", "yesterday", "advanced on the key Malian town") == "2013-01-21"
    assert resolved("003", "the weekend", "a dozen operations") == "2013-01-19/2013-01-20"
    assert resolved("003", "last March", "following a coup") == "2012-03"
    assert resolved("004", "last Thursday", "warplanes bombarded") == "2013-01-17"
    assert resolved("004", "April 2012", "sharia law") == "2012-04"
    assert resolved("004", "Monday", "progressing towards") == "2013-01-21"


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("today", "2013-01-22", "2013-01-22"),
        ("a week ago", "2013-01-22", "2013-01-15"),
        ("last week", "2013-01-22", "2013-01-14/2013-01-20"),
        ("last week", "2013-01-20", "2013-01-13/2013-01-19"),  # a Sunday: the week ending
        ("this month", "2013-01-20", "2013-01"),
        ("last month", "2013-01-20", "2012-12"),
        ("last Monday", "2013-01-17", "2013-01-07"),
        ("next Monday", "2013-01-17", "2013-01-21"),
        ("Thursday", "2013-01-17", "2013-01-17"),
        ("December 28", "2013-01-05", "2012-12-28"),  # nearest year
        ("Mon Jan 21 2013", None, "2013-01-21"),
        ("since April 2012", "2013-01-21", "2012-04"),
        ("the last nine months", "2013-01-21", None),
        ("recent years", "2013-01-21", None),
        ("Thursday", None, None),
        ("31 February", "2013-01-21", None),
    ],
)
def test_resolve_date_rules(text, published, expected):
    assert resolve_date(text, published) == expected


def test_numbers_are_tagged_as_written(processed):
    def numbers(key: str, context: str) -> tuple[str, ...]:
        return next(s.numbers for s in sentences_of(processed[key]) if context in s.text)

    assert "2,000" in numbers("000", "France has sent in")
    assert "seven" in numbers("000", "seven French citizens")
    assert "1,400" in numbers("002", "increased its troop strength")
    assert "500 million" in numbers("001", "estimated the cost")
    assert {"2,300"} <= set(numbers("004", "Operation Serval"))
    assert "four" in numbers("004", "had four orders")
    assert "2012" not in numbers("004", "since April 2012")


def test_sentences_are_split_sensibly(processed, nlp):
    doc = make_document(
        "Mr. Smith met Lt. Jones in Bamako on Jan. 5. They spoke for 2.5 hours.\n"
        'He said: "We will stay." Then he left.\n'
        "Troops numbered 2,000 in total",
        doc_id="splits",
        published="2013-01-20",
    )
    texts = [s.text for c in process_document(doc, [], nlp).chunks for s in c.sentences]
    assert texts[0] == "Mr. Smith met Lt. Jones in Bamako on Jan. 5."
    assert texts[1] == "They spoke for 2.5 hours."
    assert texts[-1] == "Troops numbered 2,000 in total"
    assert all("\n" not in t for t in texts)


def test_chunks_pack_whole_sentences_within_max_chars(processed, nlp, seed_docs):
    for p in processed.values():
        for chunk in p.chunks:
            assert len(chunk.text) <= 600 or len(chunk.sentences) == 1
            assert not any(d.start < chunk.end and chunk.start < d.end for d in p.dropped)
    small = process_document(seed_docs["004"], [], nlp, max_chars=200)
    assert len(small.chunks) > len(processed["004"].chunks)
    assert [s for c in small.chunks for s in c.sentences] == sentences_of(processed["004"])


def test_process_all_reports_progress(seed_docs, nlp):
    calls: list[tuple[int, int]] = []
    docs = [seed_docs["002"], seed_docs["003"]]
    result = process_all(docs, None, nlp, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    assert [p.document for p in result] == docs
