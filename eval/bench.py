"""``qa bench``: latency, throughput, cold start, memory, ingestion and index scale, each against its
target and as a ratio to the floor (encoding one short question), measured in the same run."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from eval import bench_data, bench_http, bench_local
from eval.local_server import LocalServer

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One measured figure, its target (if it has one) and its ratio to the floor."""

    key: str
    label: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None
    x_floor: float | None = None


@dataclass(frozen=True)
class Plan:
    """How much of everything to run."""

    questions: int
    floor_runs: int
    load_seconds: float
    soak_requests: int
    cold_starts: int
    ingest_chars: int
    scale_vectors: int
    compare_vectors: int  # index types side by side at this size (0: skip)


FULL = Plan(questions=300, floor_runs=300, load_seconds=20, soak_requests=10_000, cold_starts=3,
            ingest_chars=1_000_000, scale_vectors=1_000_000, compare_vectors=100_000)
QUICK = Plan(questions=60, floor_runs=100, load_seconds=3, soak_requests=400, cold_starts=1,
             ingest_chars=60_000, scale_vectors=50_000, compare_vectors=0)
# Every figure `qa bench` reports, quick or full (tests/test_bench.py checks each is there).
FIGURE_KEYS = (
    "floor_ms", "floor_torch_ms", "cold_start_s", "ask_p50_ms", "ask_p95_ms", "ask_p99_ms",
    "load_rps", "load_errors", "load_p95_ms", "bare_encode_rps", "load_vs_bare",
    "rss_after_100_mb", "rss_after_soak_mb", "rss_growth_pct", "ingest_chunks_per_s",
    "ingest_embed_only_chunks_per_s",
    "scale_build_s", "scale_rss_mb", "scale_query_p50_ms", "scale_recall_at_10",
)


class Report:
    """Figures as they are measured, plus details that explain them."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.details: dict[str, Any] = {}
        self.floor_ms: float | None = None

    def add(self, key: str, label: str, value: float, unit: str, *, target: str | None = None,
            met: bool | None = None, latency: bool = False) -> None:
        ratio = round(value / self.floor_ms, 2) if latency and self.floor_ms else None
        self.figures.append(Figure(key=key, label=label, value=round(float(value), 3), unit=unit,
                                   target=target, met=met, x_floor=ratio))


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_service(report: Report, plan: Plan, data_dir: Path, questions: list[str], work: Path) -> None:
    """Cold start, warm latency, throughput under load and memory over many requests."""
    from embeddings.encoder import default_encoder

    floor = report.floor_ms or 1.0
    cold = []
    for _ in range(plan.cold_starts - 1):
        server = bench_http.start_server(data_dir, work / "server.log")
        cold.append(server.cold_start_s)
        server.stop()
    server = bench_http.start_server(data_dir, work / "server.log")
    try:
        cold.append(server.cold_start_s)
        report.add("cold_start_s", "cold start: process start to /readyz OK", float(np.median(cold)),
                   "s", target="<= 6 s", met=float(np.median(cold)) <= 6.0)
        _log(f"cold start {cold}; warming up")
        sent = len(bench_http.ask_sequentially(server, (questions * 2)[:100]).latencies)
        rss_100 = server.rss_mb()
        _log(f"{len(questions)} questions, one client")
        seq = bench_http.ask_sequentially(server, questions)
        sent += len(seq.latencies)
        p50, p95 = bench_local.percentile_ms(seq.latencies, 50), bench_local.percentile_ms(seq.latencies, 95)
        report.add("ask_p50_ms", "warm /v1/ask p50 (extractive, loopback)", p50, "ms",
                   target="<= 2 x floor", met=p50 <= 2 * floor, latency=True)
        report.add("ask_p95_ms", "warm /v1/ask p95", p95, "ms", target="<= 3 x floor",
                   met=p95 <= 3 * floor, latency=True)
        report.add("ask_p99_ms", "warm /v1/ask p99", bench_local.percentile_ms(seq.latencies, 99), "ms",
                   latency=True)
        report.details["questions"] = {"asked": len(questions), "abstained": seq.abstained,
                                       "errors": seq.errors, "examples": questions[:8]}
        _log(f"{CLIENTS} clients for {plan.load_seconds:.0f} s, alternating with the bare encode loop")
        loaded, bare = compare_with_bare(server, questions, plan.load_seconds)
        sent += loaded.completed
        report.details["bare_encode_micro_batched_rps"] = round(bench_local.bare_encode_rate(
            default_encoder(), questions, CLIENTS, plan.load_seconds / LOAD_ROUNDS, batched=True), 1)
        report.add("load_rps", f"throughput, {CLIENTS} clients", loaded.rate, "req/s")
        report.add("load_errors", f"errors, {CLIENTS} clients", loaded.errors, "", target="0",
                   met=loaded.errors == 0)
        report.add("load_p95_ms", f"p95 latency, {CLIENTS} clients",
                   bench_local.percentile_ms(loaded.latencies, 95), "ms", latency=True)
        report.add("bare_encode_rps", f"bare encode loop, {CLIENTS} threads, 1 per call", bare, "enc/s")
        report.add("load_vs_bare", "throughput / bare encode loop", loaded.rate / bare, "",
                   target=">= 0.5", met=loaded.rate / bare >= 0.5)
        remaining = plan.soak_requests - sent
        _log(f"memory soak: {max(0, remaining)} more requests")
        if remaining > 0:
            soak = bench_http.load(server, questions, CLIENTS, total=remaining)
            report.details["soak_errors"] = soak.errors
            sent += soak.completed
        rss_end = server.rss_mb()
        growth = 100 * (rss_end - rss_100) / rss_100
        report.add("rss_after_100_mb", "service RSS after 100 requests", rss_100, "MB")
        report.add("rss_after_soak_mb", f"service RSS after {sent} requests",
                   rss_end, "MB")
        report.add("rss_growth_pct", "RSS growth between the two", growth, "%",
                   target="<= 5 % (noise)", met=growth <= 5.0)
    finally:
        server.stop()


LOAD_ROUNDS = 4  # the service under load and the bare encode loop take turns, in short rounds


def compare_with_bare(
    server: LocalServer, questions: list[str], seconds: float
) -> tuple[bench_http.Load, float]:
    """The service under 8 clients and the bare encode loop (8 threads), measured in alternating
    rounds so that both see the same machine: on a shared VM the load moves from minute to
    minute, and a ratio of two figures taken minutes apart moved by +-10 %."""
    from embeddings.encoder import default_encoder

    each = seconds / LOAD_ROUNDS
    rounds: list[bench_http.Load] = []
    rates: list[float] = []
    for _ in range(LOAD_ROUNDS):
        rounds.append(bench_http.load(server, questions, CLIENTS, seconds=each))
        rates.append(bench_local.bare_encode_rate(default_encoder(), questions, CLIENTS, each))
    loaded = bench_http.Load(
        completed=sum(r.completed for r in rounds), errors=sum(r.errors for r in rounds),
        latencies=[t for r in rounds for t in r.latencies], seconds=sum(r.seconds for r in rounds),
    )
    return loaded, sum(rates) / len(rates)


def run_scale(report: Report, plan: Plan, base: np.ndarray, queries: np.ndarray, work: Path) -> None:
    """The dense index over many realistic vectors, measured in subprocesses (own memory)."""
    base_file, query_file = work / "scale-base.npy", work / "scale-queries.npy"
    np.save(base_file, base)
    np.save(query_file, queries)

    def measure(n: int, index_type: str) -> dict[str, object]:
        out = work / f"scale-{n}-{index_type}.json"
        subprocess.run([sys.executable, "-m", "eval.bench_scale", str(base_file), str(query_file),
                        str(n), index_type, str(out)], check=True, cwd=ROOT)
        result: dict[str, object] = json.loads(out.read_text())
        return result

    _log(f"scale: {plan.scale_vectors:,} vectors, index type auto")
    main = measure(plan.scale_vectors, "auto")
    report.details["scale"] = main
    n = f"{plan.scale_vectors // 1000}k"
    report.add("scale_build_s", f"index build, {n} vectors ({main['faiss_class']})",
               float(main["build_s"]), "s")  # type: ignore[arg-type]
    rss = float(main["rss_mb"])  # type: ignore[arg-type]
    report.add("scale_rss_mb", f"RSS of a process serving the {n} index", rss, "MB",
               target="<= 1024 MB", met=rss <= 1024)
    p50 = float(main["query_p50_ms"])  # type: ignore[arg-type]
    report.add("scale_query_p50_ms", f"query p50, {n} vectors (1 thread)", p50, "ms",
               target="<= 20 ms", met=p50 <= 20)
    recall = float(main["recall_at_10"])  # type: ignore[arg-type]
    report.add("scale_recall_at_10", f"recall@10 vs exact, {n} vectors", recall, "",
               target=">= 0.95", met=recall >= 0.95)
    if plan.compare_vectors:
        _log(f"index types at {plan.compare_vectors:,} vectors")
        report.details["index_types"] = [
            measure(plan.compare_vectors, kind) for kind in ("flat", "hnsw", "ivfpq", "ivfsq8")
        ]


def run(plan: Plan, work: Path, llm: str | None = None) -> Report:
    """Every benchmark, in an order that keeps the server's measurements apart from the heavy ones."""
    from embeddings.encoder import MiniLMEncoder, default_encoder
    from qa.service import QAService
    from qa.settings import IndexSettings, Settings

    report = Report()
    encoder = default_encoder()
    report.details["backend"] = encoder.backend
    settings = replace(Settings(), index=IndexSettings(data_dir=work / "seed-data",
                                                       seeds_dir=ROOT / "seeds"))
    _log("indexing the seed articles")
    QAService.build(settings, encoder)
    service = QAService.open(settings, encoder)
    questions = bench_data.make_questions(service.store, plan.questions)
    with bench_local.torch_threads(1 if encoder.backend == "torch" else None):
        report.floor_ms = bench_local.encode_floor(encoder, questions, plan.floor_runs)
        report.add("floor_ms", f"floor: encode one short question ({encoder.backend})",
                   report.floor_ms, "ms", latency=True)
        torch_floor = (report.floor_ms if encoder.backend == "torch"
                       else bench_local.encode_floor(MiniLMEncoder(backend="torch"), questions,
                                                     plan.floor_runs))
    report.add("floor_torch_ms", "the same with PyTorch (sentence-transformers)", torch_floor, "ms",
               latency=True)
    report.details["profile"] = [dataclasses.asdict(p) for p in
                                 bench_local.profile_questions(service, questions)]
    run_service(report, plan, settings.index.data_dir, questions, work)

    _log("ingesting a synthetic corpus")
    source = work / "corpus"
    bench_data.write_synthetic_corpus(ROOT / "seeds", source, plan.ingest_chars)
    result = bench_local.ingest(source, work / "ingest-data", encoder)
    report.add("ingest_chunks_per_s", f"ingest: clean+chunk+tag+embed+index, {result.chunks} chunks",
               result.rate, "chunks/s", target=">= 400", met=result.rate >= 400)
    ceiling = result.chunks / result.stages["embed"]
    report.add("ingest_embed_only_chunks_per_s",
               "ceiling: embedding alone (chunks and their sentences)", ceiling, "chunks/s")
    report.details["ingest"] = {"documents": result.documents, "chunks": result.chunks,
                                "sentences": result.sentences,
                                "stages_s": {k: round(v, 2) for k, v in result.stages.items()}}
    sample = result.chunk_texts[: 600 if plan.compare_vectors else 64]
    _log("comparing encoder backends")
    report.details["backends"] = bench_local.compare_backends(
        sample, questions, plan.floor_runs // 2, ("torch", "onnx", "onnx-int8"))
    run_scale(report, plan, result.chunk_vectors, encoder.encode(questions), work)
    if llm:
        from eval.bench_llm import QUESTIONS, run_llm

        _log(f"llm mode against {llm}")
        run_llm(report, service, questions[:QUESTIONS], llm)
    return report


def print_report(report: Report, mode: str) -> None:
    """The figures as a table, then the details that explain them."""
    print(f"\nqa bench ({mode}) - backend {report.details.get('backend')}, {machine()['summary']}")
    print(f"{'figure':<52} {'measured':>14} {'x floor':>8}  {'target':<16} met")
    print("-" * 98)
    for f in report.figures:
        measured = f"{f.value:,.2f} {f.unit}".strip()
        ratio = f"{f.x_floor:.2f}" if f.x_floor is not None else ""
        met = "" if f.met is None else ("yes" if f.met else "NO")
        print(f"{f.label:<52} {measured:>14} {ratio:>8}  {f.target or '':<16} {met}")
    print("\nwhere a question's time goes (in-process profile, per question):")
    for item in report.details.get("profile", [])[:8]:
        print(f"  {item['self_ms']:7.3f} ms self {item['total_ms']:7.3f} ms total  {item['function']}")
    print("\nencoder backends:")
    for row in report.details.get("backends", []):
        print("  " + ", ".join(f"{k} {v}" for k, v in row.items()))
    ingest = report.details.get("ingest")
    if isinstance(ingest, dict):
        print(f"\ningest stages (s): {ingest['stages_s']}")
    for row in report.details.get("index_types", []):
        print("  " + ", ".join(f"{k} {v}" for k, v in row.items()))


def machine() -> dict[str, object]:
    """What the figures were measured on, and how busy it was."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_avg_1_5_15": [round(x, 2) for x in load],
            "summary": f"{os.cpu_count()} x {cpu}, load {load[0]:.2f}"}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table, optionally write JSON; 0 unless a benchmark crashed."""
    parser = argparse.ArgumentParser(prog="qa bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI (~2 minutes)")
    parser.add_argument("--json", type=Path, help="also write the figures and details here")
    parser.add_argument("--ingest-chars", type=int, metavar="N",
                        help="size of the synthetic ingest corpus in characters (full: 1,000,000, "
                             "~2,000 chunks; 10,000,000 makes ~20,000 chunks and takes ~20 minutes)")
    parser.add_argument("--llm", metavar="URL|bundled",
                        help="also measure llm mode against this server, or the bundled model")
    if argv and "--scale" in argv:
        from eval.bench_store import main as scale_main

        return scale_main(argv)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    plan, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    if args.ingest_chars is not None:
        if args.ingest_chars < 10_000:
            parser.error("--ingest-chars must be at least 10000")
        plan = replace(plan, ingest_chars=args.ingest_chars)
    before = machine()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp, contextlib.ExitStack() as stack:
        llm = args.llm
        if llm == "bundled":
            from eval.local_server import free_port
            from qa.llm_local import LocalLLMServer

            llm = stack.enter_context(LocalLLMServer(port=free_port())).base_url
        report = run(plan, Path(tmp), llm)
    report.details["machine_before"] = before
    report.details["machine_after"] = machine()
    report.details["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report, mode)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "mode": mode, "floor_ms": report.floor_ms,
            "figures": [msgspec.structs.asdict(f) for f in report.figures],
            "details": report.details,
        }, indent=2))
    return 0
