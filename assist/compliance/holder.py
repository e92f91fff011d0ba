"""The guard in force, held for every part of the service that checks text (live turns, suggestions, uploads).

It is swapped atomically when compliance staff change the rules, and it fails closed: without a guard with
rules in force, `get()` raises instead of letting text through unchecked.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assist.errors import GuardUnavailableError
from assist.protocols import Guard

if TYPE_CHECKING:
    from assist.compliance.guard.model import ClaimLayer

logger = logging.getLogger(__name__)


class GuardHolder:
    """The guard in force. `swap()` replaces it atomically; every call turn fetches it afresh with `get()`.

    The compliance routes swap in a recompiled guard when rules change, so running calls use the new
    rules from their next turn without a restart.

    The holder fails closed: with no guard, or a guard with no rules in force, `get()` raises
    GuardUnavailableError (503) naming the reason, so nothing passes unchecked; `status()` says why for
    /readyz and /healthz.
    """

    def __init__(self, guard: Guard | None, *, reason: str | None = None) -> None:
        self._lock = threading.Lock()
        self._claims: ClaimLayer | None = None  # the claim model layer every guard in force runs (None: rules only)
        self._claims_status: dict[str, Any] | None = None  # None: no model configured
        self._guard: Guard | None = None
        self._reason: str | None = None
        self._rules = 0
        self._set(guard, reason)
        self.version = 1
        # the newest rule and disclosure row ids this guard was built from (assist.compliance.swap), if known
        self.rules_fingerprint: tuple[int, int] | None = None
        self.seed_path: Path | None = None  # the rule pack to seed an empty database from, when built from the database

    def _set(self, guard: Guard | None, reason: str | None) -> None:
        from assist.compliance.guard.engine import unavailable_reason

        problem = reason or unavailable_reason(guard)
        self._guard, self._reason = (None, problem) if problem else (guard, None)
        self._rules = len(guard.rules) if guard is not None else 0
        if self._claims_status is not None and self._guard is not None:
            self._guard.attach_claim_layer(self._claims)  # a rules change keeps the model in force

    def set_claim_layer(self, layer: ClaimLayer | None, *, status: dict[str, Any]) -> None:
        """Run ``layer`` (the claim model) with every guard put in force; ``None`` with a status naming the
        reason when the model could not be loaded (the rules go on checking alone: /healthz says degraded)."""
        with self._lock:
            self._claims, self._claims_status = layer, dict(status)
            if self._guard is not None:
                self._guard.attach_claim_layer(layer)

    @property
    def ready(self) -> bool:
        """True when a guard with rules is in force."""
        return self._guard is not None

    def get(self) -> Guard:
        """The current guard.

        Raises:
            GuardUnavailableError: No guard, or one without rules, is in force (the message says why).
        """
        guard = self._guard
        if guard is None:
            raise GuardUnavailableError(f"compliance check unavailable: {self._reason}")
        return guard

    def swap(self, new_guard: Guard) -> Guard | None:
        """Put `new_guard` in force; returns the previous one (None if there was none).

        A guard without rules is taken, but leaves the holder unavailable: `get()` raises until rules come.
        """
        if new_guard is None:
            raise ValueError("cannot swap in None as the guard")
        with self._lock:
            old = self._guard
            self._set(new_guard, None)
            self.version += 1
        logger.info("guard swapped", extra={"guard_version": self.version, "guard_ready": self.ready})
        return old

    def fail(self, reason: str) -> None:
        """Mark the guard unavailable (e.g. its rules could not be loaded at start): `get()` raises."""
        with self._lock:
            self._guard, self._reason, self._rules = None, reason, 0
        logger.error("compliance guard unavailable", extra={"reason": reason})

    def status(self) -> dict[str, Any]:
        """``{"ready", "rules", "reason", "model"}``: what /readyz and /healthz report about the guard.

        ``model`` is None when no claim model is configured, else ``{"ready", "reason", ...}``.
        """
        return {"ready": self.ready, "rules": self._rules, "reason": self._reason, "model": self._claims_status}
