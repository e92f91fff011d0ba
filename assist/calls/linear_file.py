"""The file form shared by the live engine's small learned scorers (issue #17).

The answer-sentence ranker (:mod:`assist.calls.sentence_rank`) and the document re-ranker
(:mod:`assist.calls.doc_rank`) are both a linear scorer over standardised features: ``weights``, ``mean`` and
``scale``, one number per feature. They ship as a small JSON file naming its format, version and feature list, and
a file that is missing or unusable leaves the hand ranking in force with a log line. This module holds that part
once; each scorer keeps its features and how it uses its score.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

logger = logging.getLogger(__name__)

T = TypeVar("T")
ARRAYS = ("weights", "mean", "scale")


def check_arrays(what: str, n: int, weights: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> None:
    """Raise ValueError unless each array holds ``n`` finite numbers and every scale is positive."""
    for label, arr in zip(ARRAYS, (weights, mean, scale), strict=True):
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} {label}: expected {n} finite numbers, got shape {arr.shape}")
    if np.any(scale <= 0):
        raise ValueError(f"{what} scale: every value must be positive")


def dump(
    fmt: str,
    version: int,
    name: str,
    features: Sequence[str],
    arrays: Sequence[np.ndarray],
    meta: dict[str, Any],
    **extra: float,
) -> str:
    """The file form: format, version, name, features, ``extra`` numbers, the three arrays and ``meta``."""
    body: dict[str, Any] = {"format": fmt, "version": version, "name": name, "features": list(features)}
    body.update({k: round(float(v), 6) for k, v in extra.items()})
    body.update({k: [round(float(x), 6) for x in a] for k, a in zip(ARRAYS, arrays, strict=True)})
    body["meta"] = meta
    return json.dumps(body, ensure_ascii=False, indent=1)


def parse(
    text: str, *, what: str, fmt: str, version: int, features: Sequence[str]
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """The file's body and its three arrays (weights, mean, scale); ValueError says what is wrong."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("format") != fmt:
        found = body.get("format") if isinstance(body, dict) else type(body).__name__
        raise ValueError(f"not a {what} file (format {found!r})")
    if body.get("version") != version:
        raise ValueError(f"{what} version {body.get('version')!r}, this code reads {version}")
    if body.get("features") != list(features):
        raise ValueError(f"{what} features differ from this code's: retrain it")
    try:
        arrays = [np.asarray(body[k], np.float64) for k in ARRAYS]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{what} arrays: {exc}") from exc
    if any(not math.isfinite(float(x)) for a in arrays for x in a.ravel()):
        raise ValueError(f"{what} arrays hold a non-finite number")
    return body, arrays


def load(path: Path | None, from_json: Callable[[str], T], *, what: str) -> T | None:
    """The scorer in ``path``, or None (the hand ranking stays in force) when it is absent or unusable."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        logger.warning("no %s; hand ranking", what, extra={"path": str(path), "reason": str(exc)})
        return None
    try:
        return from_json(text)
    except ValueError as exc:
        logger.warning("%s unusable; hand ranking", what, extra={"path": str(path), "reason": str(exc)})
        return None
