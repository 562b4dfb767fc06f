"""Do both stores give the same answers? ``python -m eval.store_parity [--corpus seeds,news,squad]``.

Runs ``qa eval`` once on the embedded store and once on milvus-lite (``--store milvus``), each
corpus indexed from the same articles, and lists per corpus the questions whose answer, citations or
verdict differ. The issue's bar: at most one question per corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.cli import main as eval_main

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


def main(argv: list[str] | None = None) -> int:
    """Run the eval on both stores; 0 when every corpus is within ALLOWED differing questions."""
    parser = argparse.ArgumentParser(prog="python -m eval.store_parity", description=__doc__)
    parser.add_argument("--corpus", default="seeds,news,squad")
    parser.add_argument("--data-dir", type=Path, default=Path(".eval-data"))
    parser.add_argument("--out", type=Path, default=Path(".eval-data/parity"))
    args = parser.parse_args(argv)
    results = {}
    for store in ("embedded", "milvus"):
        report = args.out / f"{store}.html"
        code = eval_main(["--corpus", args.corpus, "--store", store, "--quiet", "--data-dir",
                          str(args.data_dir), "--report", str(report)])
        if code:
            return code
        results[store] = json.loads(report.with_suffix(".json").read_text())["results"]
    ok = True
    passed = {s: {} for s in results}  # type: dict[str, dict[str, int]]
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
