"""Crash safety: SIGKILL during `qa index`, during every durable step of a save and during an
upload to a real server; a corrupted or truncated index file is named, with the fix."""

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

from embeddings.index import CURRENT, load_snapshot, save_snapshot
from eval.soak import ADMIN_KEY, start_server
from qa.app import create_app
from qa.cli import main as qa_main
from qa.settings import IndexSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
DROPPED = "004_a5a6d042a280567c"

# Run in a child process: over copies of the seed index, save the seed index minus one document,
# each time in a forked process that SIGKILLs itself just before its N-th durable step (an fsync,
# a rename, the removal of the old version). Prints, per N, whether the save was killed.
SAVE_AND_DIE = r"""
import json, os, shutil, signal, sys
from pathlib import Path
from embeddings.index import build_snapshot, load_snapshot, save_snapshot
model, dropped, source, work = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
old = load_snapshot(source, model=model)
new = build_snapshot([p for k, p in old.processed.items() if k != dropped],
                     {k: v for k, v in old.vectors.items() if k != dropped},
                     model=model, index_type=old.manifest.index_type)

def save(data, kill_at):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        steps = 0
        def durable(real):
            def step(*args, **kwargs):
                nonlocal steps
                steps += 1
                if steps == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)
            return step
        os.fsync, os.replace, shutil.rmtree = map(durable, (os.fsync, os.replace, shutil.rmtree))
        save_snapshot(new, data)
        os._exit(min(steps, 255))
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status)

shutil.copytree(source, work / "dry-run")
steps = -save(work / "dry-run", 0)
killed = {}
for kill_at in range(1, steps + 1):
    shutil.copytree(source, work / f"kill-{kill_at}")
    killed[kill_at] = save(work / f"kill-{kill_at}", kill_at) == signal.SIGKILL
print(json.dumps(killed))
"""


def copy_index(seed_settings, tmp_path: Path, name: str = "data") -> Path:
    data = tmp_path / name
    shutil.copytree(seed_settings.index.data_dir, data)
    return data


@pytest.mark.slow
def test_sigkill_at_every_durable_step_of_a_save_leaves_the_old_or_the_new_index(
    seed_settings, seed_index, tmp_path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SAVE_AND_DIE, MODEL, DROPPED, str(seed_settings.index.data_dir),
         str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    killed = {int(k): v for k, v in json.loads(done.stdout.splitlines()[-1]).items()}
    # the file fsyncs, the two renames, the directory fsyncs, the old version's removal
    assert len(killed) >= 10 and all(killed.values()), killed
    old_ids = set(seed_index.processed)
    kept_old = []
    for kill_at in sorted(killed):
        data = tmp_path / f"kill-{kill_at}"
        loaded = load_snapshot(data, model=MODEL)  # never a half-written file
        assert set(loaded.processed) in (old_ids, old_ids - {DROPPED}), kill_at
        kept_old.append(set(loaded.processed) == old_ids)
        save_snapshot(loaded, data)  # the next save clears whatever the crash left behind
        assert sorted(p.name for p in data.iterdir())[0] == CURRENT
        assert len(list(data.iterdir())) == 2, sorted(p.name for p in data.iterdir())
    # killed before the rename of CURRENT: the old index; after it: the new one
    assert kept_old[0] and not kept_old[-1]
    assert kept_old == sorted(kept_old, reverse=True)


@pytest.mark.slow
def test_sigkill_during_qa_index_keeps_the_previous_index(seed_settings, seed_index, tmp_path) -> None:
    data = copy_index(seed_settings, tmp_path)
    log_path = tmp_path / "index.log"
    env = {**os.environ, "QA_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "qa.cli", "index"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "clean+split" not in log_path.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        time.sleep(0.3)  # in the middle of splitting and tagging the articles
        assert process.poll() is None, "qa index finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    loaded = load_snapshot(data, model=MODEL)
    assert loaded.manifest.fingerprint == seed_index.manifest.fingerprint


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
        listed = {d["doc_id"] for d in httpx.get(f"{restarted.url}/v1/documents").json()}
        assert listed >= set(seed_index.processed) | {"acked"}
        assert httpx.get(f"{restarted.url}/v1/documents/acked").json()["text"] == acked_text
        inflight = httpx.get(f"{restarted.url}/v1/documents/inflight")
        # all of it or nothing of it
        assert inflight.status_code == 404 or inflight.json()["text"] == inflight_text
        answer = httpx.post(f"{restarted.url}/v1/ask", json={"question": "When did the Gao bridge reopen?"},
                            timeout=60).json()
        assert [c["doc_id"] for c in answer["citations"]] == ["acked"]


FILES = ["documents.msgpack", "vectors.npz", "dense.faiss", "sentences.faiss", "manifest.json", CURRENT]


def damage(data: Path, name: str, how: str) -> None:
    """Truncate one file of the live index to half, or flip one byte in it."""
    version = data / (data / CURRENT).read_text().strip()
    path = data / CURRENT if name == CURRENT else version / name
    content = bytearray(path.read_bytes())
    if how == "truncated":
        content = content[: len(content) // 2]
    else:  # the manifest's first byte, so that it is no longer JSON; the middle of anything else
        at = 0 if name == "manifest.json" else len(content) // 2
        content[at] ^= 0xFF
    path.write_bytes(bytes(content))


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_index_file_is_named_with_the_fix(
    seed_settings, seed_index, tmp_path, monkeypatch, capsys, name, how
) -> None:
    data = copy_index(seed_settings, tmp_path)
    damage(data, name, how)
    settings = replace(Settings(), index=IndexSettings(data_dir=data))
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert name in ready.json()["detail"] and "qa index" in ready.json()["detail"]
        asked = client.post("/v1/ask", json={"question": "Who took Konna?"})
        assert asked.status_code == 503 and name in asked.json()["detail"]
    monkeypatch.setenv("QA_DATA_DIR", str(data))
    capsys.readouterr()  # the app's log so far
    assert qa_main(["ask", "Who took Konna?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and name in err and "qa index" in err


@pytest.mark.slow
def test_the_cli_reports_a_damaged_index_without_a_traceback(seed_settings, seed_index, tmp_path) -> None:
    data = copy_index(seed_settings, tmp_path)
    damage(data, "vectors.npz", "corrupted")
    done = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "Who took Konna?"], cwd=ROOT,
                          env={**os.environ, "QA_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"},
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "vectors.npz is corrupted" in done.stderr and "Run `qa index`" in done.stderr
