"""`qa index --source`, `qa add`, `qa delete` on real-world-shaped files, and where `qa` keeps its data."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from qa.cli import main
from qa.locations import CHECKOUT, find_data_dir, find_seeds_dir
from qa.records import Answer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "ingest"


def test_the_data_directory_is_the_same_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CHECKOUT == ROOT
    assert find_data_dir({}) == ROOT / "data"
    assert find_seeds_dir({}) == ROOT / "seeds"
    assert find_data_dir({"QA_DATA_DIR": "/srv/qa"}) == Path("/srv/qa")


def test_without_a_checkout_the_user_data_directory_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.locations

    monkeypatch.setattr(qa.locations, "CHECKOUT", Path("/nonexistent/site-packages"))
    assert find_data_dir({"XDG_DATA_HOME": "/home/u/.data"}) == Path("/home/u/.data/newsqa")
    assert find_data_dir({"HOME": "/home/u"}) == Path.home() / ".local" / "share" / "newsqa"


def test_no_index_says_where_qa_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "anything"]) == 2
    err = capsys.readouterr().err
    assert f"No index in {tmp_path / 'none'}" in err
    assert f"qa looked for its data directory in: QA_DATA_DIR='{tmp_path / 'none'}'" in err
    import qa.locations

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setattr(qa.locations, "CHECKOUT", checkout)
    monkeypatch.delenv("QA_DATA_DIR")
    assert main(["delete", "x"]) == 2
    err = capsys.readouterr().err
    assert f"QA_DATA_DIR (unset), then the checkout's data/ ({checkout / 'data'})" in err


@pytest.mark.slow
def test_index_a_folder_of_formats_then_add_and_delete(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert main(["index", "--source", str(SAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert "Indexed 9 documents" in out
    assert f"skipped {SAMPLES / 'broken.txt'}: not UTF-8" in err
    assert f"skipped {SAMPLES / 'export.jsonl'}:5: not JSON" in err

    assert main(["ask", "--json", "How many vehicles crossed the harbour bridge each day?"]) == 0
    answer = msgspec.json.decode(capsys.readouterr().out, type=Answer)
    assert not answer.abstained and "42,000" in answer.answer
    assert answer.citations[0].doc_id == "harbour-bridge"
    assert answer.citations[0].published == "2024-03-14"

    story = tmp_path / "ferry.md"
    story.write_text("---\ntitle: Ferry fares frozen\ndate: 2024-05-02\n---\n\n"
                     "The island ferry operator froze its fares for 2025 on Thursday, "
                     "after a subsidy of 3.4 million euros.\n")
    assert main(["add", str(story), str(tmp_path / "missing.html")]) == 1  # one path was unreadable
    out, err = capsys.readouterr()
    assert "added ferry: Ferry fares frozen" in out and "missing.html: no such file" in err
    assert main(["ask", "--json", "How large was the ferry subsidy?"]) == 0
    answer = msgspec.json.decode(capsys.readouterr().out, type=Answer)
    assert [c.doc_id for c in answer.citations] == ["ferry"] and "3.4 million" in answer.answer

    assert main(["delete", "ferry"]) == 0
    assert main(["delete", "ferry"]) == 2
    assert "No document with id 'ferry'" in capsys.readouterr().err
    assert main(["ask", "--json", "How large was the ferry subsidy?"]) == 0
    answer = msgspec.json.decode(capsys.readouterr().out, type=Answer)
    assert "ferry" not in {c.doc_id for c in answer.citations}


@pytest.mark.slow
def test_a_document_sent_over_http_keeps_its_url_and_author(fresh_service) -> None:
    from dataclasses import replace

    from litestar.testing import TestClient

    from qa.app import create_app
    from qa.settings import ServerSettings

    settings = replace(fresh_service.settings, server=ServerSettings(admin_key="k", rate_limit="off"))
    body = {"doc_id": "bridge", "title": "Harbour bridge reopens", "published": "2024-03-14",
            "url": "https://www.coastalcourier.example/news/bridge", "author": "Maria Lindqvist",
            "text": "The Harbour Bridge reopened to traffic on Thursday after a six-month repair."}
    with TestClient(create_app(settings, service=fresh_service)) as client:
        response = client.post("/v1/documents", json=body, headers={"Authorization": "Bearer k"})
        assert response.status_code == 200, response.text
        stored = client.get("/v1/documents/bridge").json()
    assert {k: stored[k] for k in body} == body
