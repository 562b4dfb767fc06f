"""Soak: clients ask a real ``qa serve`` on 127.0.0.1 while an admin adds, replaces and deletes
documents. Every answer must keep the citation invariants against the documents as they were when
it was asked, must quote only one version of a replaced document, and the server's memory must
stay flat.

    python -m eval.soak [--seconds 60] [--clients 8] [--data DIR]

Without ``--data`` the seed articles are indexed into a temporary directory first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec

from eval.local_server import LocalServer
from qa.records import Answer, Passage
from qa.verify import invariant_violations

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "soak-admin-key"
BULLETIN = "soak-bulletin"  # replaced by a new version again and again
BULLETIN_QUESTIONS = [
    "When does the Quillmere ferry to Ostrel leave the north pier?",
    "Which pier does the evening crossing to Ostrel leave from?",
    "Who signed the Quillmere ferry bulletin?",
    # a compound question is retrieved in two parts, which must see the same version
    "When does the ferry to Ostrel leave the north pier and who signed the ferry bulletin?",
]
EXTRA_TOPICS = ["lighthouse", "fish market", "tram depot", "weather station", "library"]
MEMORY_SLACK_MB = 60.0  # growth allowed between the warmed-up server and the end of the run


def bulletin(version: int) -> str:
    """Version ``version`` of the replaced document; every sentence names its version."""
    return (
        f"Quillmere ferry bulletin {version}: the ferry to Ostrel now leaves the north pier at "
        f"{6 + version % 12}:15 each morning.\n"
        f"Under bulletin {version} the evening crossing to Ostrel leaves from pier {version}.\n"
        f"Harbour master Odile Varga signed ferry bulletin {version} on Monday.\n"
    )


def extra(topic: str) -> str:
    """A document that is added and deleted again during the run."""
    return (f"The Quillmere {topic} closed for repairs this week, the town council said.\n"
            f"The council expects the {topic} to reopen before the summer festival.\n")


def versions_named(text: str) -> set[int]:
    """The bulletin versions a quote or passage names."""
    return {int(v) for v in re.findall(r"[Bb]ulletin (\d+)", text)}


@dataclass
class Write:
    """One admin write: the bulletin version it made live, when it was sent and acknowledged."""

    version: int
    sent: float
    acked: float = float("inf")


@dataclass
class SoakReport:
    seconds: float
    clients: int
    requests: int = 0
    answered: int = 0
    abstained: int = 0
    bulletin_answers: int = 0
    writes: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failed requests
    violations: list[str] = field(default_factory=list)  # broken citation invariants
    mixed: list[str] = field(default_factory=list)  # versions mixed, or one that was never live then
    rss_warm_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_max_mb: float = 0.0

    @property
    def memory_flat(self) -> bool:
        return self.rss_end_mb - self.rss_warm_mb <= MEMORY_SLACK_MB

    @property
    def ok(self) -> bool:
        return (not self.errors and not self.violations and not self.mixed and self.memory_flat
                and self.bulletin_answers > 0 and self.writes > 0)

    def text(self) -> str:
        """The printed report."""
        lat = sorted(self.latencies) or [0.0]
        p50, p95 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        lines = [
            f"soak: {self.clients} clients for {self.seconds:.0f} s against a real server on 127.0.0.1",
            f"  requests {self.requests} ({self.requests / self.seconds:.1f}/s), answered "
            f"{self.answered}, abstained {self.abstained}, citing the replaced document "
            f"{self.bulletin_answers}",
            f"  admin writes {self.writes} (bulletin replaced, documents added and deleted)",
            f"  latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms",
            f"  errors {len(self.errors)}, invariant violations {len(self.violations)}, "
            f"mixed or stale versions {len(self.mixed)}",
            f"  server memory: {self.rss_warm_mb:.0f} MB warmed up, {self.rss_end_mb:.0f} MB at the end "
            f"(max {self.rss_max_mb:.0f} MB; {'flat' if self.memory_flat else 'GROWING'})",
        ]
        lines += [f"  ! {problem}" for problem in (self.errors + self.violations + self.mixed)[:20]]
        lines.append("PASS" if self.ok else "FAIL")
        return "\n".join(lines)


class Corpus:
    """What the admin has written so far, to check answers against the text they quote."""

    def __init__(self, seeds: dict[str, str]) -> None:
        self.texts = {**seeds, **{extra_id(t): extra(t) for t in EXTRA_TOPICS}}
        self.writes: list[Write] = []
        self.lock = threading.Lock()

    def live_between(self, start: float, end: float) -> list[int]:
        """The bulletin versions that can have been live at some moment in [start, end]."""
        with self.lock:
            writes = list(self.writes)
        return [
            write.version for i, write in enumerate(writes)
            if write.sent <= end and (writes[i + 1].acked if i + 1 < len(writes) else float("inf")) >= start
        ]

    def check(self, quoted: list[tuple[str, int, int, str]], start: float, end: float
              ) -> tuple[Callable[[str], str | None], list[str]]:
        """A text_of for the invariants, and a problem if the bulletin quotes fit no single version
        that was live during the request."""
        quotes = [(a, b, text) for doc_id, a, b, text in quoted if doc_id == BULLETIN]
        fitting = [v for v in self.live_between(start, end)
                   if all(bulletin(v)[a:b] == text for a, b, text in quotes)]
        named = sorted(set().union(*(versions_named(text) for *_, text in quotes)))
        problems = []
        if quotes and not fitting:
            problems.append(f"quotes bulletin versions {named}: no single version live during the "
                            "request has that text")
        version = fitting[0] if fitting else (named[0] if named else None)

        def text_of(doc_id: str) -> str | None:
            if doc_id == BULLETIN:
                return bulletin(version) if version is not None else None
            return self.texts.get(doc_id)

        return text_of, problems


def extra_id(topic: str) -> str:
    return f"soak-extra-{topic.replace(' ', '-')}"


def _sse_done(body: str) -> bytes:
    """The data of the ``done`` event of a Server-Sent Events body."""
    for block in re.split(r"\r?\n\r?\n", body):
        lines = block.splitlines()
        if "event: done" in lines:
            return "\n".join(line[6:] for line in lines if line.startswith("data: ")).encode()
    raise ValueError(f"no done event in {body[-300:]!r}")


@dataclass
class _Outcome:
    """What one request found."""

    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    answered: bool = False
    abstained: bool = False
    cited_bulletin: bool = False


def _judge(kind: str, response: httpx.Response, corpus: Corpus, start: float, end: float) -> _Outcome:
    outcome = _Outcome()
    if response.status_code != 200:
        outcome.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return outcome
    if kind == "search":
        passages = msgspec.json.decode(response.content, type=list[Passage])
        text_of, outcome.mixed = corpus.check(
            [(p.doc_id, p.start, p.end, p.text) for p in passages], start, end)
        outcome.violations = [
            f"passage {p.doc_id}[{p.start}:{p.end}] is not the document's text" for p in passages
            if (text := text_of(p.doc_id)) is None or text[p.start:p.end] != p.text
        ]
        return outcome
    body = _sse_done(response.text) if kind == "stream" else response.content
    answer = msgspec.json.decode(body, type=Answer)
    text_of, outcome.mixed = corpus.check(
        [(c.doc_id, c.start, c.end, c.quote) for c in answer.citations], start, end)
    outcome.violations = invariant_violations(answer, text_of)
    if answer.fallback_reason == "invariant_violation":
        outcome.violations.append("the service itself caught a broken answer")
    outcome.answered, outcome.abstained = not answer.abstained, answer.abstained
    outcome.cited_bulletin = any(c.doc_id == BULLETIN for c in answer.citations)
    return outcome


def _client(url: str, corpus: Corpus, report: SoakReport, deadline: float, number: int,
            lock: threading.Lock) -> None:
    questions = [*BULLETIN_QUESTIONS, *_gold_questions()]
    with httpx.Client(base_url=url, timeout=60.0) as http:
        turn = number
        while time.monotonic() < deadline:
            turn += 1
            # every third request asks about the bulletin being replaced meanwhile
            if turn % 3 == 0:
                question = BULLETIN_QUESTIONS[(turn // 3) % len(BULLETIN_QUESTIONS)]
            else:
                question = questions[(turn * 7) % len(questions)]
            kind = ("search", "stream", "ask", "ask")[turn % 4]
            start = time.monotonic()
            try:
                if kind == "search":
                    response = http.get("/v1/search", params={"q": question, "k": 5})
                else:
                    response = http.post("/v1/ask", json={"question": question, "stream": kind == "stream"})
                outcome = _judge(kind, response, corpus, start, time.monotonic())
            except (httpx.HTTPError, msgspec.DecodeError, ValueError) as exc:
                outcome = _Outcome(errors=[f"{type(exc).__name__}: {exc}"])
            label = f"{kind} {question!r}: "
            with lock:
                report.requests += 1
                report.latencies.append(time.monotonic() - start)
                report.answered += outcome.answered
                report.abstained += outcome.abstained
                report.bulletin_answers += outcome.cited_bulletin
                report.errors += [label + e for e in outcome.errors]
                report.violations += [label + v for v in outcome.violations]
                report.mixed += [label + m for m in outcome.mixed]


def _admin(url: str, corpus: Corpus, report: SoakReport, deadline: float, lock: threading.Lock) -> None:
    """Replace the bulletin every other step; in between, add or delete another document."""
    present: set[str] = set()
    with httpx.Client(base_url=url, timeout=120.0,
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as http:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            topic = EXTRA_TOPICS[(step // 2) % len(EXTRA_TOPICS)]
            try:
                if step % 2:
                    with corpus.lock:
                        write = Write(version=corpus.writes[-1].version + 1, sent=time.monotonic())
                        corpus.writes.append(write)
                    response = http.post("/v1/documents",
                                         json={"doc_id": BULLETIN, "text": bulletin(write.version)})
                    write.acked = time.monotonic()
                elif extra_id(topic) in present:
                    response = http.delete(f"/v1/documents/{extra_id(topic)}")
                    present.discard(extra_id(topic))
                else:
                    response = http.post("/v1/documents",
                                         json={"doc_id": extra_id(topic), "text": extra(topic)})
                    present.add(extra_id(topic))
                problem = None if response.status_code in (200, 204) else \
                    f"admin write: HTTP {response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                problem = f"admin write: {type(exc).__name__}: {exc}"
            with lock:
                report.writes += 1
                report.errors += [problem] if problem else []
            time.sleep(0.3)


def _gold_questions() -> list[str]:
    lines = (ROOT / "eval" / "gold.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][::4]


def soak(server: LocalServer, seconds: float, clients: int) -> SoakReport:
    """Run the soak against a started server whose admin key is ADMIN_KEY."""
    report = SoakReport(seconds=seconds, clients=clients)
    listed = httpx.get(f"{server.url}/v1/documents", timeout=30).json()
    seeds = {d["doc_id"]: httpx.get(f"{server.url}/v1/documents/{d['doc_id']}", timeout=30).json()["text"]
             for d in listed if d["doc_id"] != BULLETIN and not d["doc_id"].startswith("soak-extra-")}
    corpus = Corpus(seeds)
    first = Write(version=1, sent=time.monotonic())
    response = httpx.post(f"{server.url}/v1/documents", json={"doc_id": BULLETIN, "text": bulletin(1)},
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=120)
    response.raise_for_status()
    first.acked = time.monotonic()
    corpus.writes.append(first)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds
    workers = [threading.Thread(target=_client, args=(server.url, corpus, report, deadline, n, lock))
               for n in range(clients)]
    workers.append(threading.Thread(target=_admin, args=(server.url, corpus, report, deadline, lock)))
    for worker in workers:
        worker.start()
    samples: list[tuple[float, float]] = []
    while any(w.is_alive() for w in workers):
        samples.append((time.monotonic() - started, server.rss_mb()))
        time.sleep(0.5)
    for worker in workers:
        worker.join()
    warm = [rss for at, rss in samples if at >= seconds / 4] or [samples[-1][1]]
    report.rss_warm_mb, report.rss_end_mb = warm[0], samples[-1][1]
    report.rss_max_mb = max(rss for _, rss in samples)
    return report


def start_server(data_dir: Path, log_path: Path) -> LocalServer:
    """Start ``qa serve`` over ``data_dir`` as the soak needs it: no rate limit, admin key ADMIN_KEY."""
    return LocalServer.start(data_dir, env={"QA_RATE_LIMIT": "off", "QA_ADMIN_KEY": ADMIN_KEY},
                             log_path=log_path)


def index_seeds(data_dir: Path) -> None:
    """Index the seed articles into ``data_dir`` with ``qa index``."""
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--source", str(ROOT / "seeds")],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"qa index failed:\n{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.soak`: run the soak and print the report; exit 1 if it failed."""
    parser = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--data", type=Path, help="copy this index instead of indexing the seeds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qa-soak-") as tmp:
        data = Path(tmp) / "data"
        if args.data:
            shutil.copytree(args.data, data)
        else:
            print("indexing the seed articles ...", file=sys.stderr)
            index_seeds(data)
        print(f"soaking a real server for {args.seconds:.0f} s ...", file=sys.stderr)
        with start_server(data, Path(tmp) / "server.log") as server:
            report = soak(server, args.seconds, args.clients)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
