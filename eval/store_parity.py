"""Do both stores give the same answers? ``python -m eval.store_parity [--corpus seeds,news,squad]``.

Runs ``qa eval`` once on the embedded store and once on milvus-lite (``--store milvus``), each
corpus indexed from the same articles, and lists per corpus the questions whose answer, citations or
verdict differ. The issue's bar: at most one question per corpus. ``--copy`` fills each milvus-lite
index from the embedded one (same documents, vectors and near-duplicate verdicts, nothing embedded
again): it isolates what the stores themselves do, in minutes instead of a second ingest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from eval.cli import main as eval_main
from eval.corpora import BUILT, MILVUS, index_key, select_corpora

ALLOWED = 1  # differing questions per corpus


def _answer(result: dict[str, Any]) -> tuple[object, ...]:
    cited = tuple((c["doc_id"], c["start"], c["end"]) for c in result.get("citations") or ())
    return result.get("answer"), result.get("abstained"), cited, result.get("passed")


def differences(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per corpus, the ids of the questions answered differently in ``a`` and ``b``."""
    theirs = {(r["corpus"], r["id"]): r for r in b}
    out: dict[str, list[str]] = {}
    for r in a:
        other = theirs.get((r["corpus"], r["id"]))
        out.setdefault(r["corpus"], [])
        if other is None or _answer(r) != _answer(other):
            out[r["corpus"]].append(r["id"])
    return out


def copy_to_milvus(corpus_names: str, cache: Path) -> None:
    """Fill each corpus's milvus-lite index from its latest embedded one, in write order."""
    from embeddings.encoder import MODEL_NAME
    from embeddings.store import open_store
    from qa.settings import Settings

    settings = Settings.from_env()
    for corpus in select_corpora(corpus_names):
        target = cache / f"{corpus.name}-{MILVUS}-{index_key(corpus, settings)}"
        built = [d for d in cache.glob(f"{corpus.name}-*")
                 if f"-{MILVUS}-" not in d.name and (d / BUILT).is_file()]
        if (target / BUILT).is_file() or not built:
            continue
        shutil.rmtree(target, ignore_errors=True)  # a build that did not finish
        source = max(built, key=lambda d: (d / BUILT).stat().st_mtime)
        src = open_store("", data_dir=source, model=MODEL_NAME, dim=384)
        dst = open_store(f"milvus://{target}/milvus.db", data_dir=target, model=MODEL_NAME, dim=384)
        ids = [summary.document.doc_id for summary in src.summaries()]
        for first in range(0, len(ids), 50):
            dst.upsert([doc for i in ids[first:first + 50] if (doc := src.get(i)) is not None])
        src.close()  # dst stays open: milvus-lite fails to reconnect after a close in the same process
        (target / BUILT).write_text(f"copied from {source.name}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the eval on both stores; 0 when every corpus is within ALLOWED differing questions."""
    parser = argparse.ArgumentParser(prog="python -m eval.store_parity", description=__doc__)
    parser.add_argument("--corpus", default="seeds,news,squad")
    parser.add_argument("--data-dir", type=Path, default=Path(".eval-data"))
    parser.add_argument("--out", type=Path, default=Path(".eval-data/parity"))
    parser.add_argument("--copy", action="store_true", help="fill milvus-lite from the embedded indexes")
    parser.add_argument("--reuse", action="store_true", help="reuse an embedded run's report in --out")
    args = parser.parse_args(argv)
    results = {}
    for store in ("embedded", "milvus"):
        report = args.out / f"{store}.html"
        if store == "embedded" and args.reuse and report.with_suffix(".json").is_file():
            results[store] = json.loads(report.with_suffix(".json").read_text())["results"]
            continue
        if store == MILVUS and args.copy:
            copy_to_milvus(args.corpus, args.data_dir)
        code = eval_main(["--corpus", args.corpus, "--store", store, "--quiet", "--data-dir",
                          str(args.data_dir), "--report", str(report)])
        if code:
            return code
        results[store] = json.loads(report.with_suffix(".json").read_text())["results"]
    ok = True
    passed: dict[str, dict[str, int]] = {s: {} for s in results}
    for store, rows in results.items():
        for r in rows:
            passed[store][r["corpus"]] = passed[store].get(r["corpus"], 0) + bool(r["passed"])
    for corpus, ids in differences(results["embedded"], results["milvus"]).items():
        ok &= len(ids) <= ALLOWED
        print(f"{corpus}: {len(ids)} of {sum(r['corpus'] == corpus for r in results['embedded'])} "
              f"questions differ; passed embedded {passed['embedded'].get(corpus, 0)}, milvus "
              f"{passed['milvus'].get(corpus, 0)}" + (f" ({', '.join(ids)})" if ids else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
