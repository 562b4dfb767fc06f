"""Imports trimmed for a fast start: spaCy without the PyTorch layers our pipelines never use."""

from __future__ import annotations

import sys


def import_spacy_without_torch() -> None:
    """Import spaCy with thinc's PyTorch support off: thinc imports torch (2-7 s, half of `qa serve`'s
    start) only for GPU and PyTorch-wrapped models, and our spaCy pipelines run on numpy. A later
    ``import torch`` (the torch encoder backend) still works."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import spacy  # noqa: F401
    finally:
        del sys.modules["torch"]
