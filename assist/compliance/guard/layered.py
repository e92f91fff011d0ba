"""The guard with its claim model attached: deterministic layers, the model's reading, and their combination.

``Guard.check`` calls :func:`check_with_model` when a :class:`~assist.compliance.guard.model.ClaimLayer` is
attached (``guard.attach_claim_layer``); the caller has already ruled out customers and empty texts, so a
customer's words never reach the model. If the model fails at run time, the deterministic layers' matches
stand (logged as an error): the guard never allows what its rules would have stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from assist.compliance.guard.combine import Suppressed, combine

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Guard, Match
    from assist.compliance.guard.rules import Rule

logger = logging.getLogger(__name__)


def deterministic_trace(guard: Guard, text: str) -> tuple[list[Match], list[Suppressed]]:
    """The deterministic layers' matches and what they judged away (negated, hedged, excepted, terms of art)."""
    return guard.trace(text)


#: Advice for the model's matches in categories the rule pack has no rule for (issue #16 added them).
FALLBACK_ADVICE = {
    "pressure": "Give the customer time to decide: no invented deadlines, scarcity or threats.",
    "social_proof": "Describe the product's features and risks; other people's purchases are no assurance.",
}


def advice_from_rules(rules: Iterable[Rule]) -> dict[str, str]:
    """Advice per category for the model's matches: the first rule's of that category that has advice."""
    out: dict[str, str] = dict(FALLBACK_ADVICE)
    for rule in rules:
        if rule.advice and (rule.category not in out or out[rule.category] == FALLBACK_ADVICE.get(rule.category)):
            out[rule.category] = rule.advice
    return out


def category_advice(guard: Guard) -> dict[str, str]:
    """Advice per category for the model's matches in ``guard`` (cached by the guard)."""
    return guard.category_advice


def check_with_model(guard: Guard, text: str, speaker: str = "agent") -> list[Match]:
    """The combined guard's matches for an agent's, a suggestion's or a document's text (a document's rule
    blocks are never vetoed: see :func:`~assist.compliance.guard.combine.combine`)."""
    matches, suppressed = guard.trace(text)
    layer = guard.claim_layer
    if layer is None:
        return matches
    try:
        reading = layer.run(text)
    except Exception:  # any failure of the model: the deterministic verdict stands, never a silent allow
        logger.exception("claim model failed on a text; the deterministic layers' verdict stands")
        return matches
    return combine(reading, text, matches, suppressed, advice=guard.category_advice, veto=speaker != "document")


def claim_layer_from_settings(settings: Any, *, warm: bool = True) -> tuple[Any, dict[str, Any] | None]:
    """The claim layer the settings ask for, loaded and checked now (at start-up), and its status.

    Returns:
        ``(layer, status)``: ``(None, None)`` when the model is switched off (``ASSIST_GUARD_MODEL=false``);
        ``(None, {"ready": False, "reason": ...})`` when the file is missing, corrupt or made for another
        encoder (logged as an error: the rules go on checking alone); else the layer and its info.
    """
    from assist.compliance.guard.encoding import pin_blas_threads
    from assist.compliance.guard.model import ClaimLayer
    from assist.errors import ClaimModelError

    if not settings.guard_model:
        return None, None
    path = settings.claim_model_path
    layer = ClaimLayer(path)
    try:
        layer.warm_up() if warm else layer.load()
    except ClaimModelError as exc:
        logger.error("claim model unavailable; the guard checks with its rules only", extra={"reason": str(exc)})
        return None, {"ready": False, "reason": f"claim model unavailable: {exc}", "path": str(path)}
    pin_blas_threads(1)
    info = layer.info()
    return layer, {"ready": True, "reason": None, "path": info["path"], "version": info.get("version")}
