"""What a suggestion adds to the call: its cited documents come into play, and their steps join the checklist.

A document brings the steps of its tags (playbooks) and the steps it declares itself (front matter
`next_steps:`); an FAQ's tags span every product, so they say nothing of the turn and are skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from assist.calls.playbooks import Playbooks
from assist.calls.state import CallState
from assist.protocols import SearchResult

logger = logging.getLogger(__name__)


def _multi_topic(result: SearchResult) -> bool:
    """A document that covers many products (an FAQ): its tags do not describe the passage."""
    tags = [t.lower() for t in result.tags or []]
    return "faq" in tags or len(tags) > 6


class DocumentSteps:
    """The next steps each document declares (front matter `next_steps:`), cached in an LRU.

    Args:
        next_steps_for: a document's declared next-step ids (KnowledgeBase.next_steps_for); None: no steps.
        max_documents: how many documents' steps stay in memory.
    """

    def __init__(self, next_steps_for: Callable[[str], list[str]] | None, *, max_documents: int = 5000) -> None:
        if max_documents < 1:
            raise ValueError(f"max_documents must be positive, got {max_documents}")
        self.next_steps_for = next_steps_for
        self.max_documents = max_documents
        self._steps: OrderedDict[str, list[str]] = OrderedDict()
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._steps)

    def of(self, document_id: str) -> list[str]:
        """The document's next-step ids ([] when unknown, or when the lookup fails: steps are an extra)."""
        if self.next_steps_for is None:
            return []
        steps = self._steps.get(document_id)
        if steps is None:
            try:
                steps = list(self.next_steps_for(document_id))
            except Exception:  # noqa: BLE001 - next steps are an extra; never fail a turn for them
                logger.exception("next_steps_for failed", extra={"document_id": document_id})
                return []
            with self._guard:
                self._steps[document_id] = steps
                while len(self._steps) > self.max_documents:
                    self._steps.popitem(last=False)
        return steps


@dataclass(frozen=True)
class StepsAdded:
    """The (step id, why) pairs a suggestion's citations put on the checklist (already there or not)."""

    steps: list[tuple[str, str]] = field(default_factory=list)


class NextStepsStage:
    """Notes a suggestion's cited passages on the call: documents in play and cited, and their steps.

    Args:
        playbooks: the steps of document tags, and the checklist.
        steps: the documents' declared steps.
    """

    def __init__(self, *, playbooks: Playbooks, steps: DocumentSteps) -> None:
        if playbooks is None or steps is None:
            raise ValueError(f"NextStepsStage needs playbooks and document steps, got {playbooks!r}, {steps!r}")
        self.playbooks = playbooks
        self.steps = steps

    def run(self, *, state: CallState, results: list[SearchResult]) -> StepsAdded:
        """Note `results` (the passages an answer cites, best first) on `state`."""
        for r in reversed(results):  # the top citation ends up most recent
            state.put_in_play(r.document_id)
        added: list[tuple[str, str]] = []
        for r in results:
            state.documents_cited.setdefault(
                r.document_id, {"document_id": r.document_id, "title": r.title, "version": r.version}
            )
            if not _multi_topic(r):  # an FAQ's tags span every product: they say nothing of this turn
                by_tags = self.playbooks.steps_for(tags=r.tags)
                self.playbooks.activate(state, by_tags)
                added += by_tags
            declared = [(s, f"document:{r.document_id}") for s in self.steps.of(r.document_id)]
            self.playbooks.activate(state, declared)
            added += declared
        return StepsAdded(added)
