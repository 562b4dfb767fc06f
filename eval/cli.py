"""`qa eval` / `python -m eval`: run the gold questions, print the figures, check the gate."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from eval import dialogues_gate
from eval.corpora import CORPORA, DEFAULT_CACHE, MILVUS, Corpus, select_corpora, settings_for
from eval.dialogues import TurnResult
from eval.gate import (
    BASELINE_PATH,
    THRESHOLDS_PATH,
    GateConfigError,
    check_corpora,
    load_baseline,
    load_thresholds,
    write_baseline,
)
from eval.gold import GoldError, GoldQuestion, load_gold
from eval.report import corpus_report, flat_summary, shown, write_reports
from eval.runner import Backend, HttpBackend, QuestionResult, ServiceBackend, run_eval
from qa.errors import QAError
from qa.records import MODES


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of the eval runner."""
    p = argparse.ArgumentParser(prog="qa eval", description=__doc__)
    p.add_argument("--corpus", help=f"comma-separated corpora to run (default: all of "
                   f"{', '.join(CORPORA)} and {dialogues_gate.NAME}; with --url: seeds)")
    p.add_argument("--split", choices=["dev", "test"], help="run one split only (default: both)")
    p.add_argument("--mode", choices=MODES, help="generator (default: QA_MODE)")
    p.add_argument("--url", help="evaluate a running server (e.g. http://127.0.0.1:8000)")
    p.add_argument("--top-k", type=int, dest="top_k", help="passages per question")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a corpus's test split misses a threshold or a dev question "
                   "that passes in the baseline fails")
    p.add_argument("--update-baseline", action="store_true",
                   help="record which dev questions pass now in the baseline file")
    p.add_argument("--report", type=Path, help="write an HTML report here (and JSON beside it)")
    p.add_argument("--only", help="comma-separated question ids or categories to run")
    p.add_argument("--data-dir", type=Path, dest="data_dir",
                   help="where each corpus's index is built and cached by content hash "
                   "(default: QA_EVAL_DATA or .eval-data)")
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH)
    p.add_argument("--baseline", type=Path, default=BASELINE_PATH)
    p.add_argument("--seeds", type=Path,
                   help="article folder to check --url citations against (default: the corpus's)")
    p.add_argument("--show-test-failures", action="store_true", dest="show_test",
                   help="also list the failed questions of the test split (never while tuning)")
    p.add_argument("--quiet", action="store_true", help="no per-question progress on stderr")
    p.add_argument("--store", choices=["embedded", MILVUS], default="embedded",
                   help="index each corpus in the embedded store (default) or in its own milvus-lite "
                   "file, to check that both give the same answers")
    return p


def select(questions: list[GoldQuestion], only: str | None,
           split: str | None = None) -> list[GoldQuestion]:
    """The questions whose id or category is listed in ``only`` (all when None), of one split."""
    if split:
        questions = [q for q in questions if q.split == split]
    if not only:
        return questions
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    return [q for q in questions if q.id in wanted or q.category in wanted]


def _progress(i: int, n: int, r: QuestionResult) -> None:
    status = "pass" if r.passed else "FAIL"
    latency = f"{r.latency:5.2f}s" if r.latency is not None else "   -  "
    print(f"[{i:>3}/{n}] {status} {latency} {r.corpus}/{r.split} {r.id}", file=sys.stderr,
          flush=True)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cache(args: argparse.Namespace) -> Path:
    return args.data_dir or Path(os.environ.get("QA_EVAL_DATA") or DEFAULT_CACHE)


def _backend(args: argparse.Namespace, corpus: Corpus) -> Backend:
    from qa.settings import Settings

    settings = Settings.from_env()
    if args.url:
        return HttpBackend(args.url, args.seeds or corpus.articles, settings.retrieval.top_k)
    from qa.service import QAService

    if args.store == MILVUS:
        settings = replace(settings, index=replace(settings.index, store=MILVUS))
    return ServiceBackend(QAService.open(settings_for(corpus, settings, _cache(args), _log)))


def _turn_progress(r: TurnResult) -> None:
    status = ("ok " if r.followup_ok else "BAD") if r.split == "dev" else "-  "
    print(f"[turn] {status} {dialogues_gate.NAME}/{r.split} {r.dialogue} t{r.turn}", file=sys.stderr,
          flush=True)


def _dialogues(args: argparse.Namespace) -> list[TurnResult]:
    split = "test" if args.check and args.split == "dev" else args.split
    return dialogues_gate.run(_cache(args), split=split, mode=args.mode, top_k=args.top_k,
                              progress=None if args.quiet else _turn_progress, log=_log)


def _run(args: argparse.Namespace, names: str | None) -> tuple[list[QuestionResult], int]:
    """Every selected corpus's questions through its backend; (results, default top-k)."""
    corpora = select_corpora(names or ("seeds" if args.url else None))
    if args.url and len(corpora) > 1:
        raise ValueError("--url evaluates the one corpus the server has indexed: pass --corpus")
    split = "test" if args.check and args.split == "dev" else args.split
    plan = [(c, select(load_gold(c.gold), args.only, split)) for c in corpora]
    if not any(questions for _, questions in plan):
        raise GoldError(f"no question matches --only {args.only!r}")
    results: list[QuestionResult] = []
    default_k = 0
    for corpus, questions in plan:
        if not questions:
            continue
        backend = _backend(args, corpus)
        default_k = backend.default_k
        try:
            results += run_eval(questions, backend, top_k=args.top_k, mode=args.mode,
                                progress=None if args.quiet else _progress)
        finally:
            if isinstance(backend, HttpBackend):
                if backend.waited:
                    _log(f"(waited {backend.waited:.0f} s in total for the server's rate limit)")
                backend.close()
    return results, default_k


def main(argv: list[str] | None = None) -> int:
    """Run the eval; 0 on success, 1 when --check finds a problem, 2 when it cannot run."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        thresholds = load_thresholds(args.thresholds) if args.check else {}
        baseline = load_baseline(args.baseline) if args.check else {}
        others, with_dialogues = dialogues_gate.wanted(args.corpus, args.only, args.url)
        limits = dialogues_gate.load_limits(args.thresholds) if args.check and with_dialogues else {}
        results, default_k = _run(args, others) if others != "" else ([], 0)
        turns = _dialogues(args) if with_dialogues else None
    except (GoldError, GateConfigError, QAError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    top_k = args.top_k or default_k
    if results:
        print(corpus_report(results, args.show_test))
        print(f"\n(R@k and MRR over the top {top_k} passages per question)")
    if turns is not None:
        print(("\n" if results else "") + dialogues_gate.report(turns, args.show_test))
    problems = check_corpora(results, thresholds, baseline) if args.check else None
    if problems is not None and turns is not None:
        problems += dialogues_gate.check(turns, limits)
    if problems is not None:
        print()
        print("gate FAILED:" if problems else "gate passed")
        for line in problems:
            print(f"  {line}")
    if args.report and results:
        config = {"mode": args.mode or "default", "url": args.url or "in-process", "store": args.store,
                  "top_k": top_k, "questions": len(results),
                  "corpora": ",".join(dict.fromkeys(r.corpus for r in results))}
        json_path = write_reports(args.report, flat_summary(results),
                                  shown(results, args.show_test), config, problems)
        print(f"\nreport: {args.report} and {json_path}", file=sys.stderr)
    if args.report and turns is not None:
        turns_path = args.report.with_suffix(".dialogues.json")
        turns_path.write_bytes(dialogues_gate.to_json(turns, problems))
        print(f"dialogues: {turns_path}", file=sys.stderr)
    if args.update_baseline:
        write_baseline([r for r in results if r.split != "test"], args.baseline)
        print(f"baseline updated: {args.baseline}", file=sys.stderr)
    return exit_code(results, problems)


def exit_code(results: list[QuestionResult], problems: list[str] | None) -> int:
    """2 when every question failed to run, 1 when some did or the gate failed, else 0."""
    errors = sum(r.error is not None for r in results)
    if errors:
        print(f"{errors} of {len(results)} questions could not be run (see the errors above).",
              file=sys.stderr)
    if results and errors == len(results):
        return 2
    return 1 if problems or errors else 0
