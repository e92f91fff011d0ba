"""Retraining the claim model: gather its data, train, compare with the model in force, install.

Used by ``assist guard train``. The data are the corpus's train split (``kb_docs/guard/claims.jsonl``),
benign sentences of the sample knowledge base (headings, paragraphs and FAQ answers: ordinary talk is
most of the traffic) and the review queue's decisions (a confirmed event is a positive of its first
category, a false positive a hard negative). Thresholds are calibrated for the combined guard with the
rules in force, so the file is versioned with the rule pack (``rules_hash`` in its header) and should be
rebuilt when the rules change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Knowledge-base folders whose sentences are benign negatives (never drafts/).
KB_DIRS = ("en", "zh", "zh_hant", "faq")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=[.?!])\s+|\n")
#: How much worse a candidate may be on validation before it is refused (rates, absolute).
TOLERANCE = {"recall": 0.01, "fpr_block": 0.01, "fpr_flag": 0.02}
#: The largest share of ordinary service lines (``kb_docs/guard/service_speech.jsonl``) a candidate may flag
#: (block or warn); it may block none. An alert on a greeting teaches agents to ignore alerts.
SERVICE_MAX_FLAG_SHARE = 0.02


def kb_sentences(kb_dir: Path, dirs: Sequence[str] = KB_DIRS) -> list[str]:
    """Sentences of the sample documents, 6-160 characters, de-duplicated, in a fixed order."""
    from ingest.loaders import DocumentLoader

    loader = DocumentLoader()
    out: list[str] = []
    seen: set[str] = set()
    paths = sorted(p for d in dirs if (kb_dir / d).is_dir() for p in (kb_dir / d).iterdir() if p.is_file())
    for p in paths:
        if p.name.endswith(".meta.yaml"):
            continue
        for block in loader.run(p).blocks:
            for text in (block.text, getattr(block, "question", None) or ""):
                for s in _SENTENCE_END.split(text or ""):
                    s = s.strip(" -*#|\t>")
                    if 6 <= len(s) <= 160 and s not in seen:
                        seen.add(s)
                        out.append(s)
    return out


def review_decisions(session: Any) -> list[Any]:
    """The reviewed guard events (confirmed or false positive) as training decisions, oldest first."""
    from sqlmodel import col, select

    from assist.compliance.guard.training import ReviewDecision
    from assist.models.guard import GuardEvent

    stmt = select(GuardEvent).where(col(GuardEvent.status).in_(("confirmed", "false_positive")))
    events = session.exec(stmt.order_by(col(GuardEvent.id))).all()
    return [d for d in (ReviewDecision.from_event(e) for e in events) if d is not None]


def rules_hash(guard: Any) -> str:
    """SHA-256 of the rules in force (ids, versions and bodies): what the thresholds were calibrated with."""
    body = json.dumps([r.to_dict() for r in guard.rules], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def train_candidate(
    guard: Any,
    rows: Sequence[Mapping[str, Any]],
    negatives: Sequence[str],
    reviews: Sequence[Any],
    encoder: Any,
    config: Any = None,
    policy: Any = None,
) -> tuple[Any, Any]:
    """Train and calibrate a model for ``guard``'s rules; its header carries the version and the policy."""
    from assist.compliance.guard.calibration import calibration_hook
    from assist.compliance.guard.combine import Policy
    from assist.compliance.guard.model import CATEGORIES
    from assist.compliance.guard.training import corpus_hash, train

    policy = policy or Policy()
    rh, ch = rules_hash(guard), corpus_hash(rows)
    version = f"{rh[:8]}-{ch[:8]}-r{len(reviews)}"
    meta = {
        "policy": policy.to_dict(),
        "version": version,
        "rules_hash": rh,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    hook = calibration_hook(guard, policy, CATEGORIES)
    return train(rows, negatives, reviews, encoder=encoder, config=config, combined=hook, extra_meta=meta)


def worse_than(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[str]:
    """Why the candidate's validation figures are worse than the model in force ([] when they are not)."""
    if not old:
        return []
    reasons = []
    if (new["recall"] or 0) < (old["recall"] or 0) - TOLERANCE["recall"]:
        reasons.append(f"recall {new['recall']} < {old['recall']}")
    for key in ("fpr_block", "fpr_flag"):
        if (new[key] or 0) > (old[key] or 0) + TOLERANCE[key]:
            reasons.append(f"{key} {new[key]} > {old[key]}")
    return reasons


def service_speech_path(kb_dir: Path) -> Path:
    """The shipped ordinary-speech lines: written agent talk, never training data."""
    return kb_dir / "guard" / "service_speech.jsonl"


def service_speech_check(guard: Any, layer: Any, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the combined guard (``guard``'s rules with ``layer``) does on ordinary service lines.

    Returns:
        ``lines``, ``flagged`` (blocked or warned), ``blocked``, ``share`` (flagged / lines) and ``examples``:
        the flagged lines as ``(action, text)``.
    """
    from assist.compliance.guard.layer_eval import actions

    acts = [actions(guard, layer, str(r["text"]), str(r.get("speaker") or "agent"))["combined"] for r in rows]
    flagged = [(a, str(r["text"])) for r, a in zip(rows, acts, strict=True) if a != "allow"]
    return {
        "lines": len(rows),
        "flagged": len(flagged),
        "blocked": sum(a == "block" for a, _ in flagged),
        "share": round(len(flagged) / len(rows), 3) if rows else 0.0,
        "examples": flagged,
    }


def service_speech_reasons(check: Mapping[str, Any]) -> list[str]:
    """Why a candidate fails the ordinary-speech check ([] when it passes)."""
    reasons = []
    if check["blocked"]:
        reasons.append(f"it blocks {check['blocked']} of {check['lines']} ordinary service lines")
    if check["share"] > SERVICE_MAX_FLAG_SHARE:
        reasons.append(
            f"it flags {check['flagged']} of {check['lines']} ordinary service lines "
            f"({check['share']} > {SERVICE_MAX_FLAG_SHARE})"
        )
    return reasons


def install(model: Any, path: Path, *, session: Any, before: Mapping[str, Any] | None, figures: Any) -> str:
    """Write the model file (atomically) and record the installation in the audit log; returns its SHA-256."""
    from assist.audit import cli_actor_name, record

    digest = str(model.save(path))
    after = {"path": str(path), "sha256": digest, "version": model.meta.get("version"), "validation": figures}
    record(
        session,
        actor=None,
        actor_name=cli_actor_name(),
        action="guard_model.install",
        target_type="guard_model",
        target_id=str(model.meta.get("version")),
        before=dict(before) if before else None,
        after=after,
    )
    session.commit()
    return digest
