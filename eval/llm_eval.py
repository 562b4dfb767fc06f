"""The eval in llm mode with the bundled model, per corpus, on a fixed subset of each test split.

    python -m eval.llm_eval [--url http://127.0.0.1:8090/v1] [--corpus seeds,news] [--limit 20]
                            [--split dev] [--json out.json]

Without ``--url`` it starts the bundled model itself on loopback (``qa.llm_local``) and stops it
afterwards. Reports, for the same questions in extractive and llm mode: answers kept from the
model vs fell back (and why), accuracy, refusal F1 and latency; and of the answers the model got
right (its raw text names an accepted answer), how many verification kept. The default subset
(``SUBSET`` questions of each corpus) keeps the run in CI to a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.corpora import CORPORA, DEFAULT_CACHE, select_corpora, settings_for
from eval.gold import GoldQuestion, load_gold
from eval.local_server import free_port
from eval.metrics import contains, percentile
from eval.replay import ReplayTransport, replaying
from eval.runner import QuestionResult, ServiceBackend, run_eval
from eval.summary import figures
from qa.service import QAService
from qa.settings import Settings

SUBSET = 6  # questions per corpus: about 10-20 s each for the 1.5B model on two free cores


def subset(questions: list[GoldQuestion], limit: int = SUBSET, split: str = "test") -> list[GoldQuestion]:
    """A fixed subset of one split (test by default; dev to tune on): in their proportions."""
    test = [q for q in questions if q.split == split]
    test.sort(key=lambda q: hashlib.sha256(q.id.encode()).hexdigest())
    return test[:limit]


def evaluate(
    base_url: str, limit: int = SUBSET, corpus: str = "seeds", cache: Path = DEFAULT_CACHE,
    split: str = "test", replay: Path | None = None,
) -> dict[str, Any]:
    """Run the subset in both modes against an OpenAI-compatible server at ``base_url`` (with
    ``replay``, the model's replies to prompts asked before come from that file)."""
    settings = settings_for(CORPORA[corpus], Settings.from_env(), cache,
                            lambda line: print(line, file=sys.stderr, flush=True))
    service = QAService.open(settings)
    generator = replace(settings.generator, mode="llm", llm_base_url=base_url, llm_timeout=600.0)
    llm_service = QAService(replace(settings, generator=generator), service.store, service.encoder)
    replaying(llm_service, ReplayTransport(keep=replay) if replay is not None else None)
    questions = subset(load_gold(CORPORA[corpus].gold), limit, split)
    extractive = run_eval(questions, ServiceBackend(service), mode="extractive")
    raw: dict[str, str] = {}

    def capture(i: int, n: int, result: QuestionResult) -> None:
        said = getattr(llm_service._generators.get("llm"), "last_reply", None)
        raw[result.id] = said.text if said is not None else ""
        print(f"[{i}/{n}] {result.mode} {result.fallback_reason or ''} {result.latency or 0:.1f}s "
              f"{result.id}", file=sys.stderr, flush=True)

    llm = run_eval(questions, ServiceBackend(llm_service), mode="llm", progress=capture)
    asyncio.run(llm_service.aclose())
    gold = {q.id: q for q in questions}
    right = [r for r in llm if not r.must_abstain and _model_right(raw.get(r.id, ""), gold[r.id])]
    report = {
        "corpus": corpus, "split": split, "questions": len(questions),
        "kept": sum(r.mode == "llm" for r in llm),
        "fell_back": dict(Counter(r.fallback_reason for r in llm if r.fallback_reason)),
        "accuracy_llm": _rate(llm), "accuracy_extractive": _rate(extractive),
        "refusal_f1_llm": figures(llm).get("abstention_f1"),
        "refusal_f1_extractive": figures(extractive).get("abstention_f1"),
        "latency_llm_p50": percentile([r.latency for r in llm if r.latency], 50),
        "latency_llm_p95": percentile([r.latency for r in llm if r.latency], 95),
        "model_right": len(right), "model_right_kept": sum(r.mode == "llm" for r in right),
        "model_right_kept_rate": _rate_of(sum(r.mode == "llm" for r in right), len(right)),
        "answers": [{"id": r.id, "mode": r.mode, "reason": r.fallback_reason, "passed": r.passed,
                     "model": raw.get(r.id, ""), "answer": r.answer} for r in llm],
    }
    return report


def _model_right(text: str, question: GoldQuestion) -> bool:
    """True when the model's raw text names an accepted answer to every item."""
    return bool(text) and all(any(contains(text, alias) for alias in item) for item in question.answers)


def _rate_of(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _rate(results: list[QuestionResult]) -> float | None:
    return round(sum(r.passed for r in results) / len(results), 3) if results else None


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps({k: v for k, v in report.items() if k != "answers"}), flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the llm-mode eval (starting the bundled model unless --url is given)."""
    parser = argparse.ArgumentParser(prog="python -m eval.llm_eval")
    parser.add_argument("--url", help="an OpenAI-compatible server instead of the bundled model")
    parser.add_argument("--limit", type=int, default=SUBSET)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--split", choices=["dev", "test"], default="test",
                        help="dev to tune on; test (the default) for the figures")
    parser.add_argument("--corpus", help=f"comma-separated, of {', '.join(CORPORA)} (default: all)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_CACHE,
                        help="cache of eval indexes (as `qa eval --data-dir`)")
    parser.add_argument("--replay", type=Path,
                        help="keep the model's replies in this file and replay them on a rerun")
    args = parser.parse_args(argv)
    corpora = [c.name for c in select_corpora(args.corpus)]
    if args.url:
        reports = [_shown(evaluate(args.url, args.limit, name, args.data_dir, args.split, args.replay))
                   for name in corpora]
    else:
        from qa.llm_local import LocalLLMServer

        with LocalLLMServer(port=free_port()) as server:
            reports = [_shown(evaluate(server.base_url, args.limit, name, args.data_dir, args.split,
                                       args.replay)) for name in corpora]
    report = {"corpora": reports}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
