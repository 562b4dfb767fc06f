"""Build the SQuAD 2.0 slice: the first articles of the dev half as documents, and their gold file.

The shared file keeps the questions but carries no answers (every ``answers`` list is empty), so
the answers come from ``squad_labels.tsv``: our own labels for every question of a seeded sample
of paragraphs, each alias an exact substring of its paragraph, or ``-`` when it does not answer.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from eval.gold import split_of

EVAL_DIR = Path(__file__).resolve().parents[1]
SOURCE = next((p / "shared" / "corpora" / "squad2" for p in Path(__file__).resolve().parents[3:5]
               if (p / "shared" / "corpora" / "squad2").is_dir()),
              Path("../shared/corpora/squad2")) / "squad2-dev-half-b.json"
LABELS = EVAL_DIR / "corpora" / "squad_labels.tsv"
OUT_DIR = EVAL_DIR / "corpora" / "squad"
GOLD_OUT = EVAL_DIR / "gold_squad.jsonl"
ARTICLES = 6
_CATEGORY_PATTERNS = (
    ("how-many", re.compile(r"^(roughly |about )?(how (many|much|large|big|long))\b", re.I)),
    ("when", re.compile(r"^(when\b|(in |during )?(what|which) (year|decade|century|date)s?\b)", re.I)),
    ("where", re.compile(r"^where\b", re.I)),
    ("who", re.compile(r"^(who|whom|whose)\b", re.I)),
)


def category_of(question: str, answerable: bool) -> str:
    """The gold category from the question's opening words (must-abstain when unanswerable)."""
    if not answerable:
        return "must-abstain"
    for category, pattern in _CATEGORY_PATTERNS:
        if pattern.search(question.strip()):
            return category
    return "single-fact"


def doc_id_of(title: str) -> str:
    """A doc id made of the characters the indexer accepts."""
    return "squad_" + re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower()


def read_labels(path: Path) -> dict[str, list[str]]:
    """Question id -> accepted aliases ([] when the paragraph does not answer it)."""
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            qid, answer = line.split("\t")
            labels[qid] = [] if answer == "-" else [a.strip() for a in answer.split(" || ")]
    return labels


def build(source: Path, labels: dict[str, list[str]], out_dir: Path, gold_out: Path,
          articles: int) -> int:
    """Write the article files, their manifest and the gold file; returns the question count."""
    data = json.loads(source.read_text(encoding="utf-8"))["data"][:articles]
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, records = [], []
    for article in data:
        doc_id = doc_id_of(article["title"])
        offset, parts = 0, []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            records += [_record(qa, labels[qa["id"]], doc_id, context, offset)
                        for qa in paragraph["qas"] if qa["id"] in labels]
            parts.append(context)
            offset += len(context) + 2
        text = "\n\n".join(parts)
        (out_dir / f"{doc_id}.txt").write_text(text, encoding="utf-8", newline="")
        manifest.append({"file": f"{doc_id}.txt", "title": article["title"].replace("_", " "),
                         "source": "Wikipedia (SQuAD 2.0)"})
        for r in records:
            for ev in r["evidence"]:
                if ev["doc_id"] == doc_id:
                    assert text[ev["start"]:ev["start"] + len(ev["quote"])] == ev["quote"], r["id"]
    if len(records) != len(labels):
        raise ValueError(f"{len(labels) - len(records)} labelled questions are not in {source}")
    (out_dir / "manifest.json").write_text(
        json.dumps({"documents": manifest}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    gold_out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
    return len(records)


def _record(qa: dict, aliases: list[str], doc_id: str, context: str, offset: int) -> dict:
    qid = f"squad-{qa['id']}"
    # every occurrence of an alias in the question's paragraph is gold: our labels name the
    # answer, not the one occurrence a crowd worker marked ("15" may only occur as "fifteen")
    evidence = [{"doc_id": doc_id, "quote": alias, "start": offset + m.start()}
                for alias in aliases for m in re.finditer(re.escape(alias), context)]
    if aliases and not evidence:
        raise ValueError(f"{qid}: no alias of {aliases!r} is in its paragraph")
    return {
        "id": qid, "corpus": "squad", "split": split_of(qid),
        "category": category_of(qa["question"], bool(aliases)), "question": qa["question"].strip(),
        "answers": [aliases] if aliases else [], "evidence": evidence,
    }


def main() -> None:
    """Command line: rebuild eval/corpora/squad/ and eval/gold_squad.jsonl."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--source", type=Path, default=SOURCE)
    p.add_argument("--labels", type=Path, default=LABELS)
    p.add_argument("--articles", type=int, default=ARTICLES)
    args = p.parse_args()
    n = build(args.source, read_labels(args.labels), OUT_DIR, GOLD_OUT, args.articles)
    print(f"{n} questions -> {GOLD_OUT}; articles -> {OUT_DIR}")


if __name__ == "__main__":
    main()
