"""spaCy imported for `qa serve` without torch, and torch still importable afterwards."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from qa.lean_imports import import_spacy_without_torch
import_spacy_without_torch()
assert "spacy" in sys.modules and "torch" not in sys.modules
import spacy
assert [t.text for t in spacy.blank("en")("Rebels took Konna.")] == ["Rebels", "took", "Konna", "."]
import torch
assert torch.ones(2).sum().item() == 2.0
print("ok")
"""


def test_spacy_loads_without_torch_and_torch_still_imports() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
