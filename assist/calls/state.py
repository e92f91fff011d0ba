"""The state of one live call, as kept in memory and persisted in `Call.state` (JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Fields kept in their own columns of Call, not in its state JSON.
_NOT_STORED = frozenset({"owner_key_id"})


@dataclass
class CallState:
    """Everything the engine needs between turns. Persisted after every turn, so a call survives a restart.

    Attributes:
        recent_customer: the last customer turns (redacted), newest last.
        last_need: the last customer turn that carried a need of its own (redacted); the anchor of
            elliptical turns.
        recent_turns: the last turns of both speakers ({"turn", "speaker", "text"}, redacted): the
            context stored with a guard event.
        docs_in_play: ids of the documents cited so far, most recent last.
        last_top_chunk: the chunk id of the last suggestion's top passage (never shown twice in a row).
        steps: the checklist, in order: step id → {"done": bool, "via": [...]} (why it is there); a ticked
            step also holds "done_at_turn" and, when the turn model ticked it, "why" (its nearest example).
        parts_seen: for steps ticked by several phrases (e.g. a disclosure in three parts): the parts read.
        topic: the call's topic as the turn-understanding model reads it (persists across elliptical turns).
        region: the caller's region as the call has shown it (HK, TW; None: no cue, served as mainland).
        owner_key_id: the key that started the call; loaded from `Call.agent_key_id` (never from the JSON).
    """

    call_id: str
    status: str = "active"
    agent_name: str | None = None
    owner_key_id: str | None = None  # the key that started the call (Call.agent_key_id, which is authoritative)
    turn_count: int = 0
    language: str | None = None
    recent_customer: list[str] = field(default_factory=list)
    last_need: str | None = None
    recent_turns: list[dict[str, Any]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    topic: str | None = None
    docs_in_play: list[str] = field(default_factory=list)
    documents_cited: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_top_chunk: str | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts_seen: dict[str, list[str]] = field(default_factory=dict)
    suggestion_count: int = 0
    region: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON stored in Call.state. Shallow: it is serialised in the same write, before the next turn
        can change the lists it shares (dataclasses.asdict deep-copied the whole state every turn)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name not in _NOT_STORED}

    @classmethod
    def from_json(cls, call_id: str, data: dict[str, Any] | None) -> CallState:
        """Rebuild from Call.state; unknown keys (from newer versions) are ignored."""
        data = dict(data or {})
        data["call_id"] = call_id
        known = set(cls.__dataclass_fields__) - _NOT_STORED
        return cls(**{k: v for k, v in data.items() if k in known})

    def remember_customer(self, text: str, *, keep: int) -> None:
        """Append a customer turn to the recent context."""
        self.recent_customer.append(text)
        del self.recent_customer[:-keep]

    def remember_turn(self, turn: int, speaker: str, text: str, *, keep: int = 6) -> None:
        """Append a turn to the context kept for guard events."""
        self.recent_turns.append({"turn": turn, "speaker": speaker, "text": text})
        del self.recent_turns[:-keep]

    def put_in_play(self, document_id: str, *, keep: int = 5) -> None:
        """Mark a document as in play (most recent last)."""
        if document_id in self.docs_in_play:
            self.docs_in_play.remove(document_id)
        self.docs_in_play.append(document_id)
        del self.docs_in_play[:-keep]
