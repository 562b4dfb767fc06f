"""Question answering over news with citations that quote the source's exact words.

The public names below load on first use, so importing one layer never drags in the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "QAService": "qa.service", "GENERATORS": "qa.service", "Settings": "qa.settings",
    "QAError": "qa.errors", "Answer": "qa.records", "Citation": "qa.records",
    "DocumentInfo": "qa.records", "DocumentText": "qa.records", "Evidence": "qa.records",
    "Mode": "qa.records", "MODES": "qa.records", "NewDocument": "qa.records",
    "Passage": "qa.records", "Question": "qa.records", "StreamEvent": "qa.records",
    "Generator": "qa.generator", "Reranker": "qa.generator", "NoReranker": "qa.generator",
    "ExtractiveGenerator": "qa.answer", "create_app": "qa.app",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
