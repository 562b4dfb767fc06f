"""Crash safety and one source of truth: SIGKILL during `qa index` and during an upload loses no
acknowledged document; `qa index` interleaved with API writes loses nothing and a running server
serves what the CLI wrote; a damaged store is named, with the fix."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from eval.soak import ADMIN_KEY, start_server
from qa.app import create_app
from qa.cli import main as qa_main
from qa.settings import IndexSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
BBC = Path("/work/shared/corpora/bbc")
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SEED_IDS = {p.stem for p in (ROOT / "seeds").glob("*.txt")}


def copy_index(seed_settings, tmp_path: Path, name: str = "data") -> Path:
    data = tmp_path / name
    shutil.copytree(seed_settings.index.data_dir, data)
    return data


def article_folder(tmp_path: Path, n: int) -> Path:
    """A folder of ``n`` made-up articles, each about its own numbered subject."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(n):
        body = " ".join(
            f"The Quillmere council number {i} approved budget line {j} worth {i * 100 + j} crowns."
            for j in range(12)
        )
        (folder / f"article-{i:03d}.txt").write_text(f"Quillmere council {i}\n\n{body}\n")
    return folder


def listed(url: str) -> set[str]:
    return {d["doc_id"] for d in httpx.get(f"{url}/v1/documents", timeout=60).json()}


def run_index(data: Path, source: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QA_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--source", str(source)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_newcomer_sequence_add_index_ask_restart_ask(seed_settings, seed_index, tmp_path) -> None:
    data = copy_index(seed_settings, tmp_path)
    text = "The Gao bridge over the Niger reopened on Friday after repairs by army engineers.\n"
    question = {"question": "When did the Gao bridge reopen?"}
    with start_server(data, tmp_path / "server.log") as server:
        added = httpx.post(f"{server.url}/v1/documents", json={"doc_id": "bridge", "text": text},
                           headers=ADMIN, timeout=120)
        assert added.status_code == 200, added.text
        assert run_index(data, ROOT / "seeds").wait(300) == 0
        answer = httpx.post(f"{server.url}/v1/ask", json=question, timeout=60).json()
        assert [c["doc_id"] for c in answer["citations"]] == ["bridge"]
    with start_server(data, tmp_path / "restarted.log") as restarted:
        assert listed(restarted.url) == SEED_IDS | {"bridge"}
        answer = httpx.post(f"{restarted.url}/v1/ask", json=question, timeout=60).json()
        assert [c["doc_id"] for c in answer["citations"]] == ["bridge"]


@pytest.mark.slow
def test_qa_index_killed_and_interleaved_with_api_writes_loses_nothing(
    seed_settings, seed_index, tmp_path
) -> None:
    data = copy_index(seed_settings, tmp_path)
    folder = article_folder(tmp_path, 40)
    acked: dict[str, str] = {}
    with start_server(data, tmp_path / "server.log") as server:
        stop = threading.Event()
        failures: list[str] = []

        def write() -> None:
            n = 0
            while not stop.is_set():
                doc_id = f"api-{n}"
                text = f"Harbour report {n}: the Vellmark ferry carried {n + 7} passengers on Monday.\n"
                done = httpx.post(f"{server.url}/v1/documents", json={"doc_id": doc_id, "text": text},
                                  headers=ADMIN, timeout=120)
                if done.status_code == 200:
                    acked[doc_id] = text
                else:
                    failures.append(done.text)
                if n % 3 == 2:  # and a delete now and then, acknowledged too
                    gone = f"api-{n - 1}"
                    if httpx.delete(f"{server.url}/v1/documents/{gone}", headers=ADMIN,
                                    timeout=120).status_code == 204:
                        acked.pop(gone, None)
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for delay in (2.0, 4.0):  # killed part-way, twice
                process = run_index(data, folder)
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                process.wait(30)
            assert run_index(data, folder).wait(600) == 0  # then allowed to finish
        finally:
            stop.set()
            writer.join(120)
        assert not failures, failures[:3]
        assert len(acked) >= 3
        expected = SEED_IDS | set(acked) | {f"article-{i:03d}" for i in range(40)}
        seen = listed(server.url)  # the running server serves what the CLI wrote, no restart
        assert expected <= seen
        found = httpx.get(f"{server.url}/v1/search", params={"q": "Quillmere council number 17", "k": 3},
                          timeout=60).json()
        assert "article-017" in {p["doc_id"] for p in found}
    with start_server(data, tmp_path / "restarted.log") as restarted:
        assert expected <= listed(restarted.url)
        for doc_id, text in acked.items():
            assert httpx.get(f"{restarted.url}/v1/documents/{doc_id}").json()["text"] == text


def test_sigkill_during_an_upload_keeps_every_acknowledged_document(
    seed_settings, seed_index, tmp_path
) -> None:
    data = copy_index(seed_settings, tmp_path)
    acked_text = "The Gao bridge over the Niger reopened on Friday after repairs by army engineers.\n"
    ledger = "The Quillmere harbour authority recorded {n} vessels in week {n} of the survey.\n"
    inflight_text = "".join(ledger.format(n=n) for n in range(1, 2700))  # ~200k characters, ~15 s
    server = start_server(data, tmp_path / "server.log")
    try:
        acked = httpx.post(f"{server.url}/v1/documents", json={"doc_id": "acked", "text": acked_text},
                           headers=ADMIN, timeout=120)
        assert acked.status_code == 200, acked.text
        failures: list[Exception] = []

        def upload() -> None:
            try:
                httpx.post(f"{server.url}/v1/documents", json={"doc_id": "inflight", "text": inflight_text},
                           headers=ADMIN, timeout=120)
            except httpx.TransportError as exc:
                failures.append(exc)

        uploader = threading.Thread(target=upload)
        uploader.start()
        time.sleep(1.5)  # the server is indexing the upload
        server.kill()
        uploader.join(30)
        assert failures, "the upload finished before the server was killed"
    finally:
        server.stop()
    with start_server(data, tmp_path / "restarted.log") as restarted:
        assert listed(restarted.url) >= SEED_IDS | {"acked"}
        assert httpx.get(f"{restarted.url}/v1/documents/acked").json()["text"] == acked_text
        inflight = httpx.get(f"{restarted.url}/v1/documents/inflight")
        # all of it or nothing of it
        assert inflight.status_code == 404 or inflight.json()["text"] == inflight_text
        answer = httpx.post(f"{restarted.url}/v1/ask", json={"question": "When did the Gao bridge reopen?"},
                            timeout=60).json()
        assert [c["doc_id"] for c in answer["citations"]] == ["acked"]


def damage(path: Path, how: str) -> None:
    """Truncate a file to a few bytes, or overwrite its header."""
    content = bytearray(path.read_bytes())
    if how == "truncated":
        content = content[:100]
    else:
        content[:16] = b"\xff" * 16
    path.write_bytes(bytes(content))


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
def test_a_damaged_store_is_named_with_the_fix(
    seed_settings, seed_index, tmp_path, monkeypatch, capsys, how
) -> None:
    data = copy_index(seed_settings, tmp_path)
    for extra in (data / "store").glob("store.db-*"):  # what the WAL holds is checkpointed on close
        extra.unlink()
    damage(data / "store" / "store.db", how)
    settings = replace(Settings(), index=IndexSettings(data_dir=data))
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "store.db" in ready.json()["detail"] and "qa index" in ready.json()["detail"]
        asked = client.post("/v1/ask", json={"question": "Who took Konna?"})
        assert asked.status_code == 503 and "store.db" in asked.json()["detail"]
    monkeypatch.setenv("QA_DATA_DIR", str(data))
    capsys.readouterr()
    assert qa_main(["ask", "Who took Konna?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "store.db" in err and "Traceback" not in err


def test_a_damaged_checkpoint_is_rebuilt_from_the_database(fresh_service, encoder) -> None:
    from qa.service import QAService

    store = fresh_service.store
    store.checkpoint()  # type: ignore[attr-defined]
    before = fresh_service.ask_sync("Who took Konna and when?")
    folder = fresh_service.settings.index.data_dir / "store" / "checkpoint"
    for name in ("dense.faiss", "sparse.npz"):
        damage(folder / name, "truncated")
    reopened = QAService.open(fresh_service.settings, encoder)
    after = reopened.ask_sync("Who took Konna and when?")
    assert after.answer == before.answer and after.citations == before.citations
    assert json.loads((folder / "checkpoint.json").read_text())["seq"] >= 1
