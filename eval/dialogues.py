"""Gold dialogues: follow-up turns scored against their hand-written standalone forms.

``python -m eval.dialogues [--split dev|test|all] [--mode extractive|llm] [--data-dir DIR]
[--json PATH]`` (and ``qa eval``, through ``eval.dialogues_gate``) runs every conversation through
the service twice: as a conversation (each turn with the earlier turns and the service's own
earlier answers as history) and as its standalone forms asked alone. A follow-up that is answered
correctly about as often as its standalone form has lost nothing by being a follow-up.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import msgspec

from eval.corpora import DEFAULT_CACHE
from eval.gold import EVAL_DIR, read_records
from eval.metrics import missing_items
from qa.followup import Turn
from qa.records import Answer, Mode
from qa.text import content_terms

DIALOGUES_PATH = EVAL_DIR / "dialogues.jsonl"
Kind = Literal["first", "follow-up", "switch"]
Split = Literal["dev", "test", "all"]


class GoldTurn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One turn: what the user types, what it means alone, and the accepted answer items."""

    question: str
    standalone: str
    answers: list[list[str]]
    must_abstain: bool
    kind: Kind


class Dialogue(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A two- or three-turn conversation over the seeds and the BBC articles it names."""

    id: str
    bbc_files: list[str]
    turns: list[GoldTurn]

    @property
    def split(self) -> Literal["dev", "test"]:
        """Fixed by the id: half of the dialogues are held out for the test figures."""
        return "test" if int(hashlib.sha1(self.id.encode()).hexdigest(), 16) % 2 else "dev"


class TurnResult(msgspec.Struct, frozen=True, kw_only=True):
    """One turn scored both ways."""

    dialogue: str
    turn: int  # 1-based
    kind: Kind
    split: str
    question: str
    standalone_gold: str
    standalone_used: str
    followup_ok: bool
    standalone_ok: bool
    inherited: bool  # a topic switch whose question was rewritten
    referent_recall: float | None = None  # of the words the gold standalone form adds, the share used
    followup_said: str = ""  # what each way answered, for finding where a follow-up lost
    standalone_said: str = ""
    # whether the passages the model reads hold every answer item, for the question answered and
    # for the gold standalone form (None: not looked at): a follow-up lost with both True was
    # lost at the answer step, with the first False at the rewrite or retrieval
    found_used: bool | None = None
    found_gold: bool | None = None


def load_dialogues(path: Path = DIALOGUES_PATH) -> list[Dialogue]:
    """Read and validate the dialogues file (GoldError names the line and the problem)."""
    return read_records(path, Dialogue, _problem)


def _problem(d: Dialogue, seen: set[str]) -> str | None:
    if d.id in seen:
        return "duplicate id"
    if not 2 <= len(d.turns) <= 3:
        return "a dialogue has two or three turns"
    if d.turns[0].kind != "first" or any(t.kind == "first" for t in d.turns[1:]):
        return "the first turn, and only it, has kind 'first'"
    for t in d.turns:
        if t.must_abstain == bool(t.answers):
            return "a turn has answers exactly when it is answerable"
        if t.kind in ("first", "switch") and t.standalone != t.question:
            return "a first turn or a topic switch stands alone: standalone == question"
    return None


def correct(answer: Answer, turn: GoldTurn) -> bool:
    """An abstention where the sources cannot answer; otherwise every answer item, not abstained."""
    if turn.must_abstain:
        return answer.abstained
    said = f"{answer.answer} {answer.short_answer or ''}"
    return not answer.abstained and not missing_items(said, turn.answers)


def said(answer: Answer) -> str:
    """The answer in one line: abstained or its short answer and text, the documents it cites and
    why it fell back, if it did."""
    docs = ",".join(sorted({c.doc_id for c in answer.citations}))
    head = "ABSTAINED" if answer.abstained else f"[{answer.short_answer or ''}] {answer.answer[:160]}"
    reason = f" ({answer.fallback_reason})" if answer.fallback_reason else ""
    return f"{head} <{docs}>{reason}"


def referent_recall(turn: GoldTurn, used: str) -> float | None:
    """The share of the content words the gold standalone form adds to a follow-up that the
    question answered has too (None for a turn that needs none): 0 for a follow-up left as it is."""
    added = set(content_terms(turn.standalone)) - set(content_terms(turn.question))
    if turn.kind != "follow-up" or not added:
        return None
    return len(added & set(content_terms(used))) / len(added)


Ask = Callable[[str, Sequence[Turn]], Answer]
Found = Callable[[str, GoldTurn], bool]


def run_dialogue(dialogue: Dialogue, ask: Ask, found: Found | None = None) -> list[TurnResult]:
    """Every turn asked in the conversation and alone; the history holds the service's own answers.

    ``found`` (when given) says whether retrieval for a question finds a gold turn's answer."""
    history: list[Turn] = []
    results = []
    for n, turn in enumerate(dialogue.turns, 1):
        in_context = ask(turn.question, tuple(history))
        alone = in_context if turn.kind == "first" else ask(turn.standalone, ())
        used = in_context.standalone_question or turn.question
        results.append(TurnResult(
            dialogue=dialogue.id, turn=n, kind=turn.kind, split=dialogue.split,
            question=turn.question, standalone_gold=turn.standalone, standalone_used=used,
            followup_ok=correct(in_context, turn), standalone_ok=correct(alone, turn),
            inherited=turn.kind == "switch" and used != turn.question,
            referent_recall=referent_recall(turn, used),
            followup_said=said(in_context), standalone_said=said(alone),
            found_used=found(used, turn) if found and turn.answers else None,
            found_gold=found(turn.standalone, turn) if found and turn.answers else None,
        ))
        history.append(Turn(question=turn.question, answer=in_context.answer,
                            short_answer=in_context.short_answer))
    return results


def summary(results: Sequence[TurnResult]) -> dict[str, object]:
    """Accuracy of later turns in context and alone, their ratio, and topic switches that inherited."""
    later = [r for r in results if r.turn > 1]
    recalls = [r.referent_recall for r in later if r.referent_recall is not None]
    followup = sum(r.followup_ok for r in later)
    alone = sum(r.standalone_ok for r in later)
    return {
        "dialogues": len({r.dialogue for r in results}),
        "later_turns": len(later),
        "followup_correct": followup,
        "standalone_correct": alone,
        "ratio": round(followup / alone, 3) if alone else None,
        "referent_recall": round(sum(recalls) / len(recalls), 3) if recalls else None,
        "first_turns_correct": sum(r.followup_ok for r in results if r.turn == 1),
        "switches": sum(r.kind == "switch" for r in results),
        "switches_inherited": sum(r.inherited for r in results),
        "by_turn": {
            n: {"followup": sum(r.followup_ok for r in later if r.turn == n),
                "standalone": sum(r.standalone_ok for r in later if r.turn == n),
                "of": sum(r.turn == n for r in later)}
            for n in sorted({r.turn for r in later})
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dialogues through the in-process service and print the figures."""
    p = argparse.ArgumentParser(prog="python -m eval.dialogues", description=__doc__)
    p.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    p.add_argument("--mode", choices=["extractive", "llm"], help="how answers are written")
    p.add_argument("--rewriter", choices=["mode", "llm"], default="mode",
                   help="llm: follow-ups made standalone by the LLM whatever the answer mode")
    p.add_argument("--only", help="comma-separated dialogue ids")
    p.add_argument("--json", type=Path, help="write every turn's result here")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_CACHE,
                   help="where the index of the dialogues' articles is built and cached")
    args = p.parse_args(argv)
    from eval.dialogues_gate import open_service

    service = open_service(args.data_dir, lambda m: print(m, file=sys.stderr))
    mode: Mode | None = args.mode

    loop = asyncio.new_event_loop()  # one loop for the whole run: the LLM client lives on it

    async def answered(question: str, history: Sequence[Turn]) -> Answer:
        if args.rewriter == "mode":
            return await service.ask(question, mode=mode, history=history)
        standalone = await service.standalone(question, history, "llm")
        answer = await service.ask(standalone, mode=mode)
        return msgspec.structs.replace(answer, question=question, standalone_question=standalone)

    def ask(question: str, history: Sequence[Turn]) -> Answer:
        return loop.run_until_complete(answered(question, history))

    def found(question: str, turn: GoldTurn) -> bool:
        from qa.answer import ExtractiveGenerator
        from qa.llm import shown

        found = service._retrieve(service._view(), question, service._top_k(None))
        reading = loop.run_until_complete(ExtractiveGenerator().generate(question, found))
        evidence = shown(found, reading)
        return not missing_items(" ".join(p.text for p in evidence.passages), turn.answers)

    chosen = [d for d in load_dialogues() if args.split in ("all", d.split)]
    if args.only:
        chosen = [d for d in chosen if d.id in args.only.split(",")]
    results: list[TurnResult] = []
    for d in chosen:
        for r in run_dialogue(d, ask, found):
            results.append(r)
            print(f"{r.dialogue} t{r.turn} {r.kind:9} follow-up {'ok ' if r.followup_ok else 'BAD'} "
                  f"alone {'ok ' if r.standalone_ok else 'BAD'} | {r.standalone_used}",
                  file=sys.stderr, flush=True)
            if r.turn > 1 and r.followup_ok != r.standalone_ok:
                print(f"    follow-up: {r.followup_said}\n    alone:     {r.standalone_said}\n"
                      f"    answer in the passages read: as answered {r.found_used}, "
                      f"gold form {r.found_gold}", file=sys.stderr, flush=True)
    loop.run_until_complete(service.aclose())
    loop.close()
    figures = summary(results)
    print(msgspec.json.format(msgspec.json.encode(figures)).decode())
    if args.json:
        args.json.write_bytes(msgspec.json.encode({"summary": figures, "turns": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
