"""The layer contract ([tool.importlinter] in pyproject.toml) holds, and it does catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _copy_tree(tmp_path: Path) -> Path:
    for name in ("qa", "embeddings", "eval"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_its_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_build(tmp_path):
    tree = _copy_tree(tmp_path)
    records = tree / "embeddings" / "records.py"  # core must not know the service
    records.write_text(records.read_text() + "\nfrom qa.service import QAService  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "embeddings.records -> qa.service" in result.stdout


def test_shipped_code_importing_eval_breaks_the_build(tmp_path):
    tree = _copy_tree(tmp_path)
    dedupe = tree / "qa" / "dedupe.py"
    dedupe.write_text(dedupe.read_text() + "\nimport eval.gold  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "qa.dedupe -> eval.gold" in result.stdout


def test_each_package_exports_its_public_names():
    import embeddings
    import qa

    for package in (qa, embeddings):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
