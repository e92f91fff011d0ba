"""The claim model's file: a zip of ``.npy`` arrays and a JSON header, no pickles.

The header records the format and its version, the categories, the encoder id and dimension, the corpus
hash, the rule-pack fingerprint the thresholds were calibrated with, the training config, the combination
policy and a SHA-256 per array, so a damaged, foreign or wrong-encoder file is refused with a clear error.
The bytes depend only on the model (fixed entry order and timestamps), so training is reproducible.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assist.errors import ClaimModelError, EncoderMismatch, ModelFileCorrupt, ModelFileMissing

if TYPE_CHECKING:
    from assist.compliance.guard.model import ClaimModel

logger = logging.getLogger(__name__)


# ---- persistence -------------------------------------------------------------------------------
def _arrays(model: ClaimModel) -> dict[str, np.ndarray]:
    texts = json.dumps(list(model.example_texts), ensure_ascii=False).encode("utf-8")
    return {
        "weights": model.weights,
        "bias": model.bias,
        "block": model.block.astype(np.float64),
        "warn": model.warn.astype(np.float64),
        "example_vectors": model.example_vectors.astype(np.float16),
        "example_categories": model.example_categories.astype(np.int16),
        "example_texts": np.frombuffer(texts, np.uint8),
    }


def _digest(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def model_bytes(model: ClaimModel) -> bytes:
    """The file's bytes: they depend only on the model (fixed entry order and timestamps, no pickles)."""
    from assist.compliance.guard.model import FORMAT, FORMAT_VERSION

    arrays = _arrays(model)
    reserved = ("format", "format_version", "categories", "arrays")
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "categories": list(model.categories),
        **{k: v for k, v in model.meta.items() if k not in reserved},
        "arrays": {k: _digest(v) for k, v in arrays.items()},
    }
    entries = [("header.json", json.dumps(header, ensure_ascii=False, indent=1, sort_keys=True).encode())]
    for name, arr in arrays.items():
        b = io.BytesIO()
        np.lib.format.write_array(b, np.ascontiguousarray(arr), allow_pickle=False)
        entries.append((name + ".npy", b.getvalue()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def write_model(model: ClaimModel, path: Path | str) -> str:
    """Write the model file atomically (temp file, then rename); returns its SHA-256."""
    data = model_bytes(model)
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    digest = hashlib.sha256(data).hexdigest()
    logger.info("claim model saved", extra={"path": str(target), "bytes": len(data), "sha256": digest[:12]})
    return digest


def read_header(path: Path | str) -> dict[str, Any]:
    """The JSON header of a model file (no array is read or checked)."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileMissing(f"claim model file not found: {p}")
    try:
        with zipfile.ZipFile(p) as zf:
            header = json.loads(zf.read("header.json").decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise ModelFileCorrupt(f"{p}: unreadable claim model file: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelFileCorrupt(f"{p}: the header is not a JSON object")
    return header


def _read_arrays(p: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from assist.compliance.guard.model import FORMAT, FORMAT_VERSION

    header = read_header(p)
    if header.get("format") != FORMAT:
        raise ModelFileCorrupt(f"{p}: not a claim model file (format {header.get('format')!r})")
    if header.get("format_version") != FORMAT_VERSION:
        found = header.get("format_version")
        raise ModelFileCorrupt(f"{p}: format version {found!r}, this code reads {FORMAT_VERSION}")
    arrays = {}
    try:
        with zipfile.ZipFile(p) as zf:
            for name, digest in dict(header["arrays"]).items():
                arr = np.lib.format.read_array(io.BytesIO(zf.read(name + ".npy")), allow_pickle=False)
                if _digest(arr) != digest:
                    raise ModelFileCorrupt(f"{p}: array {name!r} does not match its hash")
                arrays[name] = arr
    except ClaimModelError:
        raise
    except (zipfile.BadZipFile, zlib.error, KeyError, TypeError, ValueError, OSError, EOFError) as exc:
        raise ModelFileCorrupt(f"{p}: unreadable claim model file: {exc}") from exc
    return header, arrays


def read_model(path: Path | str, *, encoder_id: str | None = None, dim: int | None = None) -> ClaimModel:
    """Read and verify a model file.

    Args:
        path: The file written by :func:`write_model`.
        encoder_id: The encoder that will be used; refuse a model trained on another one.
        dim: The encoder's dimension; refuse a model of another.

    Raises:
        ModelFileMissing: No such file.
        ModelFileCorrupt: Not a claim model file, an unknown format version, or damaged arrays.
        EncoderMismatch: Trained on another encoder.
    """
    from assist.compliance.guard.model import ClaimModel

    p = Path(path)
    header, arrays = _read_arrays(p)
    if encoder_id is not None and header.get("encoder_id") != encoder_id:
        raise EncoderMismatch(f"{p}: trained on encoder {header.get('encoder_id')!r}, not {encoder_id!r}")
    if dim is not None and int(header.get("dim", -1)) != dim:
        raise EncoderMismatch(f"{p}: trained on {header.get('dim')}-dimensional vectors, not {dim}")
    try:
        texts = json.loads(arrays["example_texts"].tobytes().decode("utf-8"))
        meta = {k: v for k, v in header.items() if k not in ("categories", "arrays")}
        return ClaimModel(
            categories=header["categories"],
            weights=arrays["weights"],
            bias=arrays["bias"],
            block=arrays["block"],
            warn=arrays["warn"],
            example_vectors=arrays["example_vectors"],
            example_texts=texts,
            example_categories=arrays["example_categories"],
            meta=meta,
        )
    except (KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise ModelFileCorrupt(f"{p}: inconsistent claim model file: {exc}") from exc
