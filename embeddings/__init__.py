"""Index-time stages: load and clean documents, split and tag sentences, chunk, embed, index.

The public names below load on first use, so importing one stage never drags in the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Document": "embeddings.records", "ProcessedDocument": "embeddings.records",
    "Sentence": "embeddings.records", "Chunk": "embeddings.records",
    "load_documents": "embeddings.documents", "make_document": "embeddings.documents",
    "Encoder": "embeddings.encoder", "MiniLMEncoder": "embeddings.encoder",
    "default_encoder": "embeddings.encoder", "CorpusIndex": "embeddings.index",
    "load_snapshot": "embeddings.index", "save_snapshot": "embeddings.index",
    "build_index": "embeddings.build",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'embeddings' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
