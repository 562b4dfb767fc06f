"""Property: whatever the text, cleaning and processing never crash and every span maps back exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.chunking import load_nlp, process_document
from embeddings.cleaning import find_furniture
from embeddings.records import Chunk, Document

FURNITURE = [
    "Image caption,",
    "  • Published",
    "AFP",
    "Mon Jan 21 2013",
    "Sign up to our free newsletters",
    "Get the best updates straight to your inbox:",
    "Please select at least one mailing list.",
    "Thank you for signing up! Sign up for more newsletters here",
    "French troops in Niono (20 Jan)",
    "Advertisement",
]
SENTENCES = [
    "France has sent in 2,000 troops to help Malian forces.",
    'Mr. Le Drian said on Thursday: "We will not leave any pockets."',
    "Diabaly fell on 14 January, two days ago, officials said.",
    "‘‘No jihadists have entered our town,’’ he said.",
    "The cost is about 500 million dollars (375 million euros).",
    "Café société: naïve façades ﬁnally — ok?",
    "🇫🇷 troops 👍🏽 advanced… again!",
    "e\u0301\u0301 n\u0303 combining marks \u200b zero width",
]
SEPARATORS = ["\n", "\r\n", "\n\n", "\r\n\r\n", "\t", " ", "\r", "\u2028", "\n \n", ""]

lines = st.one_of(
    st.sampled_from(FURNITURE),
    st.sampled_from(SENTENCES),
    st.text(max_size=80),
    st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), max_size=200),
    st.builds(
        lambda word, n: (word + " ") * n,
        st.sampled_from(["word", "Mali.", "2,000", "é"]),
        st.integers(1, 700),
    ),
    st.builds(lambda n: "x" * n, st.integers(1, 3000)),  # one very long token
)
texts = st.lists(st.tuples(lines, st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda parts: "".join(line + sep for line, sep in parts)
)
all_furniture = st.lists(
    st.tuples(st.sampled_from(FURNITURE), st.sampled_from(["\n", "\r\n", "\n\n", "\u2028"])), min_size=1
).map(lambda parts: "".join(line + sep for line, sep in parts))


def check(text: str, published: str | None, max_chars: int) -> list[Chunk]:
    doc = Document(doc_id="prop", title="t", published=published, text=text)
    dropped = find_furniture(doc, None)
    processed = process_document(doc, dropped, load_nlp(), max_chars=max_chars)
    previous = 0
    for span in dropped:
        assert text[span.start : span.end] == span.text
        assert previous <= span.start < span.end
        previous = span.end
    previous = 0
    for chunk in processed.chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert previous <= chunk.start < chunk.end
        assert (chunk.start, chunk.end) == (chunk.sentences[0].start, chunk.sentences[-1].end)
        previous = chunk.end
        assert not any(d.start < chunk.end and chunk.start < d.end for d in dropped)
        inner = chunk.start
        for sentence in chunk.sentences:
            assert text[sentence.start : sentence.end] == sentence.text
            assert inner <= sentence.start < sentence.end <= chunk.end
            assert sentence.text == sentence.text.strip() and any(c.isalnum() for c in sentence.text)
            inner = sentence.end
            for item in (*sentence.entities, *sentence.dates):
                assert text[item.start : item.end] == item.text
                assert sentence.start <= item.start <= item.end <= sentence.end
    return list(processed.chunks)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.sampled_from([None, "2013-01-20", "2000-02-29"]), st.sampled_from([600, 80, 1]))
def test_spans_map_back_to_arbitrary_text(text, published, max_chars):
    check(text, published, max_chars)


@settings(max_examples=20, deadline=None)
@given(all_furniture)
def test_text_that_is_all_furniture(text):
    assert check(text, "2013-01-21", 600) == []
