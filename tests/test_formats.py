"""Ingest formats: news as newsrooms keep it (HTML pages, JSON Lines, RSS/Atom, Markdown, text), each
read with the right title, date and main text; an unreadable file is named and the rest go on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings.formats import Ingested, Problem, iso_date, read_paths
from embeddings.records import Document
from qa.errors import InvalidDocument

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "ingest"
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="module")
def ingested() -> Ingested:
    return read_paths([SAMPLES])


def by_title(ingested: Ingested, title: str) -> Document:
    [doc] = [d for d in ingested.documents if d.title == title]
    return doc


def test_a_news_page_keeps_its_article_and_drops_nav_ads_and_footer(ingested: Ingested) -> None:
    doc = by_title(ingested, "Harbour bridge reopens after six-month repair")
    assert doc.doc_id == "harbour-bridge"
    assert doc.published == "2024-03-14"
    assert (doc.source, doc.author) == ("The Coastal Courier", "Maria Lindqvist")
    assert doc.url == "https://www.coastalcourier.example/news/2024/03/14/harbour-bridge-reopens"
    for sentence in ("replaced 340 corroded steel cables", "The repair cost 18.5 million euros",
                     "About 42,000 vehicles crossed the bridge each day"):
        assert sentence in doc.text
    for furniture in ("Subscribe for 1 euro", "Advertisement", "Sign up to our free newsletter",
                      "Most read", "Ferry strike ends", "All rights reserved", "Cookie settings",
                      "Share on Facebook", "dataLayer"):
        assert furniture not in doc.text, furniture


def test_a_jsonl_export_gives_one_document_per_line(ingested: Ingested) -> None:
    wind = by_title(ingested, "Wind farm approved off northern coast")
    assert wind.published == "2023-11-21"  # from published_at, an ISO date-time
    assert (wind.source, wind.author) == ("Energy Wire", "Sam Okafor")
    assert wind.url == "https://energywire.example/2023/11/21/wind-farm-approved"
    assert wind.text.startswith("The energy ministry approved a 1.2-gigawatt wind farm")
    fares = by_title(ingested, "Rail fares to rise 4.9 percent in January")
    assert fares.published == "2023-11-20"  # from "published", with "text" as the body
    assert fares.text.startswith("Rail fares will rise by 4.9 percent on 2 January")
    strike = by_title(ingested, "Port strike called off")
    assert strike.published == "2023-11-22"  # an RFC 2822 date


def test_each_entry_of_an_rss_feed_is_a_document(ingested: Ingested) -> None:
    library = by_title(ingested, "Library extends opening hours after petition")
    assert library.published == "2024-04-12"
    assert library.source == "City Desk – Riverton Herald"
    assert library.author == "Priya Nair"
    assert library.url == "https://riverton-herald.example/city/library-hours"
    # the full content:encoded body, as text, one paragraph per <p>
    assert library.text == (
        "The central library will stay open until 9pm on weekdays from May, the council said on "
        "Friday, after a petition signed by 3,200 residents.\n\n"
        "The longer hours will cost 140,000 pounds a year, paid from the culture budget."
    )
    lane = by_title(ingested, "New cycle lane opens on Mill Road")
    assert lane.published == "2024-04-11"
    assert lane.text.startswith("A two-kilometre protected cycle lane opened on Mill Road")
    assert "<p>" not in lane.text


def test_an_atom_entry_is_a_document(ingested: Ingested) -> None:
    doc = by_title(ingested, "Telescope finds water vapour on distant planet")
    assert doc.published == "2024-02-01"  # published, not updated
    assert (doc.source, doc.author) == ("Science Notes", "Lena Hoffmann")
    assert doc.url == "https://sciencenotes.example/2024/02/water-vapour"
    assert doc.text.startswith("Astronomers detected water vapour")
    assert "eight nights of telescope time" in doc.text  # the content, not just the summary


def test_markdown_front_matter_and_text_without_markup(ingested: Ingested) -> None:
    doc = by_title(ingested, "Council agrees 2025 budget")
    assert doc.doc_id == "council-budget"
    assert (doc.published, doc.source) == ("2024-12-10", "Riverton Herald")
    assert doc.url == "https://riverton-herald.example/city/budget-2025"
    assert "The city council approved a budget of 412 million pounds" in doc.text
    assert "the parks budget is frozen" in doc.text
    assert "Council tax rises by 2.99 percent." in doc.text
    for markup in ("**", "](", "---", "title:"):
        assert markup not in doc.text


def test_plain_text_keeps_its_bytes_and_takes_its_first_line_as_title(ingested: Ingested) -> None:
    doc = by_title(ingested, "Ferry timetable changes from June")
    assert doc.text == (SAMPLES / "plain-note.txt").read_text(encoding="utf-8")
    assert doc.published is None


def test_unreadable_files_and_records_are_named_and_the_rest_go_on(ingested: Ingested) -> None:
    named = {p.path: p.reason for p in ingested.problems}
    assert set(named) == {str(SAMPLES / "broken.txt"), f"{SAMPLES / 'export.jsonl'}:4",
                          f"{SAMPLES / 'export.jsonl'}:5"}
    assert "UTF-8" in named[str(SAMPLES / "broken.txt")]
    assert "no body" in named[f"{SAMPLES / 'export.jsonl'}:4"]
    assert "not JSON" in named[f"{SAMPLES / 'export.jsonl'}:5"]
    assert len(ingested.documents) == 9


def test_folders_are_read_recursively_and_manifests_apply_to_their_folder(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "archive" / "2013" / "mali")
    shutil.copytree(SAMPLES / "feeds", tmp_path / "archive" / "feeds")
    (tmp_path / "archive" / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "archive" / ".hidden.txt").write_text("not for the index")
    found = read_paths([tmp_path / "archive"])
    assert found.problems == []
    assert found.skipped == [str(tmp_path / "archive" / "notes.pdf")]
    seeds = {d.doc_id: d for d in read_paths([SEEDS]).documents}
    assert len(seeds) == 5
    assert {d.doc_id: d for d in found.documents if d.doc_id in seeds} == seeds  # same metadata
    assert len(found.documents) == 5 + 3


def test_the_seed_folder_reads_as_before(ingested: Ingested) -> None:
    from embeddings.documents import load_documents

    assert read_paths([SEEDS]).documents == load_documents(SEEDS)


def test_a_clash_of_ids_is_reported_not_silently_merged(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "story.txt").write_text("First story.\n\nIt happened on Monday.\n")
    (tmp_path / "b" / "story.md").write_text("# Second story\n\nIt happened on Tuesday.\n")
    found = read_paths([tmp_path])
    assert [d.title for d in found.documents] == ["First story."]
    assert found.problems == [Problem(path=str(tmp_path / "b" / "story.md"), reason=(
        f"doc_id 'story' is already used by {tmp_path / 'a' / 'story.txt'}; rename one of the files"))]


def test_a_missing_path_and_an_empty_feed_are_problems(tmp_path: Path) -> None:
    (tmp_path / "empty.rss").write_text("<rss version='2.0'><channel><title>x</title></channel></rss>")
    found = read_paths([tmp_path / "nowhere", tmp_path / "empty.rss"])
    assert [p.reason for p in found.problems] == ["no such file or folder", "the feed has no entries"]


def test_dates_are_read_in_the_forms_news_uses() -> None:
    assert iso_date("2023-11-27T08:45:59+00:00") == "2023-11-27"
    assert iso_date("2023-11-27T23:30:00Z") == "2023-11-27"
    assert iso_date("Mon, 27 Nov 2023 08:45:59 -0500") == "2023-11-27"
    assert iso_date("2023-11-27") == "2023-11-27"
    assert iso_date(None) is None
    with pytest.raises(InvalidDocument, match="cannot read the date"):
        iso_date("last Tuesday")
