"""Claim-verification benchmark: (question, answer, passage) cases built from the gold sets.

Faithful answers (a bare entity, the question restated with the answer, the source sentence, a
shortened or reworded sentence) must be kept by ``qa.support``; corrupted ones (a swapped number,
date or name, an entity from a neighbouring sentence, an added negation, an unsupported addition,
a true sentence answering another question) must be dropped. Cases are split dev/test by the gold
sets' own split (SHA-1 of the question id): tune on dev only.

    python -m eval.claims build           # eval/claims.jsonl from the seeds, news and SQuAD gold sets
    python -m eval.claims [--split dev]   # accept / reject rates (per form with --forms)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from embeddings.chunking import load_nlp, process_document
from embeddings.documents import load_documents, make_document
from embeddings.encoder import Encoder, default_encoder
from embeddings.records import Chunk, Sentence
from eval.corpora import CORPORA, Corpus
from eval.gold import load_gold, split_of
from qa.records import Evidence, Passage, ScoredSentence
from qa.support import ClaimVerifier, SupportedClaim

HERE = Path(__file__).parent
CASES = HERE / "claims.jsonl"
TARGET_ACCEPT = 0.95  # the targets (not met yet: see the README)
TARGET_REJECT = 0.98
# what CI holds on each split (dev 89.4 / 96.1 %, test 77.0 / 94.8 %), so that a regression fails
GATE_ACCEPT = 0.77
GATE_REJECT = 0.945
FAITHFUL = ("bare", "restated", "sentence", "shortened")
_AUX = re.compile(r"\b(is|was|are|were|has|have|had|will|can|could|would|should|did|does)\b")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d+(?:,\d{3})*(?:\.\d+)?\b")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True)
class Case:
    """One claim to judge, and whether a sound verifier keeps it."""

    id: str
    split: str
    source: str
    form: str
    question: str
    claim: str  # with its [1] marker
    accept: bool
    title: str
    passage: str
    published: str | None = None  # relative dates in the passage resolve against it

    def evidence(self, nlp: object) -> Evidence:
        """The case's passage as retrieval would hand it over: one passage, every sentence."""
        doc = make_document(self.passage, doc_id=f"case-{self.id.split(':')[1]}", title=self.title,
                            published=self.published)
        processed = process_document(doc, [], nlp)  # type: ignore[arg-type]
        sentences = [s for c in processed.chunks for s in c.sentences]
        passage = Passage(doc_id=doc.doc_id, title=doc.title, source=None, published=None,
                          text=doc.text, start=0, end=len(doc.text), score=1.0)
        return Evidence(
            question=self.question, passages=(passage,),
            sentences=tuple(ScoredSentence(sentence=s, passage=0, score=0.0) for s in sentences),
        )


# --- building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    qid: str
    split: str
    source: str
    question: str
    answer: str
    others: tuple[str, ...]  # every accepted wording: never used as a corruption
    title: str
    passage: str
    answer_at: int  # offset of the answer in the passage
    published: str | None = None


def _sources() -> Iterator[_Source]:
    nlp = load_nlp()
    for corpus in CORPORA.values():
        yield from _gold_sources(corpus, nlp)


def _gold_sources(corpus: Corpus, nlp: object) -> Iterator[_Source]:
    """One source per answerable gold question: the chunk holding its first located answer."""
    documents = {d.doc_id: d for d in load_documents(corpus.articles)}
    chunks: dict[str, tuple[Chunk, ...]] = {}
    for item in load_gold(corpus.gold):
        if item.must_abstain:
            continue
        wordings = tuple(w for alternatives in item.answers for w in alternatives)
        for ev in item.evidence:
            doc = documents.get(ev.doc_id)
            at = -1 if doc is None else ev.start if ev.start is not None else doc.text.find(ev.quote)
            if doc is None or at < 0:
                continue
            if ev.doc_id not in chunks:
                chunks[ev.doc_id] = process_document(doc, [], nlp).chunks  # type: ignore[arg-type]
            chunk = next((c for c in chunks[ev.doc_id] if c.start <= at < c.end), None)
            if chunk is None:
                continue
            found = _answer_in(chunk.text, item.answers[0], at - chunk.start)
            if found is None:
                continue
            yield _Source(item.id, item.split or split_of(item.id), corpus.name, item.question,
                          chunk.text[found[0]:found[1]], wordings, doc.title or "", chunk.text,
                          found[0], doc.published)
            break


def _answer_in(text: str, wordings: list[str], near: int) -> tuple[int, int] | None:
    """The span of the first wording found in ``text``, the occurrence nearest the quote."""
    lowered = text.lower()
    for wording in wordings:
        hits = [m.start() for m in re.finditer(re.escape(wording.lower()), lowered)]
        if hits:
            at = min(hits, key=lambda h: abs(h - near))
            return at, at + len(wording)
    return None


def _sentence_at(sentences: list[Sentence], at: int) -> int | None:
    return next((i for i, s in enumerate(sentences) if s.start <= at < s.end), None)


def _bare(answer: str) -> str:
    return f"{answer.rstrip('.')} [1]."


def _claim(sentence: str) -> str:
    body = sentence.strip().rstrip(".!?\"'”’ ")
    return f"{body} [1]."


def _forms(src: _Source, sentences: list[Sentence], salt: int) -> Iterator[tuple[str, str, bool]]:
    """(form, claim, accept) for one question."""
    i = _sentence_at(sentences, src.answer_at)
    if i is None:
        return
    s = sentences[i].text
    a = src.answer
    lowered_others = [o.lower() for o in src.others]
    yield "bare", _bare(a), True
    yield "restated", f"{src.question.strip().rstrip('?')}: {a.rstrip('.')} [1].", True
    yield "sentence", _claim(s), True
    shortened = _shortened(s, a)
    if shortened:
        yield "shortened", _claim(shortened), True
    numbers = _NUMBER.findall(s)
    target = next((n for n in numbers if n in a), numbers[0] if numbers else None)
    if target and not _YEAR.fullmatch(target):
        value = int(target.replace(",", "").split(".")[0]) + 3 + salt % 5
        while f"{value:,}" in numbers or str(value) in numbers:  # a figure the sentence does not state
            value += 1
        yield "swapped_number", _claim(s.replace(target, f"{value:,}", 1)), False
    year = _YEAR.search(s)
    month = next((m for m in _MONTHS if re.search(rf"\b{m}\b", s)), None)
    if year:
        earlier = str(int(year.group(0)) - 2 - salt % 7)
        yield "swapped_date", _claim(s.replace(year.group(0), earlier, 1)), False
    elif month:
        other = _MONTHS[(_MONTHS.index(month) + 3 + salt % 6) % 12]
        yield "swapped_date", _claim(re.sub(rf"\b{month}\b", other, s, count=1)), False
    neighbours = [sentences[j] for j in (i - 1, i + 1) if 0 <= j < len(sentences)]
    for n in neighbours:
        entity = next((e.text for e in n.entities
                       if e.label in {"PERSON", "ORG", "GPE", "NORP", "LOC", "DATE", "CARDINAL", "EVENT"}
                       and e.text.lower() not in s.lower()
                       and not any(e.text.lower() in o or o in e.text.lower() for o in lowered_others)), None)
        if entity:
            yield "neighbour_entity", _bare(entity), False
            break
    aux = _AUX.search(s)
    # not where a negation follows already: "is not no ..." would only undo it
    if aux and not re.match(r"\s*(?:not|no|never|n't)\b", s[aux.end():]):
        yield "negated", _claim(s[:aux.end()] + " not" + s[aux.end():]), False
    yield "addition", _claim(f"{s.strip().rstrip('.')}, {_ADDITIONS[salt % len(_ADDITIONS)]}"), False
    unrelated = _other_answer(src, sentences, i)
    if unrelated:
        yield "other_question", _claim(unrelated), False


# Unsupported additions: each adds a name, a figure, a date or a claim no passage here states.
_ADDITIONS = ("according to a report by the Norwegian Refugee Council", "in 1987",
              "at a cost of 340 million euros", "a decision later reversed by the Supreme Court",
              "despite strong objections from Brazil", "two weeks after the earthquake",
              "with the help of 4,500 volunteers", "as Reuters first reported")


def _shortened(sentence: str, answer: str) -> str | None:
    """The clause of a sentence that holds the answer, when the sentence has several."""
    parts = re.split(r"(?<=[a-z]), (?=[a-z])|; | and (?=[a-z]+ )", sentence)
    hit = next((p for p in parts if answer.lower() in p.lower()), None)
    if hit is None or hit.strip() == sentence.strip() or len(hit.split()) < 4:
        return None
    return hit[0].upper() + hit[1:]


def _other_answer(src: _Source, sentences: list[Sentence], i: int) -> str | None:
    """A true sentence of the passage that does not give the answer (sharing most question words)."""
    q = set(re.findall(r"\w+", src.question.lower()))
    lowered_others = [o.lower() for o in src.others]
    best: tuple[int, str] | None = None
    for j, s in enumerate(sentences):
        lower = s.text.lower()
        if j == i or len(s.text.split()) < 5 or any(o in lower for o in lowered_others):
            continue
        overlap = len(q & set(re.findall(r"\w+", lower)))
        if best is None or overlap > best[0]:
            best = (overlap, s.text)
    return best[1] if best else None


def build(path: Path = CASES) -> int:
    """Write the cases; returns how many."""
    nlp = load_nlp()
    rows = []
    for n, src in enumerate(_sources()):
        doc = make_document(src.passage, doc_id=f"b{n}", title=src.title, published=src.published)
        sentences = [s for c in process_document(doc, [], nlp).chunks for s in c.sentences]
        for form, claim, accept in _forms(src, sentences, n):
            rows.append(Case(
                id=f"{src.source}:{src.qid}:{form}", split=src.split, source=src.source,
                form=form, question=src.question, claim=claim, accept=accept, title=src.title,
                passage=src.passage, published=src.published,
            ).__dict__)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)


# --- running ----------------------------------------------------------------------------------


def load_cases(path: Path = CASES, split: str | None = None) -> list[Case]:
    """The stored cases (of one split)."""
    cases = [Case(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    return [c for c in cases if split is None or c.split == split]


@dataclass(frozen=True)
class Verdict:
    case: Case
    kept: bool
    reason: str

    @property
    def right(self) -> bool:
        return self.kept == self.case.accept


def judge(cases: list[Case], encoder: Encoder) -> list[Verdict]:
    """Run every case through the claim verifier."""
    nlp = load_nlp()
    evidence: dict[tuple[str, str, str], Evidence] = {}
    verdicts = []
    for case in cases:
        key = (case.question, case.title, case.passage)
        if key not in evidence:
            evidence[key] = case.evidence(nlp)
        result = ClaimVerifier(evidence[key], encoder).check(case.claim)
        kept = isinstance(result, SupportedClaim)
        verdicts.append(Verdict(case, kept, "kept" if kept else result.reason))  # type: ignore[union-attr]
    return verdicts


def rates(verdicts: list[Verdict]) -> dict[str, float | int]:
    """Accept rate of faithful claims and reject rate of corrupted ones."""
    faithful = [v for v in verdicts if v.case.accept]
    corrupted = [v for v in verdicts if not v.case.accept]
    return {
        "cases": len(verdicts), "faithful": len(faithful), "corrupted": len(corrupted),
        "accept_rate": round(sum(v.kept for v in faithful) / max(1, len(faithful)), 4),
        "reject_rate": round(sum(not v.kept for v in corrupted) / max(1, len(corrupted)), 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Build or run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m eval.claims")
    parser.add_argument("action", nargs="?", choices=["build", "run"], default="run")
    parser.add_argument("--split", choices=["dev", "test"])
    parser.add_argument("--forms", action="store_true", help="rates per form")
    parser.add_argument("--failures", action="store_true", help="list wrong verdicts (dev only)")
    args = parser.parse_args(argv)
    if args.action == "build":
        print(f"{build()} cases written to {CASES}")
        return 0
    verdicts = judge(load_cases(split=args.split), default_encoder())
    for split in ("dev", "test"):
        part = [v for v in verdicts if v.case.split == split]
        if part:
            print(split, json.dumps(rates(part)))
    if args.forms:
        totals = Counter(v.case.form for v in verdicts)
        right = Counter(v.case.form for v in verdicts if v.right)
        for form in totals:
            print(f"  {form:18} {right[form]}/{totals[form]}")
    if args.failures and args.split == "dev":
        for v in verdicts:
            if not v.right:
                print(f"[{v.case.form}] {v.reason}: Q: {v.case.question}\n   C: {v.case.claim}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
