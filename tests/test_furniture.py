"""Page furniture is found by shape and place (short, repeated, link-like, speaking to the reader), so
article text that mentions signing up is kept."""

from __future__ import annotations

from embeddings.cleaning import find_furniture, find_furniture_all
from embeddings.records import Document


def _doc(doc_id: str, lines: list[str]) -> Document:
    return Document(doc_id=doc_id, title=lines[0], text="\n\n".join(lines))


def test_article_text_that_mentions_signing_up_is_kept() -> None:
    doc = _doc("a", [
        "BT offers free calls",
        "BT is offering customers free internet telephone calls if they sign up to broadband in December.",
        "The creator of Buffy is to take on a new superhero after signing up to write and direct the film.",
        '"You can sign up to our service online," he said.',
    ])
    assert find_furniture(doc, None) == []


def test_sign_up_blocks_that_speak_to_the_reader_are_dropped() -> None:
    doc = _doc("b", ["Title", "A story sentence.", "Sign up to our free newsletters", "Follow us »"])
    assert [d.reason for d in find_furniture(doc, None)] == ["newsletter", "link"]


def test_a_block_repeated_across_many_documents_is_dropped_only_when_it_is_not_reporting() -> None:
    docs = [_doc(f"d{i}", [f"Story {i}", f"Something happened in place {i}.", "More from the desk",
                           "Jane Doe is a regular columnist for the paper."]) for i in range(6)]
    dropped = find_furniture_all(docs, None)
    assert all([d.text for d in spans] == ["More from the desk"] for spans in dropped)
    assert find_furniture_all(docs[:4], None) == [[] for _ in range(4)]
