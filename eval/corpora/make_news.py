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


def referenced(eval_dir: Path, known: set[str]) -> set[str]:
    """Article stems named anywhere in a gold file (``gold*.jsonl``) under ``eval_dir``."""
    found: set[str] = set()
    for path in sorted(eval_dir.rglob("gold*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.update(s.removesuffix(".txt") for s in _strings(json.loads(line))
                             if s.removesuffix(".txt") in known)
    return found


def _body(text: str) -> str:
    """An article without its headline line, whitespace-collapsed (to spot duplicated stories)."""
    return " ".join(text.split("\n", 1)[-1].split())[:400]


def choose(source: Path, eval_dir: Path, target: int, seed: int) -> list[str]:
    """The cited articles, then a seeded sample of the rest (no copy of a chosen story) up to target."""
    stems = sorted(p.stem for p in source.glob("*.txt"))
    chosen = referenced(eval_dir, set(stems))
    bodies = {_body((source / f"{s}.txt").read_text(encoding="utf-8")) for s in chosen}
    pool = list(stems)
    random.Random(seed).shuffle(pool)  # one fixed order: a newly cited article displaces the tail
    for stem in pool:
        if len(chosen) >= target:
            break
        if stem in chosen:
            continue
        body = _body((source / f"{stem}.txt").read_text(encoding="utf-8"))
        if body not in bodies:  # a byte-identical copy would split citations between two ids
            bodies.add(body)
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
