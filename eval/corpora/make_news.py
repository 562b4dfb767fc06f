"""Build eval/corpora/news/: every BBC article a gold file under eval/ cites, plus seeded distractors."""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parents[1]
# the shared corpora sit beside the repository (../shared), or beside a worktree's parent
SOURCE = next((p / "shared" / "corpora" / "bbc" for p in Path(__file__).resolve().parents[3:5]
               if (p / "shared" / "corpora" / "bbc").is_dir()), Path("../shared/corpora/bbc"))
OUT_DIR = EVAL_DIR / "corpora" / "news"
TARGET = 520
SEED = 14


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _gold_records(eval_dir: Path) -> Iterator[object]:
    paths = [*eval_dir.rglob("gold*.jsonl"), *eval_dir.rglob("dialogues*.jsonl")]
    for path in sorted(paths):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def referenced(eval_dir: Path, known: set[str]) -> set[str]:
    """Article stems named anywhere in a gold file (gold or dialogues JSONL) under ``eval_dir``."""
    return {s.removesuffix(".txt") for record in _gold_records(eval_dir) for s in _strings(record)
            if s.removesuffix(".txt") in known}


def gold_quotes(eval_dir: Path, known: set[str]) -> set[str]:
    """Every evidence quote of a gold file under ``eval_dir`` that cites one of these articles."""
    quotes: set[str] = set()
    for record in _gold_records(eval_dir):
        for ev in record.get("evidence", []) if isinstance(record, dict) else []:
            if isinstance(ev, dict) and str(ev.get("doc_id")) in known and ev.get("quote"):
                quotes.add(str(ev["quote"]))
    return quotes


def _paragraphs(text: str) -> set[str]:
    """The article's paragraphs of some length, whitespace-collapsed (to spot copied stories)."""
    lines = (" ".join(line.split()) for line in text.splitlines()[1:])
    return {line for line in lines if len(line) > 40}


def _copies(paragraphs: set[str], seen: dict[str, str]) -> bool:
    """True when at least half of these paragraphs already occur in one chosen article."""
    owners = [seen[p] for p in paragraphs if p in seen]
    return bool(owners) and max(owners.count(o) for o in set(owners)) * 2 >= len(paragraphs)


def choose(source: Path, eval_dir: Path, target: int, seed: int) -> list[str]:
    """The cited articles, then a seeded sample of the rest up to target: no copy of a chosen
    story (the corpus repeats some, whole or nearly, and the service cites the first of
    near-duplicates) and no article that repeats a gold quote."""
    stems = sorted(p.stem for p in source.glob("*.txt"))
    chosen = referenced(eval_dir, set(stems))
    quotes = gold_quotes(eval_dir, set(stems))
    seen: dict[str, str] = {}
    for stem in sorted(chosen):
        seen.update(dict.fromkeys(_paragraphs((source / f"{stem}.txt").read_text("utf-8")), stem))
    pool = list(stems)
    random.Random(seed).shuffle(pool)  # one fixed order: a newly cited article displaces the tail
    for stem in pool:
        if len(chosen) >= target:
            break
        if stem in chosen:
            continue
        text = (source / f"{stem}.txt").read_text(encoding="utf-8")
        paragraphs = _paragraphs(text)
        # a distractor that repeats a gold quote would be a second right answer, not a distractor
        if not _copies(paragraphs, seen) and not any(q in text for q in quotes):
            seen.update(dict.fromkeys(paragraphs, stem))
            chosen.add(stem)
    return sorted(chosen)


def build(source: Path, out_dir: Path, eval_dir: Path, target: int, seed: int) -> int:
    """Rewrite ``out_dir`` with the chosen articles and their manifest entries; returns the count."""
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    entries = {d["file"]: d for d in manifest["documents"]}
    stems = choose(source, eval_dir, target, seed)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for stem in stems:
        shutil.copyfile(source / f"{stem}.txt", out_dir / f"{stem}.txt")
    docs = [entries[f"{s}.txt"] for s in stems]
    (out_dir / "manifest.json").write_text(
        json.dumps({"documents": docs}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return len(stems)


def main() -> None:
    """Command line: rebuild eval/corpora/news/ from the BBC corpus."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--source", type=Path, default=SOURCE)
    p.add_argument("--target", type=int, default=TARGET, help="articles in the subset (at least)")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args()
    n = build(args.source, OUT_DIR, EVAL_DIR, args.target, args.seed)
    print(f"{n} articles -> {OUT_DIR}")


if __name__ == "__main__":
    main()
