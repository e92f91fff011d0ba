"""One final turn on its way through the engine's stages: what came in, what goes out, and its result."""

from __future__ import annotations

from dataclasses import dataclass, field

from assist.calls.asr import written_form
from assist.calls.metrics import elapsed_ms
from assist.calls.state import CallState
from assist.calls.store import message_of
from assist.errors import InvalidInputError
from assist.models.calls import ComplianceAlert, NextStep, Suggestion, TurnResult
from assist.models.guard import GuardEvent

SPEAKERS = ("customer", "agent")


def validate_turn(*, speaker: str, text: str, max_chars: int) -> str:
    """The stripped text, or InvalidInputError with the reason."""
    if speaker not in SPEAKERS:
        raise InvalidInputError(f"speaker must be 'customer' or 'agent', got {speaker!r}")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("text must not be empty")
    if len(text) > max_chars:
        raise InvalidInputError(f"text is {len(text)} characters, over the limit of {max_chars}")
    return text.strip()


@dataclass
class Turn:
    """One final turn on its way through the stages: what came in, and what goes out."""

    state: CallState
    number: int
    speaker: str
    raw: str  # as said (the guard sees it unredacted)
    clean: str  # redacted (what is stored)
    t0: float  # when it arrived (perf_counter)
    before: list[NextStep]  # the checklist before the turn
    alerts: list[ComplianceAlert] = field(default_factory=list)
    events: list[GuardEvent] = field(default_factory=list)
    suggestion: Suggestion | None = None
    timings: dict[str, float] = field(default_factory=dict)
    store_s: float = 0.0  # seconds in the store so far (the turn's number), for the stage histogram

    @property
    def heard(self) -> str:
        """The redacted turn as the reading stages take it: a word-segmented ASR turn joined back (the transcript
        keeps what was said)."""
        return written_form(self.clean)

    def result(self, checklist: list[NextStep]) -> TurnResult:
        """The turn's result: its alerts linked to their stored guard events, the suggestion as sent on the
        socket, and whether the checklist changed."""
        for a, e in zip(self.alerts, [e for e in self.events if e.kind in ("utterance", "unchecked")], strict=False):
            a.event_id = e.id
        message = None
        if self.suggestion is not None:
            self.suggestion.timings = self.timings
            message = message_of(self.suggestion, checklist)
            message.latency_ms = elapsed_ms(self.t0)
        return TurnResult(
            call_id=self.state.call_id,
            turn=self.number,
            suggestion=message,
            alerts=self.alerts,
            next_steps=checklist,
            checklist_changed=[s.model_dump() for s in self.before] != [s.model_dump() for s in checklist],
        )
