"""False positives of the injection detector on real text: the seed articles, the BBC corpus and
the SQuAD paragraphs hold no instructions to the reader, so every span found there is a false hit.
``python -m eval.redteam_fp [--bbc DIR] [--squad FILE] [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from embeddings.documents import load_documents
from embeddings.injection import find_injections, load_parser
from embeddings.records import Document

ROOT = Path(__file__).resolve().parent.parent
CORPORA = Path("/work/shared/corpora")


def squad_documents(path: Path) -> list[Document]:
    """Each SQuAD paragraph as one document."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [
        Document(doc_id=f"{article['title']}-{i}", title=article["title"], text=paragraph["context"])
        for article in data for i, paragraph in enumerate(article["paragraphs"])
    ]


def false_hits(docs: Iterable[Document]) -> tuple[int, list[tuple[str, str]]]:
    """(documents read, (doc_id, span text) of every span found)."""
    nlp = load_parser()
    count, hits = 0, []
    for doc in docs:
        count += 1
        hits += [(doc.doc_id, s.text) for s in find_injections(doc, nlp)]
    return count, hits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.redteam_fp", description=__doc__)
    parser.add_argument("--bbc", type=Path, default=CORPORA / "bbc")
    parser.add_argument("--squad", type=Path, default=CORPORA / "squad2" / "squad2-dev-half-b.json")
    parser.add_argument("--limit", type=int, default=0, help="read at most N documents of each corpus")
    args = parser.parse_args(argv)
    corpora = {"seeds": load_documents(ROOT / "seeds")}
    if args.bbc.is_dir():
        corpora["bbc"] = load_documents(args.bbc)
    if args.squad.is_file():
        corpora["squad"] = squad_documents(args.squad)
    total = 0
    for name, docs in corpora.items():
        count, hits = false_hits(docs[: args.limit or None])
        flagged = len({d for d, _ in hits})
        print(f"{name}: {flagged}/{count} documents flagged, {len(hits)} spans", flush=True)
        for doc_id, text in hits:
            print(f"  {doc_id}: {text[:200]!r}")
        total += len(hits)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
