"""The gold questions: loading ``gold.jsonl`` and locating each evidence quote in its article."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

EVAL_DIR = Path(__file__).resolve().parent
GOLD_PATH = EVAL_DIR / "gold.jsonl"
MUST_ABSTAIN = "must-abstain"
R = TypeVar("R", bound=msgspec.Struct)
CATEGORIES = (
    "single-fact", "who", "when", "where", "how-many", "list", "multi-article", "conflicting",
    "paraphrase", MUST_ABSTAIN,
)


class GoldEvidence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An exact quote of an article that supports the answer."""

    doc_id: str
    quote: str
    start: int | None = None  # where the quote starts, for quotes that occur more than once


class GoldQuestion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One hand-written question; ``answers`` lists required items, each a list of aliases."""

    id: str
    corpus: str = "seeds"
    split: str | None = None  # filled in by load_gold from the id when a file leaves it out
    category: str
    question: str
    answers: list[list[str]]
    evidence: list[GoldEvidence]
    note: str | None = None

    @property
    def must_abstain(self) -> bool:
        """True when the articles do not answer this question."""
        return self.category == MUST_ABSTAIN


class GoldSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A gold evidence quote located in its article: ``text[start:end] == quote``."""

    doc_id: str
    start: int
    end: int


def split_of(question_id: str) -> str:
    """The split rule for every gold set: half of the ids, by SHA-1, are test (never tuned on)."""
    return "test" if int(hashlib.sha1(question_id.encode()).hexdigest(), 16) % 2 else "dev"


class GoldError(ValueError):
    """The gold file is malformed or does not match the articles."""


def read_records(
    path: Path, record_type: type[R], problem: Callable[[R, set[str]], str | None],
    prepare: Callable[[R], R] = lambda record: record,
) -> list[R]:
    """Records of a JSON Lines gold file, each decoded, prepared and checked (blank lines skipped);
    GoldError names the line and the problem."""
    records: list[R] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = prepare(msgspec.json.decode(line, type=record_type))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise GoldError(f"{path}:{number}: {exc}") from exc
        found = problem(record, seen)
        if found:
            raise GoldError(f"{path}:{number} ({record.id}): {found}")  # type: ignore[attr-defined]
        seen.add(record.id)  # type: ignore[attr-defined]
        records.append(record)
    return records


def _with_split(q: GoldQuestion) -> GoldQuestion:
    return q if q.split is not None else msgspec.structs.replace(q, split=split_of(q.id))


def load_gold(path: Path = GOLD_PATH) -> list[GoldQuestion]:
    """Read and validate the gold file (one JSON object per line; blank lines are skipped)."""
    return read_records(path, GoldQuestion, _problem, _with_split)


def _problem(q: GoldQuestion, seen: set[str]) -> str | None:
    if q.id in seen:
        return "duplicate id"
    if q.category not in CATEGORIES:
        return f"unknown category {q.category!r}"
    if q.split != split_of(q.id):
        return f"split must be {split_of(q.id)!r} (the SHA-1 rule), not {q.split!r}"
    if not q.question.strip():
        return "empty question"
    if q.must_abstain:
        return "a must-abstain question has no answers and no evidence" if (
            q.answers or q.evidence
        ) else None
    if not q.answers or not q.evidence:
        return "an answerable question needs answers and evidence"
    if any(not item or any(not alias.strip() for alias in item) for item in q.answers):
        return "every required answer item needs at least one non-empty alias"
    return None


def locate(questions: list[GoldQuestion], text_of: Callable[[str], str | None]) -> dict[
    str, list[GoldSpan]
]:
    """Offsets of every gold quote, keyed by question id; GoldError if a quote is not found once."""
    spans: dict[str, list[GoldSpan]] = {}
    for q in questions:
        located = []
        for ev in q.evidence:
            text = text_of(ev.doc_id)
            if text is None:
                raise GoldError(f"{q.id}: document {ev.doc_id!r} is not in the corpus")
            if ev.start is not None:
                if text[ev.start:ev.start + len(ev.quote)] != ev.quote:
                    raise GoldError(f"{q.id}: quote not at {ev.start} in {ev.doc_id}: {ev.quote!r}")
                located.append(GoldSpan(doc_id=ev.doc_id, start=ev.start,
                                        end=ev.start + len(ev.quote)))
                continue
            start = text.find(ev.quote)
            if start < 0 or text.find(ev.quote, start + 1) >= 0:
                found = "not found" if start < 0 else "found more than once"
                raise GoldError(f"{q.id}: quote {found} in {ev.doc_id}: {ev.quote[:60]!r}")
            located.append(GoldSpan(doc_id=ev.doc_id, start=start, end=start + len(ev.quote)))
        spans[q.id] = located
    return spans


def article_texts(seeds_dir: Path) -> dict[str, str]:
    """The articles of a seeds directory by doc id (file stem), read exactly as the indexer does."""
    from embeddings.documents import load_documents

    return {d.doc_id: d.text for d in load_documents(seeds_dir)}
