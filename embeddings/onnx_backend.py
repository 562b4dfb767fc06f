"""ONNX Runtime backend of the encoder: the bundled PyTorch weights, exported once to a local cache.

The exported graph includes mean pooling and L2 normalisation, so its output is the sentence
embedding itself; the export is checked against PyTorch before it is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXPORT_VERSION = 1  # bump when the exported graph changes
OPSET = 17
CHECK_TEXTS = ("Who leads the country?", "A longer sentence about troops, towns and a ceasefire.")
MIN_EXPORT_COSINE = 0.9999  # the export must reproduce PyTorch's vectors to float precision


def default_cache_dir() -> Path:
    """Where exported models are kept unless ``QA_MODEL_CACHE`` says otherwise."""
    return Path.home() / ".cache" / "newsqa"


def _model_key(model_dir: Path) -> str:
    digest = hashlib.sha256(f"{EXPORT_VERSION}\x00{OPSET}".encode())
    for name in ("config.json", "tokenizer.json", "sentence_bert_config.json"):
        digest.update((model_dir / name).read_bytes())
    digest.update(str((model_dir / "model.safetensors").stat().st_size).encode())
    return digest.hexdigest()[:16]


def onnx_path(model_dir: Path, quantized: bool, cache_dir: Path | None = None) -> Path:
    """The cached ONNX file for this model (exported, and quantised, on first use)."""
    target = (cache_dir or default_cache_dir()) / f"minilm-{_model_key(model_dir)}"
    fp32 = target / "model.onnx"
    if not fp32.is_file():
        _export(model_dir, fp32)
    if not quantized:
        return fp32
    int8 = target / "model-int8.onnx"
    if not int8.is_file():
        _quantize(fp32, int8)
    return int8


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # a shared cache, readable like any installed model file
    return Path(tmp)


def _export(model_dir: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    class Embedder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    embedder = Embedder(AutoModel.from_pretrained(str(model_dir))).eval()
    tokenizer = load_tokenizer(model_dir)
    ids, mask = tokenize(tokenizer, list(CHECK_TEXTS))
    tmp = _atomic_target(path)
    try:
        # The TorchScript exporter is deprecated but exports this model in about a second, offline.
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                embedder, (torch.from_numpy(ids), torch.from_numpy(mask)), str(tmp),
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
                opset_version=OPSET, dynamo=False,
            )
            expected = embedder(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        got = make_session(tmp).run(None, {"input_ids": ids, "attention_mask": mask})[0]
        cosine = float((expected * got).sum(axis=1).min())
        if cosine < MIN_EXPORT_COSINE:
            raise RuntimeError(f"the ONNX export differs from PyTorch (cosine {cosine:.6f})")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _quantize(fp32: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _atomic_target(path)
    try:
        # Per-channel weights keep cosine to the fp32 vectors at ~0.993 (per-tensor: ~0.92).
        quantize_dynamic(fp32, tmp, per_channel=True, weight_type=QuantType.QInt8)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_tokenizer(model_dir: Path):  # type: ignore[no-untyped-def]
    """The model's fast tokenizer, truncating at its sentence-transformers max_seq_length."""
    from tokenizers import Tokenizer

    config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(int(config.get("max_seq_length", 256)))
    tokenizer.enable_padding()  # to the longest text of each batch
    return tokenizer


def tokenize(tokenizer, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(input_ids, attention_mask) as int64 arrays, padded to the longest text."""
    encoded = tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    return ids, mask


def make_session(path: Path):  # type: ignore[no-untyped-def]
    """An inference session that runs on its caller's thread (safe to call from many threads)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread per call: concurrency comes from callers (requests, or batches on a pool);
    # intra-op thread teams lose badly on a shared 2-core machine.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
