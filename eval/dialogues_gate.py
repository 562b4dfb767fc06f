"""The gold dialogues in `qa eval`: their articles, cached index, per-turn report and gate."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from embeddings.documents import MANIFEST_NAME
from eval.corpora import CORPORA, DEFAULT_CACHE, Corpus, settings_for
from eval.dialogues import DIALOGUES_PATH, Dialogue, TurnResult, load_dialogues, run_dialogue, summary
from eval.gate import GateConfigError
from qa.followup import Turn
from qa.records import Answer, Mode

if TYPE_CHECKING:  # importing the service loads torch; --url runs must not need it
    from qa.service import QAService

NAME = "dialogues"
MINIMUMS = ("ratio", "referent_recall")  # at least this
MAXIMUMS = ("switches_inherited",)  # at most this


def wanted(corpus: str | None, only: str | None, url: str | None) -> tuple[str | None, bool]:
    """(the --corpus value for the gold questions, whether to run the dialogues).

    The dialogues run when named, or by default unless the run is narrowed by --only or goes to a
    server (a conversation needs the in-process service).
    """
    if not corpus:
        return None, not (only or url)
    names = [n.strip() for n in corpus.split(",") if n.strip()]
    if NAME in names and url:
        raise ValueError("the dialogues run in process only: drop --url or the dialogues corpus")
    return ",".join(n for n in names if n != NAME), NAME in names


def gather_articles(dialogues: Sequence[Dialogue], folder: Path) -> Corpus:
    """The seeds and every BBC article a dialogue names, copied into ``folder`` with one manifest."""
    seeds, news = CORPORA["seeds"].articles, CORPORA["news"].articles
    sources = {p.name: p for p in seeds.glob("*.txt")}
    sources |= {name: news / name for d in dialogues for name in d.bbc_files}
    entries = [e for src in (seeds, news) for e in _manifest(src) if e.get("file") in sources]
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.name not in sources and stale.name != MANIFEST_NAME:
            stale.unlink()
    for name, src in sources.items():
        target = folder / name
        if not target.is_file() or target.read_bytes() != src.read_bytes():
            shutil.copyfile(src, target)
    manifest = json.dumps({"documents": entries}, indent=1, ensure_ascii=False) + "\n"
    if not (folder / MANIFEST_NAME).is_file() or (folder / MANIFEST_NAME).read_text("utf-8") != manifest:
        (folder / MANIFEST_NAME).write_text(manifest, encoding="utf-8")
    return Corpus(NAME, folder, DIALOGUES_PATH)


def _manifest(folder: Path) -> list[dict[str, object]]:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data.get("documents", []) if isinstance(data, dict) else data)


def load_limits(path: Path) -> dict[str, float]:
    """The dialogues' entry of thresholds.json ({} when it has none)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8")).get(NAME, {})
    except (OSError, ValueError, AttributeError) as exc:
        raise GateConfigError(f"cannot read {path}: {exc}") from exc
    limits = raw.get("test", {}) if isinstance(raw, dict) else None
    if not isinstance(limits, dict) or any(
        k not in MINIMUMS + MAXIMUMS or not isinstance(v, int | float) for k, v in limits.items()
    ):
        raise GateConfigError(f"{path}: {NAME} must be {{'test': {{'ratio': ..., "
                              "'switches_inherited': ...}}}")
    return limits


def check(results: Sequence[TurnResult], limits: Mapping[str, float]) -> list[str]:
    """Every way the test split misses its limits, one line each (never naming a test turn)."""
    test = [r for r in results if r.split == "test"]
    if not limits:
        return [f"{NAME}: no thresholds for the dialogues in thresholds.json"]
    if not test:
        return [f"{NAME}: the gate needs the test split, which was not run"]
    figures = summary(test)
    problems = []
    for name, limit in limits.items():
        value = figures.get(name)
        if not isinstance(value, int | float):
            problems.append(f"{NAME} test: {name}: not measured (limit {limit})")
        elif name in MINIMUMS and value < limit:
            problems.append(f"{NAME} test: {name}: {value:.3f} < minimum {limit:.3f}")
        elif name in MAXIMUMS and value > limit:
            problems.append(f"{NAME} test: {name}: {value} > maximum {limit}")
    return problems


def report(results: Sequence[TurnResult], show_test: bool = False) -> str:
    """Per split: later turns right in context and alone, their ratio, switches that inherited;
    then the dev turns that lost something by being follow-ups (test ones only when asked)."""
    lines = [f"{NAME}: later turns answered as follow-ups vs as their standalone forms",
             f"{'split':<6}{'dialogues':>10}{'later':>7}{'follow-up':>11}{'alone':>7}{'ratio':>7}"
             f"{'referents':>11}{'switches':>10}{'inherited':>11}"]
    for split in ("dev", "test"):
        part = [r for r in results if r.split == split]
        if part:
            f = summary(part)
            ratio, recall = ("-" if f[k] is None else f"{f[k]:.2f}" for k in ("ratio", "referent_recall"))
            lines.append(f"{split:<6}{f['dialogues']:>10}{f['later_turns']:>7}"
                         f"{f['followup_correct']:>11}{f['standalone_correct']:>7}{ratio:>7}"
                         f"{recall:>11}{f['switches']:>10}{f['switches_inherited']:>11}")
    lost = [r for r in results if r.turn > 1 and (r.split == "dev" or show_test)
            and (r.inherited or (r.standalone_ok and not r.followup_ok))]
    if lost:
        lines += ["", "follow-ups answered worse than their standalone forms:"]
        lines += [f"  {r.dialogue} t{r.turn} ({r.split}, {r.kind}) {r.question!r} -> "
                  f"{r.standalone_used!r}{' INHERITED' if r.inherited else ''}" for r in lost]
    return "\n".join(lines)


Progress = Callable[[TurnResult], None]


def open_service(cache: Path = DEFAULT_CACHE, log: Callable[[str], None] | None = None) -> QAService:
    """A service over the dialogues' articles, indexed under ``cache`` unless already there."""
    from qa.service import QAService
    from qa.settings import Settings

    corpus = gather_articles(load_dialogues(), cache / "articles" / NAME)  # not NAME-*: stale indexes
    return QAService.open(settings_for(corpus, Settings.from_env(), cache, log))


def run(
    cache: Path = DEFAULT_CACHE, *, split: str | None = None, mode: Mode | None = None,
    top_k: int | None = None, progress: Progress | None = None, log: Callable[[str], None] | None = None,
) -> list[TurnResult]:
    """Every dialogue of ``split`` (both when None) through a service over its cached index."""
    dialogues = [d for d in load_dialogues() if split in (None, d.split)]
    service = open_service(cache, log)
    loop = asyncio.new_event_loop()  # one loop for the whole run: the LLM client lives on it

    def ask(question: str, history: Sequence[Turn]) -> Answer:
        return loop.run_until_complete(service.ask(question, top_k=top_k, mode=mode, history=history))

    results: list[TurnResult] = []
    try:
        for d in dialogues:
            for r in run_dialogue(d, ask):
                results.append(r)
                if progress:
                    progress(r)
    finally:
        loop.run_until_complete(service.aclose())
        loop.close()
    return results


def to_json(results: Sequence[TurnResult], problems: Sequence[str] | None) -> bytes:
    """The figures per split, the gate's verdict and every turn."""
    return msgspec.json.encode({
        "summary": {s: summary([r for r in results if r.split == s]) for s in ("dev", "test")},
        "gate": None if problems is None else {"passed": not problems, "problems": list(problems)},
        "turns": results,
    })
