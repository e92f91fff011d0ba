"""The model file: one `.npz` with the heads' weights, the probe vectors and a JSON record.

The record holds the format (`turn-understanding/1`), the encoder id, the dims, the classes, the thresholds,
the training config, the editors' phrases, a hash of the training material and a SHA-256 of the weights.
`load_model` refuses, with `ModelFileError`, a file that is missing, unreadable or truncated, fails its
checksum, is of another format or encoder id, or whose probe vectors the running encoder does not reproduce.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls.understanding.heads import LinearHead, TextHead
from assist.calls.understanding.memory import ExampleMemory
from assist.calls.understanding.model import (
    ENCODER_ID,
    FORMAT,
    PROBE_MIN_COSINE,
    PROBE_TEXTS,
    Encoder,
    ModelFileError,
    Playbook,
    TurnUnderstanding,
)
from assist.calls.understanding.text import Normalizer

logger = logging.getLogger(__name__)

LINEAR = ("need", "topic", "step", "done")


def save_model(model: TurnUnderstanding, path: Path | str) -> None:
    """Write the model as one .npz: weights, probe vectors and a JSON record with their checksum (atomic)."""
    arrays: dict[str, np.ndarray] = {"probes": model.probes.astype(np.float32)}
    for name in LINEAR:
        head: LinearHead = getattr(model, f"{name}_head")
        for part in ("W", "b", "mu", "sd"):
            arrays[f"{name}.{part}"] = np.ascontiguousarray(getattr(head, part), np.float32)
    arrays["done_text.W"] = model.done_text_head.W.astype(np.float32)
    arrays["done_text.b"] = np.array([model.done_text_head.b], np.float32)
    meta = dict(model.meta)
    meta.pop("memory", None)
    if model.memory is not None:
        arrays["memory.q"], arrays["memory.scale"] = model.memory.quantized()
        arrays["memory.labels"] = model.memory.labels
        mem = model.memory
        meta["memory"] = {"steps": mem.steps, "texts": mem.texts, "k": mem.k, "temperature": mem.temperature}
    meta["classes"] = {name: getattr(model, f"{name}_head").classes for name in LINEAR}
    meta["thresholds"] = model.thresholds
    meta["playbook"] = asdict(model.playbook)
    meta["checksum"] = checksum(arrays)
    buf = io.BytesIO()
    payload: dict[str, Any] = {"meta": np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)), **arrays}
    np.savez_compressed(buf, **payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    logger.info("turn-understanding model saved to %s (%d bytes)", path, len(buf.getvalue()))


def _read(path: Path, encoder_id: str | None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the record of a model file, its format, checksum and encoder id checked."""
    if not path.is_file():
        raise ModelFileError(f"turn-understanding model not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{path}: not a readable turn-understanding model ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path}: format {found!r}, this code reads {FORMAT!r}")
    if meta.get("checksum") != checksum(data):
        raise ModelFileError(f"{path}: weights do not match their checksum (corrupt or edited file)")
    if encoder_id is not None and meta.get("encoder_id") != encoder_id:
        raise ModelFileError(f"{path}: trained for encoder {meta.get('encoder_id')!r}, running {encoder_id!r}")
    return data, meta


def load_model(
    path: Path | str,
    *,
    encoder: Encoder | None = None,
    encoder_id: str | None = ENCODER_ID,
    normalize: Normalizer | None = None,
) -> TurnUnderstanding:
    """Read a model written by `save_model`.

    Args:
        path: the .npz file.
        encoder: the running query encoder (text → vector). When given, the probe texts are embedded and must
            match the stored probe vectors (cosine ≥ 0.98): a model trained on other vectors is refused
            rather than giving confident nonsense.
        encoder_id: the id of the running encoder; must equal the model's (None skips the check).
        normalize: the text normaliser (default: the engine's).

    Raises:
        ModelFileError: missing or unreadable file, bad checksum, unknown format, another encoder.
    """
    path = Path(path)
    data, meta = _read(path, encoder_id)
    try:
        heads = {
            name: LinearHead(
                classes=list(meta["classes"][name]),
                W=data[f"{name}.W"],
                b=data[f"{name}.b"],
                mu=data[f"{name}.mu"],
                sd=data[f"{name}.sd"],
            )
            for name in LINEAR
        }
        text_head = TextHead(W=data["done_text.W"], b=float(data["done_text.b"][0]))
        playbook, thresholds, probes = Playbook(**meta["playbook"]), meta["thresholds"], data["probes"]
        memory = _memory(data, meta)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ModelFileError(f"{path}: incomplete model ({exc})") from exc
    for name, head in heads.items():
        if head.W.shape != (head.mu.shape[0], len(head.classes)):
            raise ModelFileError(f"{path}: head {name} has weights {head.W.shape} for {len(head.classes)} classes")
    if probes.shape != (len(PROBE_TEXTS), meta.get("dims")):
        raise ModelFileError(f"{path}: probe vectors {probes.shape} do not match dims {meta.get('dims')}")
    if encoder is not None:
        check_encoder(encoder, probes, where=str(path))
    model = TurnUnderstanding(
        need_head=heads["need"],
        topic_head=heads["topic"],
        step_head=heads["step"],
        done_head=heads["done"],
        done_text_head=text_head,
        thresholds=thresholds,
        playbook=playbook,
        meta=meta,
        probes=probes,
        normalize=normalize,
        memory=memory,
    )
    logger.info("turn-understanding model %s loaded (data %s)", path, meta.get("data_hash"))
    return model


def _memory(data: dict[str, np.ndarray], meta: dict[str, Any]) -> ExampleMemory | None:
    """The nearest-examples memory of a model file (None for a file written without one)."""
    spec = meta.get("memory")
    if spec is None:
        return None
    if "memory.q" in data:
        vecs = ExampleMemory.dequantized(data["memory.q"], data["memory.scale"])
    else:  # a file written before the int8 memory (float16 rows)
        vecs = data["memory.vecs"].astype(np.float32)
    return ExampleMemory(
        vecs=vecs,
        labels=data["memory.labels"],
        steps=list(spec["steps"]),
        texts=list(spec["texts"]),
        k=int(spec["k"]),
        temperature=float(spec["temperature"]),
    )


def check_encoder(encoder: Encoder, probes: np.ndarray, *, where: str = "model") -> None:
    """Raise ModelFileError unless `encoder` reproduces the stored probe vectors."""
    for text, ref in zip(PROBE_TEXTS, probes, strict=True):
        try:
            v = encoder(text)
        except Exception as exc:  # an encoder that cannot run is as unusable as a wrong one
            raise ModelFileError(f"{where}: the encoder failed on a probe text ({exc})") from exc
        if v is None:
            raise ModelFileError(f"{where}: the encoder gave no vector for a probe text")
        v = np.asarray(v, np.float32).reshape(-1)
        if v.shape != ref.shape:
            raise ModelFileError(
                f"{where}: the encoder gives {v.shape[0]} dims, the model was trained on {ref.shape[0]}"
            )
        cos = float(v @ ref / (np.linalg.norm(v) * np.linalg.norm(ref) + 1e-12))
        if cos < PROBE_MIN_COSINE:
            raise ModelFileError(
                f"{where}: the running encoder is not the one the model was trained on (probe cosine {cos:.3f})"
            )


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes (sorted by name)."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()
