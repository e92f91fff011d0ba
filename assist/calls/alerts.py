"""The guard on a call's turns: an agent's words checked, the alert and guard event of a verdict, and what a
turn gets while the guard is unavailable (a warning that says so, never silence).

Every text that goes into an event or an alert is redacted first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assist.calls.metrics import elapsed_ms
from assist.calls.state import CallState
from assist.compliance.guard.engine import Match, Verdict
from assist.models.calls import ComplianceAlert
from assist.models.guard import GuardEvent

logger = logging.getLogger(__name__)

ALERT_ACTIONS = ("block", "warn")


class CallGuard(Protocol):
    """What a live call needs of the guard in force (assist.compliance.guard.engine.Guard)."""

    def check(self, text: str, speaker: str = "agent") -> Verdict:
        """The verdict on `text`, said by `speaker` (agent, customer or suggestion)."""
        ...

    def find_disclosures(self, text: str) -> list[str]:
        """The disclosure parts (qualified ids) said in `text`."""
        ...

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        """The disclosures whose every part is among `said`."""
        ...


def _match_dict(m: Match | dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    """A guard match as stored and shown (its text redacted)."""
    d = dict(m) if isinstance(m, dict) else m.to_dict()
    if isinstance(d.get("text"), str):
        d["text"] = redact(d["text"])
    return d


def unchecked(reason: str | None, speaker: str) -> Verdict:
    """What a turn gets while the guard is unavailable: a warn with no match, saying why, never silence.

    "warn", not "block": nothing was found to be wrong, but nothing was checked either. An agent's words are
    already said, so the agent is told to stay clear of claims; the product's own suggestions are withheld
    (not shown with a flag), because their text reaches the customer through the agent and no check ran.
    """
    what = (
        "suggestions are withheld until it is back"
        if speaker == "suggestion"
        else "this turn was not checked: make no promise of returns, safety or deposit protection"
    )
    return Verdict("warn", (), f"{reason or 'compliance check unavailable'}; {what}", speaker)


def withheld_alert(state: CallState, *, turn: int, reason: str | None) -> ComplianceAlert:
    """The alert shown instead of a suggestion while the guard is unavailable."""
    verdict = unchecked(reason, "suggestion")
    return ComplianceAlert(
        call_id=state.call_id, turn=turn, speaker="suggestion", action=verdict.action, advice=verdict.advice
    )


def alert_for(
    state: CallState, *, turn: int, speaker: str, clean: str, verdict: Verdict, redact: Callable[[str], str]
) -> tuple[ComplianceAlert, GuardEvent]:
    """The alert shown for a verdict and the guard event that goes to the review queue.

    Args:
        state: the call (its id, agent and recent turns, stored as the event's context).
        turn: the turn number.
        speaker: agent, customer or suggestion.
        clean: the redacted text that was checked.
        verdict: the guard's verdict.
        redact: the redaction function (for the matched texts).
    """
    matches = [_match_dict(m, redact) for m in verdict.matches]
    rule_ids = list(dict.fromkeys(str(m.get("rule_id")) for m in matches if m.get("rule_id")))
    categories = list(dict.fromkeys(str(m.get("category")) for m in matches if m.get("category")))
    versions = {str(m["rule_id"]): int(m["version"]) for m in matches if m.get("rule_id") and m.get("version")}
    advice = str(verdict.advice or "")
    event = GuardEvent(
        kind="utterance" if speaker != "suggestion" else "suggestion",
        call_id=state.call_id,
        turn=turn,
        speaker=speaker,
        agent_name=state.agent_name,
        action=str(verdict.action),
        rule_ids=rule_ids,
        categories=categories,
        rule_versions=versions,
        text=clean,
        matches=matches,
        context=list(state.recent_turns),
    )
    alert = ComplianceAlert(
        call_id=state.call_id,
        turn=turn,
        speaker=speaker,
        action=str(verdict.action),
        matches=matches,
        advice=advice,
    )
    logger.info(
        "compliance alert",
        extra={"call_id": state.call_id, "turn": turn, "action": alert.action, "rules": rule_ids},
    )
    return alert, event


@dataclass(frozen=True)
class AgentCheck:
    """What the guard made of an agent's turn.

    Attributes:
        alert: the alert to show (a block or a warn; also the warn of an unchecked turn), or None.
        event: the guard event of that alert, for the review queue (kind "unchecked" when no guard ran).
        disclosures: the disclosure parts said so far in the call and the disclosures complete.
        timings: milliseconds: `guard`.
        said: the disclosure parts (and whole disclosures) said in this very turn.
    """

    alert: ComplianceAlert | None = None
    event: GuardEvent | None = None
    disclosures: set[str] = field(default_factory=set)
    timings: dict[str, float] = field(default_factory=dict)
    said: set[str] = field(default_factory=set)


class AgentTurnCheck:
    """Checks an agent's turn with the guard in force, or warns that it could not.

    Args:
        redact: the redaction function (for matched texts).
    """

    def __init__(self, *, redact: Callable[[str], str]) -> None:
        if not callable(redact):
            raise ValueError(f"redact must be a function, got {redact!r}")
        self.redact = redact

    def run(
        self, *, guard: CallGuard | None, unavailable: str | None, state: CallState, turn: int, raw: str, clean: str
    ) -> AgentCheck:
        """Check `raw` (what the agent said) and note the disclosure parts said in it.

        Args:
            guard: the guard in force, or None when it is unavailable.
            unavailable: why there is no guard (shown in the warning).
            state: the call; its disclosure parts seen are updated.
            turn: the turn number.
            raw: the agent's words as said (the guard sees them unredacted).
            clean: the same, redacted (what is stored).
        """
        t = time.perf_counter()
        verdict = guard.check(raw, speaker="agent") if guard is not None else unchecked(unavailable, "agent")
        timings = {"guard": elapsed_ms(t)}
        alert: ComplianceAlert | None = None
        event: GuardEvent | None = None
        if verdict.action in ALERT_ACTIONS:
            alert, event = alert_for(
                state, turn=turn, speaker="agent", clean=clean, verdict=verdict, redact=self.redact
            )
            if guard is None:  # in the review queue as a turn nobody checked, not as a rule's match
                event.kind = "unchecked"
        said = set(guard.find_disclosures(raw)) if guard is not None else set()
        return AgentCheck(alert, event, self._disclosures_said(state, guard, said), timings, said)

    @staticmethod
    def _disclosures_said(state: CallState, guard: CallGuard | None, said: set[str]) -> set[str]:
        """Disclosure parts said so far in the call (the guard's qualified ids) and the disclosures complete."""
        if guard is None:
            return set()
        seen = state.parts_seen.setdefault("_disclosure_parts", [])
        for part in sorted(said):
            if part not in seen:
                seen.append(part)
        return set(seen) | set(guard.completed_disclosures(seen))
