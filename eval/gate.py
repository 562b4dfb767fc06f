"""The regression gate: committed minimums (thresholds.json) and per-question baseline (baseline.json)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from eval.gold import EVAL_DIR
from eval.runner import QuestionResult
from eval.summary import SCORES, Figures, summarize

THRESHOLDS_PATH = EVAL_DIR / "thresholds.json"
BASELINE_PATH = EVAL_DIR / "baseline.json"


class GateConfigError(ValueError):
    """thresholds.json or baseline.json is malformed."""


Minimums = dict[str, dict[str, float]]  # group ("overall" or a category) -> figure -> minimum
ANY_CORPUS = "*"  # thresholds.json in the one-corpus format applies to every corpus


def load_thresholds(path: Path = THRESHOLDS_PATH) -> dict[str, Minimums]:
    """Minimums by corpus, then group ("overall" or a category) and figure name.

    The file maps each corpus to ``{"overall": {...}, "categories": {...}}``; a file that is itself
    one such mapping (no corpus level) applies to every corpus.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GateConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise GateConfigError(f"{path} must hold a JSON object")
    per_corpus = {ANY_CORPUS: raw} if {"overall", "categories"} & set(raw) else raw
    per_corpus.pop("dialogues", None)  # limits of their own: eval.dialogues_gate
    return {corpus: _groups(path, corpus, spec) for corpus, spec in per_corpus.items()}


def _groups(path: Path, corpus: str, spec: object) -> Minimums:
    if not isinstance(spec, dict):
        raise GateConfigError(f"{path}: {corpus} must map to {{'overall': ..., 'categories': ...}}")
    groups = {"overall": spec.get("overall", {}), **spec.get("categories", {})}
    for group, minimums in groups.items():
        for name, value in minimums.items():
            if name not in SCORES or not isinstance(value, int | float):
                raise GateConfigError(
                    f"{path}: {corpus} {group}.{name} = {value!r} is not a known minimum"
                )
    return groups


def load_baseline(path: Path = BASELINE_PATH) -> dict[str, bool]:
    """Question id -> passed in the committed baseline ({} if there is none yet)."""
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise GateConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, bool) for v in raw.values()):
        raise GateConfigError(f"{path} must map question ids to true/false")
    return raw


def write_baseline(results: Sequence[QuestionResult], path: Path = BASELINE_PATH) -> None:
    """Record which questions pass now (merged into the existing baseline), written atomically."""
    baseline = load_baseline(path)
    baseline.update({r.id: r.passed for r in results})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(baseline.items())), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def check(
    summary: Mapping[str, Figures], results: Sequence[QuestionResult],
    thresholds: Mapping[str, Mapping[str, float]], baseline: Mapping[str, bool],
) -> list[str]:
    """Every way this run misses the gate, one line each (empty when it passes)."""
    problems = []
    for group, minimums in thresholds.items():
        figures = summary.get(group)
        if figures is None:
            continue  # the category was not part of this run
        for name, minimum in minimums.items():
            value = figures.get(name)
            if value is None:
                problems.append(f"{group} {name}: not measured (minimum {minimum:.3f})")
            elif value < minimum:
                problems.append(f"{group} {name}: {value:.3f} < minimum {minimum:.3f}")
    for r in results:
        if baseline.get(r.id) and not r.passed:
            problems.append(f"regression {r.id} ({r.category}): passed in the baseline, now fails: "
                            + "; ".join(r.why))
    return problems


def check_corpora(
    results: Sequence[QuestionResult], thresholds: Mapping[str, Mapping[str, Mapping[str, float]]],
    baseline: Mapping[str, bool],
) -> list[str]:
    """The gate over every corpus run: its test split against its minimums, its dev split against
    the baseline (a test question's failure is never named, so no one tunes on it)."""
    problems = []
    for corpus in dict.fromkeys(r.corpus for r in results):
        minimums = thresholds.get(corpus, thresholds.get(ANY_CORPUS))
        test = [r for r in results if r.corpus == corpus and r.split == "test"]
        dev = [r for r in results if r.corpus == corpus and r.split != "test"]
        if minimums is None:
            problems.append(f"{corpus}: no thresholds for this corpus in thresholds.json")
            continue
        if not test:
            problems.append(f"{corpus}: the gate needs the test split, which was not run")
            continue
        problems += [f"{corpus} test: {p}" for p in check(summarize(test), [], minimums, {})]
        problems += [f"{corpus} dev: {p}" for p in check({}, dev, {}, baseline)]
    return problems
