"""The eval corpora (seeds, the BBC subset, the SQuAD slice) and their cached indexes."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the service loads torch; --url runs must not need it
    from qa.settings import Settings

EVAL_DIR = Path(__file__).resolve().parents[1]
ROOT = EVAL_DIR.parent
DEFAULT_CACHE = ROOT / ".eval-data"


@dataclass(frozen=True)
class Corpus:
    """A folder of articles and the gold file of questions about them."""

    name: str
    articles: Path
    gold: Path


CORPORA = {
    c.name: c for c in (
        Corpus("seeds", ROOT / "seeds", EVAL_DIR / "gold.jsonl"),
        Corpus("news", EVAL_DIR / "corpora" / "news", EVAL_DIR / "gold_news.jsonl"),
        Corpus("squad", EVAL_DIR / "corpora" / "squad", EVAL_DIR / "gold_squad.jsonl"),
    )
}


def select_corpora(names: str | None) -> list[Corpus]:
    """The corpora named in a comma-separated list (all when None); ValueError for an unknown one."""
    if not names:
        return list(CORPORA.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in CORPORA]
    if unknown:
        raise ValueError(f"unknown corpus {', '.join(unknown)} (known: {', '.join(CORPORA)})")
    return [CORPORA[n] for n in wanted]


def _code_files() -> Iterable[Path]:
    """The ingest code an index depends on: a change to it means a new index."""
    shared = [ROOT / "qa" / name for name in ("text.py", "writer.py", "dedupe.py")]  # terms, dedupe
    return [*sorted((ROOT / "embeddings").rglob("*.py")), *shared]


def index_key(corpus: Corpus, settings: Settings) -> str:
    """A content hash of the articles, the ingest code and the index settings."""
    h = hashlib.sha256()
    h.update(repr((settings.index.index_type, settings.index.encoder_backend)).encode())
    for path in [*sorted(corpus.articles.iterdir()), *_code_files()]:
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


MILVUS = "milvus"  # `qa eval --store milvus`: each corpus in its own milvus-lite file
BUILT = "built"  # written once a whole corpus is in the store: a build killed half-way goes on


def index_dir(corpus: Corpus, settings: Settings, cache: Path = DEFAULT_CACHE,
              log: Callable[[str], None] | None = None) -> Path:
    """The data directory holding this corpus's index, built first unless the cache has it."""
    from qa.service import QAService

    kind = f"-{MILVUS}" if settings.index.store == MILVUS else ""
    data_dir = cache / f"{corpus.name}{kind}-{index_key(corpus, settings)}"
    if not (data_dir / BUILT).is_file():
        if log:
            log(f"indexing {corpus.name} ({corpus.articles}) into {data_dir} ...")
        for stale in cache.glob(f"{corpus.name}{kind}-*"):  # older builds of the same corpus and store
            if stale != data_dir and stale.is_dir() and (kind or f"-{MILVUS}-" not in stale.name):
                shutil.rmtree(stale, ignore_errors=True)
        QAService.build(_with_data_dir(settings, data_dir), source=corpus.articles,
                        progress=_every_tenth(log) if log else None).close()
        (data_dir / BUILT).write_text("every article of the corpus is in the store\n")
    return data_dir


def _every_tenth(log: Callable[[str], None]) -> Callable[[str, int, int], None]:
    """An index-build progress callback that logs each stage at every tenth of the way."""
    shown: set[tuple[str, int]] = set()

    def progress(stage: str, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if (stage, tenth) not in shown:
            shown.add((stage, tenth))
            log(f"  {stage}: {done}/{total}")

    return progress


def _with_data_dir(settings: Settings, data_dir: Path) -> Settings:
    store = f"milvus://{data_dir}/milvus.db" if settings.index.store == MILVUS else settings.index.store
    return replace(settings, index=replace(settings.index, data_dir=data_dir, store=store))


def settings_for(corpus: Corpus, settings: Settings, cache: Path = DEFAULT_CACHE,
                 log: Callable[[str], None] | None = None) -> Settings:
    """``settings`` pointed at this corpus's (cached) index and articles."""
    settings = _with_data_dir(settings, index_dir(corpus, settings, cache, log))
    return replace(settings, index=replace(settings.index, seeds_dir=corpus.articles))
