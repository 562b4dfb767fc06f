"""The ``qa`` command: index, ask, serve, eval, bench."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import msgspec

from qa.errors import QAError
from qa.records import Answer
from qa.settings import Settings


def _progress_printer() -> object:
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"{stage:>12}", unit="item", file=sys.stderr)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return progress


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index from a folder of articles and print a summary."""
    from qa.service import QAService

    source = Path(args.source) if args.source else settings.index.seeds_dir
    started = time.perf_counter()
    print(f"Indexing {source}/ into {settings.index.data_dir}/ ...", file=sys.stderr)
    store = QAService.build(settings, progress=_progress_printer(), source=source)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    summaries = store.summaries()
    dropped = [d for s in summaries for d in s.dropped]
    if args.show_dropped:
        print("Dropped as page furniture:")
        for d in dropped:
            preview = " ".join(d.text.split())
            preview = preview if len(preview) <= 90 else preview[:87] + "..."
            print(f"  {d.doc_id} [{d.start}:{d.end}] {d.reason:<10} {preview}")
    print(
        f"Indexed {len(summaries)} documents: {sum(s.chunks for s in summaries)} chunks, "
        f"{len(dropped)} dropped spans (furniture), in {seconds:.1f} s (store {store.uri})."
    )
    store.close()
    if not args.show_dropped and dropped:
        print("Run `qa index --show-dropped` to list the dropped spans.")
    return 0


def print_answer(answer: Answer) -> None:
    """Human-readable answer with its numbered sources."""
    print(answer.answer)
    if answer.short_answer:
        print(f"\nIn short: {answer.short_answer}")
    if answer.fallback_reason:
        print(f"(answered in {answer.mode} mode: {answer.fallback_reason})")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.published) if x)
            print(f"[{c.marker}] {c.title}" + (f" ({meta})" if meta else ""))
            print(f"    \"{' '.join(c.quote.split())}\"  ({c.doc_id} {c.start}-{c.end})")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or start an interactive loop when none is given."""
    from qa.service import QAService

    service = QAService.open(settings)
    questions = [" ".join(args.question)] if args.question else None

    def answer(question: str) -> None:
        result = service.ask_sync(question, top_k=args.top_k, mode=args.mode)
        if args.json:
            print(msgspec.json.format(msgspec.json.encode(result)).decode())
        else:
            print_answer(result)

    if questions:
        answer(questions[0])
        return 0
    print("Ask a question about the articles (empty line or Ctrl-D to quit).", file=sys.stderr)
    while True:
        try:
            line = input("? ").strip()
        except EOFError:
            return 0
        if not line:
            return 0
        try:
            answer(line)
        except QAError as exc:
            print(f"error: {exc}", file=sys.stderr)
        print()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP service."""
    from qa.app import serve

    server = replace(settings.server, host=args.host or settings.server.host,
                     port=args.port or settings.server.port)
    serve(replace(settings, server=server))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="build the index from a folder of articles")
    p.add_argument("--source", help="folder of .txt articles (+ manifest.json); default: seeds/")
    p.add_argument("--show-dropped", action="store_true", help="list the furniture spans dropped")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("ask", help="answer a question (interactive when none is given)")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true", help="print the answer record as JSON")
    p.add_argument("--mode", choices=["extractive", "llm"])
    p.add_argument("--top-k", type=int, dest="top_k")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)
    sub.add_parser("eval", help="run the gold-question eval suite (see `qa eval --help`)",
                   add_help=False)
    sub.add_parser("bench", help="run the benchmarks (see `qa bench --help`)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qa`` console script."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":
        # one OpenMP thread per search: requests already run in parallel, and OpenMP teams per
        # worker thread spin and steal the other core (measured: 150 -> 223 req/s on 2 cores).
        # It must be set before faiss is first imported.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    if argv and argv[0] == "eval":
        from eval.cli import main as eval_main

        return eval_main(argv[1:])
    if argv and argv[0] == "bench":
        from eval.bench import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad settings from the environment
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
