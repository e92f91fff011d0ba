"""Which ticket template a call needs: by meaning first, with the keyword rules as evidence.

Each template carries examples of what a customer says when it is the one to fill, and the template folder
has examples of calls that need none (enquiries, sales, advice). Every customer turn that carries a need
(the turn model's need head) is compared with each group of examples through the e5 vector the live engine
already computed for it; a template's closeness is that of its closest turn, each later need turn giving up
a little (`PRIMACY`: callers say first why they call). The keyword rules (playbook topics, checklist steps,
cited document tags, customer phrases: `TicketTemplate.evidence`) add a small bonus, larger for stronger
evidence (all of several topics > a topic or phrase > a step or a cited tag). The closest template is
offered when it beats the no-ticket examples by a clear margin, or when the rules call for it and either the
no-ticket examples are not closer or the evidence is the strongest (the agent naming the kind of ticket, all of
several topics); otherwise no template is offered.

Without vectors (no turn model) the rules decide alone: the highest priority among the templates they call
for, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from assist.aftercall.lru import Recent
from assist.aftercall.meaning import CallMeaning, ExampleGroups
from assist.aftercall.templates import TemplateSet, TicketTemplate

logger = logging.getLogger(__name__)

NO_TICKET = "_no_ticket"
EVIDENCE_BONUS = 0.01  # per degree of the rules' evidence (TicketTemplate.evidence: 1-3); e5 cosines spread little
MIN_MARGIN = 0.03  # without the rules' evidence, the margin over the no-ticket examples needed
STRONG_EVIDENCE = 3  # all of several topics, or the agent naming the kind of ticket: offered whatever the meaning
MIN_NEED = 0.5  # a customer turn counts when the need head gives it at least this
PRIMACY = 0.01  # what each later need turn gives up: a caller says first why they call, follow-ups drift
MAX_KEPT = 256  # choices kept by their inputs (a draft per turn of the calls going on, then the scoring)


@dataclass(frozen=True)
class TemplateChoice:
    """The template chosen (None: no ticket), the closeness of each group, and the turns it rests on."""

    template: TicketTemplate | None
    scores: dict[str, float] = field(default_factory=dict)
    evidence: frozenset[str] = frozenset()
    turns: tuple[int, ...] = ()
    by: str = "rules"  # "meaning" or "rules"


class TemplateChooser:
    """Choose a call's template from its customer turns.

    Args:
        templates: the templates (with their examples and the no-ticket examples).
        meaning: the call's vectors and the turn model, or None (rules only).
        topics_in: the playbook topics whose keywords a text holds (keyword evidence besides the call's
            topics, which the turn model sets one need at a time).
    """

    def __init__(
        self,
        templates: TemplateSet,
        meaning: CallMeaning | None = None,
        topics_in: Callable[[str], list[str]] = lambda _t: [],
    ) -> None:
        self.templates = templates
        self.meaning = meaning
        self.topics_in = topics_in
        self._groups: ExampleGroups | None = None
        self._lock = threading.Lock()
        # the last choices, by their inputs: the panel asks for the draft after every turn, so when the call
        # ends and is scored, the choice on the same turns was made already (bounded: oldest go first)
        self._made: Recent[tuple[object, ...], TemplateChoice] = Recent(MAX_KEPT)

    def groups(self) -> ExampleGroups | None:
        """The example groups (embedded on first use), or None without vectors or examples."""
        if self.meaning is None:
            return None
        with self._lock:
            if self._groups is None:
                named = {t.id: t.examples for t in self.templates.templates.values() if t.examples}
                if self.templates.no_ticket:
                    named[NO_TICKET] = self.templates.no_ticket
                self._groups = ExampleGroups(named, self.meaning.vectors)
        return self._groups if self._groups.groups else None

    def by_rules(self, evidence: set[str]) -> TicketTemplate | None:
        """The highest priority (then id) among the templates the rules call for."""
        ranked = sorted(
            (t for t in self.templates.templates.values() if t.id in evidence), key=lambda t: (-t.priority, t.id)
        )
        return ranked[0] if ranked else None

    def choose(
        self,
        *,
        topics: set[str],
        steps: set[str],
        tags: set[str],
        customer: list[tuple[int, str]],
        agent: list[tuple[int, str]] | None = None,
    ) -> TemplateChoice:
        """The template the call needs, from its topics, checklist steps, cited tags, customer turns and the
        agent's turns (an agent naming the kind of ticket they register); the same inputs give the choice
        made before."""
        key = (frozenset(topics), frozenset(steps), frozenset(tags), tuple(customer), tuple(agent or ()))
        made = self._made.get(key)
        if made is None:
            made = self._choose(topics=topics, steps=steps, tags=tags, customer=customer, agent=agent)
            self._made.put(key, made)
        return made

    def _choose(
        self,
        *,
        topics: set[str],
        steps: set[str],
        tags: set[str],
        customer: list[tuple[int, str]],
        agent: list[tuple[int, str]] | None,
    ) -> TemplateChoice:
        said = " ".join(text for _, text in customer)
        by_agent = " ".join(text for _, text in agent or [])
        topics = topics | set(self.topics_in(said))
        strength = {
            t.id: t.evidence(topics=topics, steps=steps, tags=tags, customer_text=said, agent_text=by_agent)
            for t in self.templates.templates.values()
        }
        evidence = {tid for tid, n in strength.items() if n}
        groups = self.groups()
        if groups is None or self.meaning is None:
            return TemplateChoice(self.by_rules(evidence), evidence=frozenset(evidence))
        best: dict[str, tuple[float, int]] = {}
        needs = 0
        for number, text in customer:
            vec = self.meaning.customer_vector(text)
            if vec is None or self.meaning.need(vec, text) < MIN_NEED:
                continue
            for name, score in groups.scores(vec).items():
                score -= PRIMACY * needs
                if name not in best or score > best[name][0]:
                    best[name] = (score, number)
            needs += 1
        if not best:
            return TemplateChoice(self.by_rules(evidence), evidence=frozenset(evidence))
        scores = {name: s + EVIDENCE_BONUS * strength.get(name, 0) for name, (s, _) in best.items()}
        none = scores.pop(NO_TICKET, float("-inf"))
        if not scores:
            return TemplateChoice(self.by_rules(evidence), evidence=frozenset(evidence))
        priority = {t.id: t.priority for t in self.templates.templates.values()}
        top = max(scores, key=lambda n: (scores[n], priority.get(n, 0)))
        # the rules offer it unless the no-ticket examples are closer (an enquiry about a lost card, a sale that
        # cited a fraud page) and the rules' evidence falls short of the agent naming the ticket (strength 3)
        ruled = top in evidence and (strength.get(top, 0) >= STRONG_EVIDENCE or scores[top] >= none)
        offered = ruled or scores[top] - none >= MIN_MARGIN
        template = self.templates.get(top) if offered else None
        rounded = {k: round(v, 4) for k, v in scores.items()} | {NO_TICKET: round(none, 4)}
        turns = (best[top][1],) if template is not None else ()
        return TemplateChoice(template, rounded, frozenset(evidence), turns, "meaning")
