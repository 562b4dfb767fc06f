"""One settings object with a section per stage, built once from ``QA_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qa.locations import find_data_dir, find_seeds_dir
from qa.records import MODES, Mode


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


@dataclass(frozen=True, kw_only=True)
class IndexSettings:
    data_dir: Path = Path("data")
    seeds_dir: Path = Path("seeds")
    index_type: str = "auto"  # auto | flat | hnsw | ivfpq | ivfsq8
    encoder_backend: str = "auto"  # auto | onnx | onnx-int8 | torch (embeddings/encoder.py)
    model_cache: Path | None = None  # exported encoder models; None: ~/.cache/newsqa
    store: str = ""  # QA_STORE: "" (embedded, in data_dir/store), milvus:///file.db, http://host:19530
    # A document sent through the API is indexed while the client waits (~15 s per 200k characters
    # on two cores); news articles are far shorter.
    max_document_chars: int = 250_000


@dataclass(frozen=True, kw_only=True)
class RetrievalSettings:
    top_k: int = 8  # passages handed to the generator
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 60


@dataclass(frozen=True, kw_only=True)
class GeneratorSettings:
    mode: Mode = "extractive"
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:8080/v1
    llm_model: str = "default"
    llm_api_key: str | None = None
    llm_timeout: float = 30.0
    llm_max_tokens: int = 384
    llm_enabled: bool = True  # QA_LLM=off: no LLM at all (and `qa serve` starts no model)
    llm_bundled: str = "qwen2.5-coder-1.5b"  # the model `qa serve` runs when no URL is given


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    admin_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    rate_limit: str = "120/minute"  # N/second|minute|hour|day; "off" disables
    max_question_chars: int = 1000


@dataclass(frozen=True, kw_only=True)
class Settings:
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = field(default_factory=GeneratorSettings)
    server: ServerSettings = field(default_factory=ServerSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``QA_*`` variables; anything unset keeps its working default."""
        env = os.environ if env is None else env
        origins = tuple(o.strip() for o in env.get("QA_CORS_ORIGINS", "").split(",") if o.strip())
        mode = _env(env, "QA_MODE", "extractive")
        if mode not in MODES:
            raise ValueError(f"QA_MODE must be one of {', '.join(MODES)}, not {mode!r}")
        return cls(
            index=IndexSettings(
                data_dir=find_data_dir(env),
                seeds_dir=find_seeds_dir(env),
                index_type=_env(env, "QA_INDEX_TYPE", "auto"),
                encoder_backend=_env(env, "QA_ENCODER_BACKEND", "auto"),
                model_cache=Path(cache) if (cache := env.get("QA_MODEL_CACHE", "").strip()) else None,
                store=_env(env, "QA_STORE", ""),
                max_document_chars=int(_env(env, "QA_MAX_DOCUMENT_CHARS", "250000")),
            ),
            retrieval=RetrievalSettings(top_k=int(_env(env, "QA_TOP_K", "8"))),
            generator=GeneratorSettings(
                mode=mode,  # type: ignore[arg-type]
                llm_base_url=env.get("QA_LLM_BASE_URL") or None,
                llm_model=_env(env, "QA_LLM_MODEL", "default"),
                llm_api_key=env.get("QA_LLM_API_KEY") or None,
                llm_timeout=float(_env(env, "QA_LLM_TIMEOUT", "30")),
                llm_enabled=_env(env, "QA_LLM", "on").lower() not in ("off", "0", "false", "no"),
                llm_bundled=_env(env, "QA_LLM_BUNDLED", "qwen2.5-coder-1.5b"),
            ),
            server=ServerSettings(
                host=_env(env, "QA_HOST", "127.0.0.1"),
                port=int(_env(env, "QA_PORT", "8000")),
                admin_key=env.get("QA_ADMIN_KEY") or None,
                cors_origins=origins,
                rate_limit=_env(env, "QA_RATE_LIMIT", "120/minute"),
            ),
        )
