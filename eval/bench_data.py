"""Inputs of the benchmarks: template questions over the corpus's entities, and a large synthetic
corpus made by recombining real sentences of the seed articles."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from embeddings.cleaning import find_furniture, split_blocks
from embeddings.documents import load_documents
from embeddings.store import Store

GOLD = Path(__file__).resolve().parent / "gold.jsonl"

# Templates by spaCy entity label; every one is filled only with entities the index really holds.
ANSWERABLE = {
    "PERSON": ("Who is {}?", "What did {} say?", "What role does {} have?", "Where was {} last week?"),
    "GPE": ("What happened in {}?", "Who controls {}?", "How many troops are in {}?",
            "When did fighting start in {}?"),
    "ORG": ("What is {}?", "What did {} announce?", "Who leads {}?"),
    "NORP": ("What do the {} want?", "How many {} soldiers are involved?"),
    "LOC": ("Where is {}?", "What happened near {}?"),
    "DATE": ("What happened on {}?",),
}
# Subjects the news articles never mention: the service should abstain on these.
ELSEWHERE = (
    "the Eiffel Tower", "photosynthesis", "the Great Barrier Reef", "Lionel Messi", "the Mars rover",
    "bitcoin", "the Olympic marathon", "Mount Everest", "the Amazon rainforest", "jazz music",
    "the Tokyo stock exchange", "penguins", "the printing press", "quantum computing", "Shakespeare",
    "the Panama Canal", "volcanoes in Iceland", "the Nobel Prize in chemistry", "coffee prices",
    "the Hubble telescope",
)
UNANSWERABLE = (
    "What is the history of {}?", "How tall is {}?", "Who invented {}?", "How much does {} cost?",
    "What is the best thing about {}?",
)
ANSWERABLE_SHARE = 0.7


def _gold_questions() -> set[str]:
    lines = GOLD.read_text(encoding="utf-8").splitlines() if GOLD.is_file() else []
    return {json.loads(line)["question"].strip().lower() for line in lines if line.strip()}


def make_questions(store: Store, n: int, seed: int = 7) -> list[str]:
    """``n`` questions (~70% about entities of the corpus, the rest about things it never mentions)."""
    rng = random.Random(seed)
    entities: dict[str, list[str]] = {}
    sentences = (
        s for summary in store.summaries() for c in store.chunks_of(summary.document.doc_id)
        for s in c.chunk.sentences
    )
    for sentence in sentences:
        for entity in sentence.entities:
            if entity.label in ANSWERABLE and 2 < len(entity.text) < 40 and "\n" not in entity.text:
                entities.setdefault(entity.label, []).append(entity.text)
    labels = sorted(entities)
    gold = _gold_questions()
    questions: list[str] = []
    while len(questions) < n:
        if labels and rng.random() < ANSWERABLE_SHARE:
            label = rng.choice(labels)
            question = rng.choice(ANSWERABLE[label]).format(rng.choice(entities[label]))
        else:
            question = rng.choice(UNANSWERABLE).format(rng.choice(ELSEWHERE))
        if question.lower() not in gold:
            questions.append(question)
    return questions


_SENTENCE_END = re.compile(r"(?<=[.!?\"'”’)])\s+(?=[\"“‘'(]?[A-Z0-9])")


def seed_sentences(seeds_dir: Path) -> list[str]:
    """The sentences of the seed articles' kept paragraphs (page furniture left out by the rules)."""
    pool: list[str] = []
    for doc in load_documents(seeds_dir):
        dropped = [(d.start, d.end) for d in find_furniture(doc, None)]
        for block in split_blocks(doc.text):
            if any(s <= block.start and block.end <= e for s, e in dropped):
                continue
            pool.extend(s.strip() for s in _SENTENCE_END.split(block.text) if len(s.strip()) > 20)
    return pool


def write_synthetic_corpus(seeds_dir: Path, target: Path, chars: int, seed: int = 11) -> int:
    """Write articles of recombined seed sentences (``chars`` characters in all); returns their count."""
    rng = random.Random(seed)
    pool = seed_sentences(seeds_dir)
    target.mkdir(parents=True, exist_ok=True)
    manifest = []
    written = count = 0
    while written < chars:
        paragraphs = [
            " ".join(rng.sample(pool, rng.randint(1, 4))) for _ in range(rng.randint(5, 14))
        ]
        text = "\n".join(paragraphs) + "\n"
        name = f"syn_{count:05d}.txt"
        (target / name).write_text(text, encoding="utf-8")
        manifest.append({
            "file": name, "title": f"Synthetic report {count}", "source": "synthetic",
            "published": f"2013-01-{rng.randint(10, 28):02d}",
        })
        written += len(text)
        count += 1
    (target / "manifest.json").write_text(json.dumps({"documents": manifest}), encoding="utf-8")
    return count
