"""The eval suite: an honest gold file, correct metrics, and a gate that fails when quality drops."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import msgspec
import numpy as np
import pytest

from embeddings.store import SENTENCE_SLOTS
from eval import metrics
from eval.corpora import CORPORA
from eval.gate import check, check_corpora, load_baseline, load_thresholds, write_baseline
from eval.gold import CATEGORIES, GoldError, GoldQuestion, GoldSpan, article_texts, load_gold, locate
from eval.report import to_html, write_reports
from eval.runner import QuestionResult, score
from eval.summary import summarize
from qa.records import Answer, Citation

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GOLD = load_gold()
TEXTS = article_texts(SEEDS)


# --- the gold file ---------------------------------------------------------------------------


def test_gold_has_enough_questions_in_every_category() -> None:
    counts = Counter(q.category for q in GOLD)
    assert len(GOLD) >= 60
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 5, counts


def test_gold_follows_the_schema() -> None:
    raw = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    for item in raw:
        assert {"id", "question", "answers", "evidence", "category"} <= set(item)
        assert all(isinstance(i, list) and all(isinstance(a, str) for a in i) for i in item["answers"])
        if item["category"] == "must-abstain":
            assert item["answers"] == [] and item["evidence"] == [], item["id"]
        else:
            assert item["answers"] and item["evidence"], item["id"]
            assert all(e["doc_id"] in TEXTS for e in item["evidence"]), item["id"]


def test_every_evidence_quote_is_an_exact_substring_of_its_article() -> None:
    spans = locate(GOLD, TEXTS.get)  # raises unless every quote occurs exactly once
    for q in GOLD:
        for ev, span in zip(q.evidence, spans[q.id], strict=True):
            assert TEXTS[ev.doc_id][span.start:span.end] == ev.quote


def test_a_quote_that_is_not_in_the_article_is_rejected() -> None:
    bad = GoldQuestion(id="x", category="who", question="Who?", answers=[["A"]],
                       evidence=[GOLD[0].evidence[0].__class__(doc_id=GOLD[0].evidence[0].doc_id,
                                                               quote="words nobody wrote")])
    with pytest.raises(GoldError, match="not found"):
        locate([bad], TEXTS.get)


def test_multi_article_questions_cite_two_articles() -> None:
    for q in GOLD:
        if q.category in ("multi-article", "conflicting"):
            assert len(q.evidence) >= 2, q.id
        if q.category == "multi-article":
            assert len({e.doc_id for e in q.evidence}) >= 2, q.id


_STOP = frozenset(re.findall(r"[a-z]+", """
a an the of in on at to for from by with and or is are was were be been do does did
what which who whom whose when where why how many much far long has have had that this these those
its it their they them his her he she said says according along into than then there just"""))


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w[:5] for w in words if len(w) > 2 and w not in _STOP}


def test_paraphrase_questions_share_no_content_word_with_their_evidence() -> None:
    for q in GOLD:
        if q.category == "paraphrase":
            evidence = " ".join(e.quote for e in q.evidence)
            assert not _stems(q.question) & _stems(evidence), q.id


def test_date_answers_accept_both_day_month_orders() -> None:
    day_month = re.compile(r"^(\d{1,2}) ([A-Z][a-z]+)$")
    for q in GOLD:
        for item in q.answers:
            for alias in item:
                m = day_month.match(alias)
                if m:
                    assert f"{m.group(2)} {m.group(1)}" in item, (q.id, alias)


# --- metrics on hand-made cases ---------------------------------------------------------------


def test_normalize_folds_case_accents_punctuation_and_number_formats() -> None:
    assert metrics.normalize("Sévaré, [2] the 2,000 troops; 50km on January 14th.") == (
        "sevare 2000 troops 50 km on january 14"
    )


def test_contains_matches_whole_words_only() -> None:
    assert metrics.contains("There are 2,000 French troops [1]", "2000")
    assert metrics.contains("about 500 million dollars", "500 million")
    assert not metrics.contains("taking the number to 150", "50")
    assert not metrics.contains("the towns [1]", "1")


def test_answer_recall_is_the_share_of_required_items_present() -> None:
    items = [["Canada"], ["Germany"], ["Russia", "the Russians"]]
    assert metrics.answer_recall("Canada and Russia offered aid", items) == pytest.approx(2 / 3)
    assert metrics.answer_recall("Canada, Germany and Russia", items) == 1.0
    assert metrics.missing_items("Canada only", items) == [["Germany"], ["Russia", "the Russians"]]


def test_token_f1_and_best_alias() -> None:
    assert metrics.token_f1("the total reconquest of Mali", "total reconquest") == pytest.approx(2 / 3)
    assert metrics.token_f1("nothing", "total reconquest") == 0.0
    assert metrics.best_alias_f1("14 January", [["January 14", "14 January", "2013-01-14"]]) == 1.0


def test_span_overlap_recall_and_reciprocal_rank() -> None:
    gold = [GoldSpan(doc_id="a", start=10, end=20), GoldSpan(doc_id="b", start=0, end=5)]
    assert metrics.overlaps("a", 19, 30, gold[0])
    assert not metrics.overlaps("a", 20, 30, gold[0])  # touching is not overlapping
    assert not metrics.overlaps("b", 10, 20, gold[0])
    ranked = [("c", 0, 100), ("a", 0, 15), ("a", 50, 60)]
    assert metrics.recall_at_k(ranked, gold) == 0.5
    assert metrics.reciprocal_rank(ranked, gold) == 0.5
    assert metrics.reciprocal_rank([("c", 0, 9)], gold) == 0.0


def test_abstention_scores() -> None:
    # (must_abstain, abstained): 2 right refusals, 1 missed, 1 false refusal, 2 answered
    pairs = [(True, True), (True, True), (True, False), (False, True), (False, False),
             (False, False)]
    s = metrics.abstention_scores(pairs)
    assert s["abstention_precision"] == pytest.approx(2 / 3)
    assert s["abstention_recall"] == pytest.approx(2 / 3)
    assert s["abstention_f1"] == pytest.approx(2 / 3)
    assert s["false_refusal_rate"] == pytest.approx(1 / 3)
    assert metrics.abstention_scores([(True, False)])["abstention_f1"] == 0.0


def test_percentile() -> None:
    assert metrics.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert metrics.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert metrics.percentile([], 50) is None


# --- scoring answer records -------------------------------------------------------------------


def _gold(qid: str) -> GoldQuestion:
    return next(q for q in GOLD if q.id == qid)


def _cited_answer(q: GoldQuestion, text: str, quote: str, doc_id: str, *, shift: int = 0) -> Answer:
    start = TEXTS[doc_id].index(quote) + shift
    citation = Citation(marker=1, doc_id=doc_id, title="t", source=None, published=None,
                        quote=quote, start=start, end=start + len(quote), score=1.0)
    return Answer(question=q.question, answer=text, abstained=False, citations=[citation],
                  mode="extractive")


def _score(q: GoldQuestion, answer: Answer) -> QuestionResult:
    spans = locate([q], TEXTS.get)[q.id]
    return score(q, answer, [], spans, TEXTS.get, latency=0.01)


def test_a_correct_cited_answer_passes() -> None:
    q = _gold("who-03")
    ev = q.evidence[0]
    r = _score(q, _cited_answer(q, f"{ev.quote} [1]", ev.quote, ev.doc_id))
    assert r.passed and r.answer_recall == 1.0 and r.why == []


def test_an_answer_with_a_shifted_quote_fails_as_invalid() -> None:
    q = _gold("who-03")
    ev = q.evidence[0]
    r = _score(q, _cited_answer(q, f"{ev.quote} [1]", ev.quote, ev.doc_id, shift=1))
    assert not r.passed and "invalid citation(s) [1]" in r.why


def test_a_right_answer_citing_the_wrong_passage_fails() -> None:
    q = _gold("who-03")
    other = "Benin said it was boosting its troop allotment"
    r = _score(q, _cited_answer(q, "Tieman Hubert Coulibaly [1]", other, "001_9587e132223c5d31"))
    assert not r.passed and "no citation overlaps the gold evidence" in r.why


def test_must_abstain_passes_only_when_the_service_abstains() -> None:
    q = _gold("abstain-01")
    refusal = Answer(question=q.question, answer="The sources don't answer this question.",
                     abstained=True, citations=[], mode="extractive")
    assert _score(q, refusal).passed
    ev = _gold("who-03").evidence[0]
    answered = _score(q, _cited_answer(q, f"{ev.quote} [1]", ev.quote, ev.doc_id))
    assert not answered.passed


# --- the gate and the reports -----------------------------------------------------------------


def _result(qid: str, category: str, passed: bool) -> QuestionResult:
    return QuestionResult(id=qid, category=category, question="?", must_abstain=False,
                          passed=passed, why=[] if passed else ["missing 'x'"], latency=0.1,
                          answer_recall=1.0 if passed else 0.0)


def test_gate_names_missed_thresholds_and_regressed_questions() -> None:
    results = [_result("who-01", "who", False), _result("who-02", "who", True)]
    problems = check(summarize(results), results,
                     {"overall": {"pass_rate": 0.9}, "who": {"answer_recall": 0.4}},
                     {"who-01": True, "who-02": True})
    assert any(p.startswith("overall pass_rate: 0.500 < minimum 0.900") for p in problems)
    assert any(p.startswith("regression who-01 (who)") for p in problems)
    assert not any("who-02" in p for p in problems)
    assert len(problems) == 2  # who answer_recall 0.5 >= 0.4


def test_committed_gate_files_are_well_formed() -> None:
    thresholds = load_thresholds()
    assert thresholds["seeds"]["overall"]["citation_validity"] == 1.0
    known = {q.id for corpus in CORPORA.values() for q in load_gold(corpus.gold)}
    assert set(load_baseline()) <= known


def test_update_baseline_merges(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline([_result("who-01", "who", True)], path)
    write_baseline([_result("who-02", "who", False)], path)
    assert load_baseline(path) == {"who-01": True, "who-02": False}


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    results = [_result("who-01", "who", False), _result("list-01", "list", True)]
    html_path = tmp_path / "report.html"
    json_path = write_reports(html_path, summarize(results), results, {"mode": "x"}, ["boom"])
    html = html_path.read_text()
    assert "<svg" in html and "who-01" in html and "list-01" in html and "boom" in html
    assert not re.search(r"<(script|link|img)\b", html)
    assert not re.search(r"(src|href)=", html)
    data = json.loads(json_path.read_text())
    assert data["gate"] == {"passed": False, "problems": ["boom"]}
    assert [r["id"] for r in data["results"]] == ["who-01", "list-01"]
    assert "<svg" in to_html(summarize(results), results, {}, None)


# --- the real pipeline ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy_run(seed_service):
    from eval.runner import ServiceBackend, run_eval

    return run_eval(GOLD, ServiceBackend(seed_service))


@pytest.fixture(scope="module")
def broken_run(seed_service, seed_settings, encoder):
    """The same corpus with dense hits shuffled across chunks and BM25 switched off."""
    from eval.runner import ServiceBackend, run_eval
    from qa.service import QAService

    store = seed_service.store
    keys = [c.key for s in store.summaries() for c in store.chunks_of(s.document.doc_id)]
    moved = dict(zip(keys, np.random.default_rng(7).permutation(keys).tolist(), strict=True))

    class Shuffled:
        """The real store, but each dense hit is another chunk and sparse search finds nothing."""

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def search_dense(self, vector: np.ndarray, k: int) -> list[int]:
            return [moved[key] for key in store.search_dense(vector, k)]

        def search_sentences(self, vector: np.ndarray, k: int) -> list[int]:
            slots = SENTENCE_SLOTS
            return [moved[i // slots] * slots for i in store.search_sentences(vector, k)]

        def search_sparse(self, text: str, k: int) -> list[int]:
            return []

        def view(self) -> Shuffled:
            return self

    return run_eval(GOLD, ServiceBackend(QAService(seed_settings, Shuffled(), encoder)))  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_real_pipeline_passes_the_committed_gate(healthy_run) -> None:
    problems = check_corpora(healthy_run, load_thresholds(), load_baseline())
    assert problems == []
    assert summarize(healthy_run)["overall"]["citation_validity"] == 1.0


@pytest.mark.slow
def test_the_gate_fails_and_names_questions_when_retrieval_is_broken(healthy_run, broken_run) -> None:
    problems = check_corpora(broken_run, load_thresholds(), load_baseline())
    healthy = {r.id for r in healthy_run if r.passed}
    broken_failures = {r.id for r in broken_run if not r.passed}
    regressed = healthy & broken_failures
    assert regressed, "breaking retrieval should make some passing question fail"
    assert any(p.startswith(("seeds test: overall pass_rate", "seeds test: overall recall_at_k"))
               for p in problems), problems
    baseline = load_baseline()
    dev = {r.id for r in broken_run if r.split == "dev"}
    named = {qid for qid in regressed & dev if baseline.get(qid)}
    assert named, "the committed baseline should record passing dev questions"
    for qid in named:
        assert any(p.startswith(f"seeds dev: regression {qid} ") for p in problems), qid
    assert not any(f"regression {qid} " in p for qid in regressed - dev for p in problems)
    broken_recall = summarize(broken_run)["overall"]["recall_at_k"]
    healthy_recall = summarize(healthy_run)["overall"]["recall_at_k"]
    assert broken_recall is not None and healthy_recall is not None
    assert broken_recall < healthy_recall


@pytest.mark.slow
def test_http_mode_gives_the_same_results_as_in_process(seed_service, healthy_run) -> None:
    from litestar.testing import TestClient

    from eval.runner import HttpBackend, run_eval
    from qa.app import create_app

    one_per_category = list({q.category: q for q in GOLD}.values())
    with TestClient(create_app(service=seed_service)) as client:
        backend = HttpBackend(str(client.base_url), SEEDS, seed_service.settings.retrieval.top_k,
                              client=client)
        results = run_eval(one_per_category, backend)
    expected = {r.id: r for r in healthy_run}
    for r in results:
        assert r.error is None, r.error
        assert (r.passed, r.answer, r.retrieval_recall) == (
            expected[r.id].passed, expected[r.id].answer, expected[r.id].retrieval_recall
        ), r.id


@pytest.mark.slow
def test_cli_check_exits_1_and_names_the_missed_minimum(
    seed_settings, seed_index, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from eval.cli import main
    from eval.corpora import CORPORA, index_key
    from qa.settings import Settings

    # the seed index the session built, placed where the eval's cache looks for it
    cache = tmp_path / "cache"
    key = index_key(CORPORA["seeds"], Settings.from_env())
    shutil.copytree(seed_settings.index.data_dir, cache / f"seeds-{key}")
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"overall": {"citation_validity": 1.0},
                                      "categories": {"who": {"pass_rate": 1.01}}}))
    baseline = tmp_path / "baseline.json"
    args = ["--corpus", "seeds", "--only", "who", "--quiet", "--data-dir", str(cache),
            "--thresholds", str(thresholds), "--baseline", str(baseline),
            "--report", str(tmp_path / "r.html")]
    assert main([*args, "--update-baseline"]) == 0
    assert set(load_baseline(baseline)) == {
        q.id for q in GOLD if q.category == "who" and q.split == "dev"
    }
    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "gate FAILED" in out and "seeds test: who pass_rate:" in out
    assert "minimum 1.010" in out
    assert json.loads((tmp_path / "r.json").read_text())["gate"]["passed"] is False


class _ShiftedQuotes:
    """The extractive generator with every citation moved one character to the right."""

    def __init__(self) -> None:
        from qa.answer import ExtractiveGenerator

        self.inner = ExtractiveGenerator()

    async def generate(self, question, evidence):
        answer = await self.inner.generate(question, evidence)
        shifted = [msgspec.structs.replace(c, start=c.start + 1, end=c.end + 1) for c in answer.citations]
        return msgspec.structs.replace(answer, citations=shifted)

    async def stream(self, question, evidence):
        yield await self.generate(question, evidence)


def test_the_in_process_eval_sees_a_broken_citation_before_the_safety_net(fake_service, monkeypatch):
    from eval.runner import ServiceBackend, run_question
    from qa.service import FALLBACK_MODE, GENERATORS, ModeEntry

    monkeypatch.setitem(GENERATORS, FALLBACK_MODE, ModeEntry(make=lambda service: _ShiftedQuotes()))
    gold = next(q for q in GOLD if q.id == "fact-01")
    backend = ServiceBackend(fake_service)
    spans = locate([gold], backend.text_of)[gold.id]
    result = run_question(gold, backend, spans, None, None)
    assert not result.abstained and result.citations  # the user would have seen an abstention
    assert not any(c.valid for c in result.citations)
    assert not result.passed and any("invalid citation" in w for w in result.why)
    assert fake_service.ask_sync(gold.question).abstained  # ... which is what ask() still shows
