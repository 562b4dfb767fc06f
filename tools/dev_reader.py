"""Tuning harness for the reader (dev splits only): SQuAD slice and seeds gold, in process."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from embeddings.encoder import default_encoder
from embeddings.index import load_snapshot, save_snapshot
from embeddings.build import build_index
from embeddings.documents import load_documents
from embeddings.records import Document
from qa.service import QAService
from qa.settings import Settings

SQUAD = Path("/work/shared/corpora/squad2/squad2-dev-half-b.json")
ROOT = Path(__file__).resolve().parent.parent


def split_of(item_id: str) -> str:
    return "test" if int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 2 else "dev"


def squad_items() -> tuple[list[Document], list[dict]]:
    data = json.loads(SQUAD.read_text())["data"][:6]
    docs, items = [], []
    for i, article in enumerate(data):
        doc_id = f"squad_{i}"
        offset, texts = 0, []
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                golds = [(a["text"], offset + a["answer_start"]) for a in qa["answers"]]
                items.append({"id": qa["id"], "question": qa["question"], "doc_id": doc_id,
                              "golds": golds, "impossible": qa.get("is_impossible", not golds)})
            texts.append(p["context"])
            offset += len(p["context"]) + 2
        docs.append(Document(doc_id=doc_id, title=article["title"].replace("_", " "), text="\n\n".join(texts),
                             source="Wikipedia", published=None))
    return docs, items


def service_for(name: str, docs: list[Document], rebuild: bool) -> QAService:
    settings = Settings.from_env({"QA_DATA_DIR": f"/tmp/h14b-data-{name}"})
    encoder = default_encoder()
    if rebuild or not (settings.index.data_dir / "CURRENT").exists():
        save_snapshot(build_index(docs, encoder), settings.index.data_dir)
    return QAService.open(settings, encoder)


def run_squad(rebuild: bool, split: str, verbose: bool) -> None:
    docs, items = squad_items()
    service = service_for("squad", docs, rebuild)
    ok_a = n_a = ok_u = n_u = 0
    for it in items:
        if split_of(it["id"]) != split:
            continue
        ans = service.ask_sync(it["question"])
        if it["impossible"]:
            n_u += 1
            ok_u += ans.abstained
            if verbose and not ans.abstained:
                print("U-ANSWERED", it["question"], "|", ans.short_answer, "|", ans.answer[:200])
            continue
        n_a += 1
        text = f"{ans.answer} {ans.short_answer or ''}".lower()
        contained = any(g.lower() in text for g, _ in it["golds"])
        cited = any(c.doc_id == it["doc_id"] and c.start < s + len(g) and s < c.end
                    for c in ans.citations for g, s in it["golds"])
        good = not ans.abstained and contained and cited
        ok_a += good
        if verbose and not good:
            why = "ABSTAINED" if ans.abstained else f"contained={contained} cited={cited}"
            print("A-FAIL", why, it["question"], "| gold:", it["golds"][0][0], "|", ans.answer[:200])
    print(f"squad {split}: answerable {ok_a}/{n_a} = {ok_a / max(n_a, 1):.3f}; "
          f"unanswerable refused {ok_u}/{n_u} = {ok_u / max(n_u, 1):.3f}")


def run_seeds(rebuild: bool, split: str, verbose: bool) -> None:
    from eval.gold import load_gold
    from eval.runner import ServiceBackend, run_eval
    docs = load_documents(ROOT / "seeds")
    service = service_for("seeds", docs, rebuild)
    gold = [g for g in load_gold(ROOT / "eval" / "gold.jsonl") if split_of(g.id) == split]
    results = run_eval(gold, ServiceBackend(service))
    passed = sum(r.passed for r in results)
    tp = sum(r.must_abstain and r.abstained for r in results)
    fp = sum(not r.must_abstain and r.abstained for r in results)
    fn = sum(r.must_abstain and not r.abstained for r in results)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    if verbose:
        for r in results:
            if not r.passed:
                print("FAIL", r.id, r.question, "|", r.why, "|", r.short_answer, "|", r.answer[:200])
    print(f"seeds {split}: {passed}/{len(results)} = {passed / len(results):.3f}; refusal F1 {f1:.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    rebuild = "--rebuild" in args
    verbose = "-v" in args
    split = "test" if "--test" in args else "dev"
    which = [a for a in args if not a.startswith("-")] or ["squad", "seeds"]
    if "squad" in which:
        run_squad(rebuild, split, verbose)
    if "seeds" in which:
        run_seeds(rebuild, split, verbose)
