"""`qa eval` / `python -m eval`: run the gold questions, print the figures, check the gate."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from eval.gate import (
    BASELINE_PATH,
    THRESHOLDS_PATH,
    GateConfigError,
    check,
    load_baseline,
    load_thresholds,
    write_baseline,
)
from eval.gold import GOLD_PATH, GoldError, GoldQuestion, load_gold
from eval.report import terminal_table, write_reports
from eval.runner import Backend, HttpBackend, QuestionResult, ServiceBackend, run_eval
from eval.summary import summarize
from qa.errors import QAError
from qa.records import MODES


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of the eval runner."""
    p = argparse.ArgumentParser(prog="qa eval", description=__doc__)
    p.add_argument("--mode", choices=MODES, help="generator (default: QA_MODE)")
    p.add_argument("--url", help="evaluate a running server (e.g. http://127.0.0.1:8000)")
    p.add_argument("--top-k", type=int, dest="top_k", help="passages per question")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a threshold is missed or a baseline question now fails")
    p.add_argument("--update-baseline", action="store_true",
                   help="record which questions pass now in the baseline file")
    p.add_argument("--report", type=Path, help="write an HTML report here (and JSON beside it)")
    p.add_argument("--only", help="comma-separated question ids or categories to run")
    p.add_argument("--gold", type=Path, default=GOLD_PATH)
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS_PATH)
    p.add_argument("--baseline", type=Path, default=BASELINE_PATH)
    p.add_argument("--seeds", type=Path,
                   help="article folder to check --url citations against (default: QA_SEEDS_DIR)")
    p.add_argument("--quiet", action="store_true", help="no per-question progress on stderr")
    return p


def select(questions: list[GoldQuestion], only: str | None) -> list[GoldQuestion]:
    """The questions whose id or category is listed in ``only`` (all when it is None)."""
    if not only:
        return questions
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    return [q for q in questions if q.id in wanted or q.category in wanted]


def _progress(i: int, n: int, r: QuestionResult) -> None:
    status = "pass" if r.passed else "FAIL"
    latency = f"{r.latency:5.2f}s" if r.latency is not None else "   -  "
    print(f"[{i:>3}/{n}] {status} {latency} {r.id}", file=sys.stderr, flush=True)


def _backend(args: argparse.Namespace) -> Backend:
    from qa.settings import Settings

    settings = Settings.from_env()
    if args.url:
        return HttpBackend(args.url, args.seeds or settings.index.seeds_dir,
                           settings.retrieval.top_k)
    from qa.service import QAService

    return ServiceBackend(QAService.open(settings))


def main(argv: list[str] | None = None) -> int:
    """Run the eval; 0 on success, 1 when --check finds a problem, 2 when it cannot run."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    backend: Backend | None = None
    try:
        questions = select(load_gold(args.gold), args.only)
        thresholds = load_thresholds(args.thresholds) if args.check else {}
        baseline = load_baseline(args.baseline) if args.check else {}
        if not questions:
            raise GoldError(f"no question matches --only {args.only!r}")
        backend = _backend(args)
        results = run_eval(questions, backend, top_k=args.top_k, mode=args.mode,
                           progress=None if args.quiet else _progress)
    except (GoldError, GateConfigError, QAError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if isinstance(backend, HttpBackend):
            backend.close()
    summary = summarize(results)
    print(terminal_table(summary, results))
    print(f"\n(R@k and MRR over the top {args.top_k or backend.default_k} passages per question)")
    problems = check(summary, results, thresholds, baseline) if args.check else None
    if problems is not None:
        print()
        print("gate FAILED:" if problems else "gate passed")
        for line in problems:
            print(f"  {line}")
    if args.report:
        config = {"mode": args.mode or "default", "url": args.url or "in-process",
                  "top_k": args.top_k or backend.default_k, "questions": len(questions)}
        json_path = write_reports(args.report, summary, results, config, problems)
        print(f"\nreport: {args.report} and {json_path}", file=sys.stderr)
    if args.update_baseline:
        write_baseline(results, args.baseline)
        print(f"baseline updated: {args.baseline}", file=sys.stderr)
    if all(r.error is not None for r in results):
        return 2
    return 1 if problems else 0
