"""Tuning harness for the reader: every gold set, dev split only unless --test, in process.

Gold files and corpora are read from GOLD_ROOT (a copy of the gold-set engineer's committed files).
Usage: python tools/dev_reader.py [seeds|news|squad ...] [-v] [--rebuild] [--test]
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from embeddings.build import build_index
from embeddings.documents import load_documents
from embeddings.encoder import default_encoder
from embeddings.index import save_snapshot
from eval import metrics
from qa.service import QAService
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GOLD_ROOT = Path(os.environ.get("GOLD_ROOT", "/tmp/h14b-gold/eval"))
SETS = {
    "seeds": (ROOT / "seeds", GOLD_ROOT / "gold.jsonl"),
    "news": (GOLD_ROOT / "corpora" / "news", GOLD_ROOT / "gold_news.jsonl"),
    "squad": (GOLD_ROOT / "corpora" / "squad", GOLD_ROOT / "gold_squad.jsonl"),
}


def split_of(item_id: str) -> str:
    return "test" if int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % 2 else "dev"


def service_for(name: str, docs_dir: Path, rebuild: bool) -> QAService:
    settings = Settings.from_env({"QA_DATA_DIR": f"/tmp/h14b-data-{name}"})
    encoder = default_encoder()
    if rebuild or not (settings.index.data_dir / "CURRENT").exists():
        save_snapshot(build_index(load_documents(docs_dir), encoder), settings.index.data_dir)
    service = QAService.open(settings, encoder)
    if os.environ.get("QA_MIN_SCORE"):
        service.extractive.min_score = float(os.environ["QA_MIN_SCORE"])
    return service


def run(name: str, rebuild: bool, split: str, verbose: bool) -> dict[str, float]:
    docs_dir, gold_path = SETS[name]
    service = service_for(name, docs_dir, rebuild)
    gold = [json.loads(line) for line in gold_path.read_text().splitlines() if line.strip()]
    gold = [g for g in gold if split_of(g["id"]) == split]
    passed = tp = fp = fn = n_ans = ok_ans = n_abs = 0
    per_cat: dict[str, list[int]] = {}
    for g in gold:
        ans = service.ask_sync(g["question"])
        abstain = g["category"] == "must-abstain"
        if abstain:
            n_abs += 1
            good = ans.abstained
            tp += good
            fn += not good
            why = "answered" if not good else ""
        else:
            n_ans += 1
            fp += ans.abstained
            spans = []
            for ev in g["evidence"]:
                text = service.snapshot.document(ev["doc_id"]).text
                start = ev.get("start")
                start = text.find(ev["quote"]) if start is None else start
                spans.append((ev["doc_id"], start, start + len(ev["quote"])))
            text = f"{ans.answer} {ans.short_answer or ''}"
            missing = metrics.missing_items(text, g["answers"])
            cited = any(c.doc_id == d and c.start < e and s < c.end
                        for c in ans.citations for d, s, e in spans)
            valid = all(service.snapshot.document(c.doc_id).text[c.start:c.end] == c.quote
                        for c in ans.citations)
            good = not ans.abstained and not missing and cited and valid
            ok_ans += good
            why = "abstained" if ans.abstained else f"missing={[m[0] for m in missing]} cited={cited}"
        passed += good
        per_cat.setdefault(g["category"], [0, 0])[0] += good
        per_cat[g["category"]][1] += 1
        if verbose and not good:
            gold_answer = g["answers"][0][0] if g["answers"] else "-"
            print(f"FAIL {g['id']} [{why}] {g['question']} | gold: {gold_answer} | short: {ans.short_answer} "
                  f"| {ans.answer[:220]}")
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    cats = " ".join(f"{c}={v[0]}/{v[1]}" for c, v in sorted(per_cat.items()))
    print(f"{name} {split}: {passed}/{len(gold)} = {passed / max(len(gold), 1):.3f}; answerable "
          f"{ok_ans}/{n_ans}; refused {tp}/{n_abs}; false refusals {fp}; refusal F1 {f1:.3f}\n   {cats}")
    return {"passed": passed, "total": len(gold)}


if __name__ == "__main__":
    args = sys.argv[1:]
    which = [a for a in args if not a.startswith("-")] or list(SETS)
    for name in which:
        run(name, "--rebuild" in args, "test" if "--test" in args else "dev", "-v" in args)
