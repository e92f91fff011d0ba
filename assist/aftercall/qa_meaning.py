"""QA criteria read by meaning: an agent turn compared with a criterion's example groups (rubric YAML,
written from the rubric's point of view) through the vector the live engine computed for the turn, and the
turn model's step heads (e.g. `verify_identity` done).

A turn belongs to the group it is closest to, when it is at least the criterion's `min_similarity` close and
beats the runner-up group by `min_margin`;
groups that say what the act is *not* (asking for ID is not verifying) keep the others honest. Without
vectors (no turn model) nothing is read here and the phrase rules decide alone.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from assist.aftercall.lru import Recent
from assist.aftercall.meaning import CallMeaning, ExampleGroups, closest

logger = logging.getLogger(__name__)


class HasExamples(Protocol):
    """What a judged criterion gives: its id, example groups and similarity floor."""

    id: str
    examples: dict[str, list[str]]
    min_similarity: float
    min_margin: float


class TurnJudge:
    """Reads agent turns against criteria's examples (one set of embedded examples per criterion, kept).

    What a turn's text reads as does not change, so the steps the turn model reads in it are kept per text
    (bounded): a call scored again (a ticket submitted after the end) does not run the heads again.

    Args:
        meaning: the call's vectors and the turn model.
        max_texts: agent turns whose steps are kept (the least recently used go first).
    """

    def __init__(self, meaning: CallMeaning, *, max_texts: int = 4096) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be positive, got {max_texts}")
        self.meaning = meaning
        self._groups: dict[str, ExampleGroups] = {}
        self._steps: Recent[str, list[str]] = Recent(max_texts)
        self._lock = threading.Lock()

    @property
    def max_texts(self) -> int:
        """Agent turns whose steps are kept."""
        return self._steps.max_items

    @max_texts.setter
    def max_texts(self, value: int) -> None:
        self._steps.max_items = value

    def _of(self, criterion: HasExamples) -> ExampleGroups:
        with self._lock:
            found = self._groups.get(criterion.id)
            if found is None:
                found = ExampleGroups(criterion.examples, self.meaning.vectors)
                self._groups[criterion.id] = found
            return found

    def warm_up(self, criterion: HasExamples) -> None:
        """Embed the criterion's examples now."""
        self._of(criterion).warm_up()

    def group(self, criterion: HasExamples, text: str) -> str | None:
        """The example group the agent turn is closest to (None: none is close enough, or no examples)."""
        if not criterion.examples:
            return None
        vec = self.meaning.agent_vector(text)
        if vec is None:
            return None
        best = closest(self._of(criterion).scores(vec))
        close = best.score >= criterion.min_similarity and best.margin >= criterion.min_margin
        return best.group if close else None

    def nearest(self, criterion: HasExamples, text: str) -> str | None:
        """The example group the agent turn is nearest to, however close (None: no examples or vector)."""
        if not criterion.examples:
            return None
        vec = self.meaning.agent_vector(text)
        return None if vec is None else closest(self._of(criterion).scores(vec)).group

    def steps_done(self, text: str) -> list[str]:
        """The steps the turn model reads as done in the agent turn (kept per text)."""
        found = self._steps.get(text)
        if found is not None:
            return list(found)
        vec = self.meaning.agent_vector(text)
        if vec is None:
            return []
        steps = self.meaning.steps_done(vec, text)
        self._steps.put(text, list(steps))
        return steps
