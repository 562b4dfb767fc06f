"""Gold sets beyond the seeds: honest news and SQuAD golds, split dev/test, and a gate per corpus."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from eval.corpora import CORPORA, Corpus, index_key, select_corpora
from eval.corpora.make_news import choose, referenced
from eval.gate import check_corpora, load_thresholds
from eval.gold import MUST_ABSTAIN, load_gold, locate, split_of
from eval.report import corpus_report, flat_summary
from eval.runner import QuestionResult, score
from eval.summary import summarize
from qa.records import Answer, Citation
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GOLDS = {name: load_gold(c.gold) for name, c in CORPORA.items()}
_STOP = frozenset(re.findall(r"[a-z]+", """
a an the of in on at to for from by with and or is are was were be been do does did
what which who whom whose when where why how many much far long has have had that this these those
its it their they them his her he she said says according along into than then there just"""))


def _texts(corpus: Corpus) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in corpus.articles.glob("*.txt")}


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP}


@pytest.mark.parametrize("name", list(CORPORA))
def test_every_question_carries_its_corpus_and_the_sha1_split(name: str) -> None:
    for q in GOLDS[name]:
        assert q.corpus == name, q.id
        assert q.split == split_of(q.id), q.id
    splits = Counter(q.split for q in GOLDS[name])
    assert splits["dev"] and splits["test"], splits


@pytest.mark.parametrize("name", list(CORPORA))
def test_every_gold_quote_is_exact_in_its_corpus(name: str) -> None:
    texts = _texts(CORPORA[name])
    spans = locate(GOLDS[name], texts.get)  # GoldError unless each quote is where it says
    for q in GOLDS[name]:
        for ev, span in zip(q.evidence, spans[q.id], strict=True):
            assert texts[ev.doc_id][span.start:span.end] == ev.quote


def test_split_rule_is_sha1_parity() -> None:
    import hashlib

    for qid in ("fact-01", "fact-04", "news-who-01", "squad-x"):
        odd = int(hashlib.sha1(qid.encode()).hexdigest(), 16) % 2
        assert split_of(qid) == ("test" if odd else "dev")
    assert split_of("fact-01") == "test" and split_of("fact-04") == "dev"


def test_news_gold_covers_the_brief() -> None:
    gold = GOLDS["news"]
    counts = Counter(q.category for q in gold)
    assert len(gold) - counts[MUST_ABSTAIN] >= 100 and counts[MUST_ABSTAIN] >= 25, counts
    for category in ("who", "when", "where", "how-many", "list", "paraphrase", "multi-article"):
        assert counts[category] >= 5, counts
    assert len({e.doc_id for q in gold for e in q.evidence}) >= 60
    for q in gold:
        if q.category == "multi-article":
            assert len({e.doc_id for e in q.evidence}) >= 2, q.id
        if q.category == "paraphrase":
            assert not _stems(q.question) & _stems(" ".join(e.quote for e in q.evidence)), q.id
        if q.must_abstain:
            assert q.note, f"{q.id}: say why the corpus does not answer it"


def test_news_answers_are_in_their_evidence() -> None:
    for q in GOLDS["news"]:
        if q.category != "paraphrase":
            evidence = " ".join(e.quote for e in q.evidence).lower().replace(",", "")
            for item in q.answers:
                assert any(a.lower().replace(",", "") in evidence for a in item), (q.id, item)


def test_news_subset_holds_every_cited_article_among_500_or_more() -> None:
    corpus = CORPORA["news"]
    stems = {p.stem for p in corpus.articles.glob("*.txt")}
    manifest = json.loads((corpus.articles / "manifest.json").read_text(encoding="utf-8"))
    assert len(stems) >= 500
    assert {d["file"].removesuffix(".txt") for d in manifest["documents"]} == stems
    assert all(d["title"] and d["source"] == "BBC News" for d in manifest["documents"])
    cited = {e.doc_id for q in GOLDS["news"] for e in q.evidence}
    assert cited <= stems


def test_no_article_outside_a_questions_evidence_repeats_its_quote() -> None:
    texts = _texts(CORPORA["news"])
    for q in GOLDS["news"]:
        cited = {e.doc_id for e in q.evidence}
        for ev in q.evidence:
            assert not [d for d, t in texts.items() if d not in cited and ev.quote in t], q.id


def test_squad_slice_maps_answer_offsets_into_whole_articles() -> None:
    gold, corpus = GOLDS["squad"], CORPORA["squad"]
    assert len(gold) >= 300
    assert len(list(corpus.articles.glob("*.txt"))) == 6
    answerable = [q for q in gold if not q.must_abstain]
    assert len(answerable) >= 100 and len(gold) - len(answerable) >= 100
    texts = _texts(corpus)
    for q in answerable:
        assert all(e.start is not None for e in q.evidence), q.id
        for ev in q.evidence:
            paragraph_start = texts[ev.doc_id].rfind("\n\n", 0, ev.start) + 2
            assert texts[ev.doc_id].find("\n\n", paragraph_start) == -1 or (
                texts[ev.doc_id].find("\n\n", paragraph_start) >= ev.start + len(ev.quote)
            ), q.id  # the span lies inside one paragraph


def test_news_subset_builder_keeps_cited_articles_and_skips_copies(tmp_path: Path) -> None:
    source, evals = tmp_path / "bbc", tmp_path / "eval"
    source.mkdir()
    evals.mkdir()
    for i in range(12):
        (source / f"bbc_x_{i:03d}.txt").write_text(f"Title {i}\n\nBody number {i}.\n")
    long_body = "A paragraph long enough to be compared with the paragraphs of other stories."
    (source / "bbc_x_003.txt").write_text(f"Title 3\n\n{long_body}\n")
    (source / "bbc_x_100.txt").write_text(f"Another title\n\n{long_body}\n")  # a copy of 003
    (source / "bbc_x_200.txt").write_text("T\n\nIt said: Body number 7. And more besides.\n")
    (evals / "gold_demo.jsonl").write_text(json.dumps(
        {"evidence": [{"doc_id": "bbc_x_007", "quote": "Body number 7."}], "note": "bbc_x_003.txt"}
    ) + "\n")
    assert referenced(evals, {p.stem for p in source.glob("*.txt")}) == {"bbc_x_003", "bbc_x_007"}
    chosen = choose(source, evals, target=14, seed=1)
    assert {"bbc_x_003", "bbc_x_007"} <= set(chosen)
    assert "bbc_x_100" not in chosen  # a copy of a cited story is never a distractor
    assert "bbc_x_200" not in chosen  # nor is an article that repeats a gold quote
    assert len(chosen) == 12
    assert choose(source, evals, target=5, seed=1) == choose(source, evals, target=5, seed=1)


def test_index_cache_key_follows_article_content(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("One article.\n")
    corpus = Corpus("demo", tmp_path, tmp_path / "gold.jsonl")
    settings = Settings()
    first = index_key(corpus, settings)
    assert index_key(corpus, settings) == first
    (tmp_path / "a.txt").write_text("One article, edited.\n")
    assert index_key(corpus, settings) != first


def test_unknown_corpus_is_refused() -> None:
    assert [c.name for c in select_corpora("news,seeds")] == ["news", "seeds"]
    with pytest.raises(ValueError, match="unknown corpus nope"):
        select_corpora("nope")


# --- the gate per corpus and split --------------------------------------------------------------


def _result(qid: str, corpus: str, split: str, passed: bool, **kw: object) -> QuestionResult:
    return QuestionResult(id=qid, category="who", question="?", must_abstain=False, corpus=corpus,
                          split=split, passed=passed, why=[] if passed else ["missing 'x'"],
                          answer_recall=1.0 if passed else 0.0, **kw)  # type: ignore[arg-type]


def test_gate_checks_test_split_minimums_and_dev_regressions_per_corpus() -> None:
    results = [
        _result("n-1", "news", "test", False), _result("n-2", "news", "test", True),
        _result("n-3", "news", "dev", False), _result("s-1", "squad", "test", True),
    ]
    thresholds = {"news": {"overall": {"pass_rate": 0.9}}, "squad": {"overall": {"pass_rate": 0.9}}}
    problems = check_corpora(results, thresholds, {"n-1": True, "n-3": True})
    assert problems[0].startswith("news test: overall pass_rate: 0.500 < minimum 0.900")
    assert any(p.startswith("news dev: regression n-3 ") for p in problems)
    assert not any("n-1" in p for p in problems)  # a test question's failure is never named
    assert not any(p.startswith("squad") for p in problems)
    assert check_corpora([_result("x", "other", "test", True)], thresholds, {}) == [
        "other: no thresholds for this corpus in thresholds.json"
    ]
    assert check_corpora([_result("x", "news", "dev", True)], thresholds, {}) == [
        "news: the gate needs the test split, which was not run"
    ]


def test_committed_thresholds_gate_every_corpus_with_exact_quotes() -> None:
    thresholds = load_thresholds()
    assert set(CORPORA) <= set(thresholds)
    for name in CORPORA:
        assert thresholds[name]["overall"]["citation_validity"] == 1.0, name


def test_report_shows_each_corpus_and_split_but_lists_only_dev_failures() -> None:
    results = [_result("news-who-01", "news", "dev", False),
               _result("news-who-02", "news", "test", False)]
    text = corpus_report(results)
    assert "news/dev" in text and "news/test" in text
    assert "news-who-01" in text and "news-who-02" not in text
    assert "news-who-02" in corpus_report(results, show_test=True)
    assert {"overall", "news/dev", "news/test", "news/test who"} <= set(flat_summary(results))


def test_an_answer_the_safety_net_replaced_is_a_failure_not_a_refusal() -> None:
    q = next(q for q in GOLDS["news"] if q.must_abstain)
    rewritten = Answer(question=q.question, answer="The sources don't answer this question.",
                       abstained=True, citations=[], mode="extractive",
                       fallback_reason="invariant_violation")
    r = score(q, rewritten, [], [], lambda _: None, latency=0.0)
    assert not r.passed and r.safety_net
    figures = summarize([r])["overall"]
    assert figures["citation_validity"] == 0.0 and figures["safety_net"] == 1


def test_squad_answer_is_correct_only_with_the_gold_span_cited() -> None:
    q = next(q for q in GOLDS["squad"] if not q.must_abstain)
    texts = _texts(CORPORA["squad"])
    span = locate([q], texts.get)[q.id][0]
    text = texts[span.doc_id]

    def cited(start: int, end: int) -> Answer:
        c = Citation(marker=1, doc_id=span.doc_id, title="t", source=None, published=None,
                     quote=text[start:end], start=start, end=end, score=1.0)
        return Answer(question=q.question, answer=f"{q.answers[0][0]} [1]", abstained=False,
                      citations=[c], mode="extractive")

    on_span = score(q, cited(span.start, span.end), [], [span], texts.get, latency=0.0)
    elsewhere = score(q, cited(span.end + 1, span.end + 40), [], [span], texts.get, latency=0.0)
    assert on_span.passed and not elsewhere.passed
