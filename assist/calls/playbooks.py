"""Playbooks (kb_docs/playbooks/*.yaml): topics, document tags and guard categories → next steps.

A step is ticked when the agent's turns show it done: any `done_when` phrase, all `done_when_all`
phrases (across turns, e.g. 理财非存款、产品有风险、投资须谨慎), or all of its `disclosures` as reported by
the guard's `find_disclosures()`; never in a turn that says one of its `not_when` phrases (what the step is
not: a private placement's 24-hour cooling-off is no insurance cooling-off). Phrases are matched after
normalize(), so Simplified, Traditional and full-width forms all match; English phrases match on word boundaries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.calls.state import CallState
from assist.errors import InvalidInputError
from assist.models.calls import NextStep
from assist.text import normalize, tokenize

logger = logging.getLogger(__name__)


def _compile(phrases: Iterable[str]) -> list[tuple[str, re.Pattern[str] | None]]:
    out: list[tuple[str, re.Pattern[str] | None]] = []
    for p in phrases:
        norm = normalize(str(p)).strip()
        if not norm:
            continue
        if norm.isascii():
            body = re.escape(norm).replace(r"\ ", r"\s+")
            out.append((norm, re.compile(r"(?<![a-z0-9])" + body + r"(?![a-z0-9])")))
        else:
            out.append((norm, None))
    return out


def _hits(norm_text: str, compiled: list[tuple[str, re.Pattern[str] | None]]) -> list[str]:
    return [p for p, rx in compiled if (rx.search(norm_text) if rx else p in norm_text)]


def _labels(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value, "zh": value}
    if not isinstance(value, dict) or not value:
        raise InvalidInputError(f"{where}: expected a mapping of language → text, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


@dataclass
class StepSpec:
    """One next step: labels and reasons in zh/zh_hant/en, and how the agent's turns tick it."""

    id: str
    label: dict[str, str]
    reason: dict[str, str] = field(default_factory=dict)
    order: int = 100
    done_when: list[tuple[str, re.Pattern[str] | None]] = field(default_factory=list)
    done_when_all: list[tuple[str, re.Pattern[str] | None]] = field(default_factory=list)
    disclosures: list[str] = field(default_factory=list)
    not_when: list[tuple[str, re.Pattern[str] | None]] = field(default_factory=list)

    def text(self, which: str, language: str) -> str:
        """The label or reason in the call's language (zh_hant falls back to converted zh)."""
        table = self.label if which == "label" else self.reason
        if not table:
            return ""
        if language == "zh-Hant":
            if "zh_hant" in table:
                return table["zh_hant"]
            if "zh" in table:
                from assist.calls.compose import to_traditional

                return to_traditional(table["zh"])
        if language.startswith("zh") and "zh" in table:
            return table["zh"]
        return table.get("en") or next(iter(table.values()))


@dataclass
class TopicSpec:
    """A topic a customer may raise: its keywords (three scripts) and the steps it calls for."""

    id: str
    label: dict[str, str]
    keywords: list[tuple[str, re.Pattern[str] | None]]
    steps: list[str]


class Playbooks:
    """All playbooks of a directory, merged.

    Args:
        directory: the folder of *.yaml files (settings.playbooks_path). A missing folder gives empty
            playbooks (documents' own next steps still apply).
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.steps: dict[str, StepSpec] = {}
        self.topics: dict[str, TopicSpec] = {}
        self.tags: dict[str, list[str]] = {}
        self.categories: dict[str, list[str]] = {}
        self.synonyms: dict[str, frozenset[str]] = {}  # BM25 token → every token of its group
        if directory is not None and Path(directory).is_dir():
            for path in sorted(Path(directory).glob("*.y*ml")):
                self._load(path)
        elif directory is not None:
            logger.warning("playbooks folder not found", extra={"path": str(directory)})
        for topic in self.topics.values():
            for sid in topic.steps:
                if sid not in self.steps:
                    raise InvalidInputError(f"playbook topic {topic.id!r} names unknown step {sid!r}")

    def _load(self, path: Path) -> None:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"{path.name}: expected a mapping at the top level")
        for sid, spec in (data.get("steps") or {}).items():
            where = f"{path.name}: step {sid}"
            self.steps[str(sid)] = StepSpec(
                id=str(sid),
                label=_labels(spec.get("label", sid), where),
                reason=_labels(spec["reason"], where) if spec.get("reason") else {},
                order=int(spec.get("order", 100)),
                done_when=_compile(spec.get("done_when") or []),
                done_when_all=_compile(spec.get("done_when_all") or []),
                disclosures=[str(d) for d in spec.get("disclosures") or []],
                not_when=_compile(spec.get("not_when") or []),
            )
        for tid, spec in (data.get("topics") or {}).items():
            where = f"{path.name}: topic {tid}"
            if not spec.get("keywords"):
                raise InvalidInputError(f"{where}: needs keywords")
            self.topics[str(tid)] = TopicSpec(
                id=str(tid),
                label=_labels(spec.get("label", tid), where),
                keywords=_compile(spec["keywords"]),
                steps=[str(s) for s in spec.get("steps") or []],
            )
        for tag, steps in (data.get("tags") or {}).items():
            self.tags.setdefault(normalize(str(tag)), []).extend(str(s) for s in steps)
        for cat, steps in (data.get("categories") or {}).items():
            self.categories.setdefault(str(cat), []).extend(str(s) for s in steps)
        for i, group in enumerate(data.get("synonyms") or []):
            if not isinstance(group, list) or len(group) < 2:
                raise InvalidInputError(f"{path.name}: synonyms[{i}] must list at least two terms")
            tokens: set[str] = set()
            for term in group:
                found = tokenize(str(term))
                if len(found) != 1:
                    raise InvalidInputError(
                        f"{path.name}: synonym {term!r} is {len(found)} tokens; add it to kb_docs/userdict.txt"
                    )
                tokens.update(found)
            members = frozenset(tokens)
            for t in members:
                self.synonyms[t] = self.synonyms.get(t, frozenset()) | members

    def expand(self, tokens: frozenset[str]) -> frozenset[str]:
        """`tokens` with the synonyms of each (from the playbooks' `synonyms:` groups)."""
        if not self.synonyms:
            return tokens
        out = set(tokens)
        for t in tokens:
            out |= self.synonyms.get(t, frozenset())
        return frozenset(out)

    # -- reading turns --------------------------------------------------------------------------
    def topics_in(self, text: str) -> list[str]:
        """The topics whose keywords the text contains."""
        norm = normalize(text)
        return [t.id for t in self.topics.values() if _hits(norm, t.keywords)]

    def topic_terms(self, text: str) -> list[str]:
        """The (normalised) keywords of the topics the text names: evidence a passage is on topic."""
        norm = normalize(text)
        terms: list[str] = []
        for t in self.topics.values():
            if _hits(norm, t.keywords):
                terms += [k for k, _ in t.keywords if k not in terms]
        return terms

    def has_topic(self, text: str) -> bool:
        """True when the text names a topic of its own (used to spot elliptical turns)."""
        return bool(self.topics_in(text))

    def steps_for(
        self,
        *,
        topics: Iterable[str] = (),
        tags: Iterable[str] = (),
        categories: Iterable[str] = (),
    ) -> list[tuple[str, str]]:
        """(step id, why) for topics, document tags and guard categories."""
        out: list[tuple[str, str]] = []
        for t in topics:
            out += [(s, f"topic:{t}") for s in (self.topics[t].steps if t in self.topics else [])]
        for tag in tags:
            out += [(s, f"tag:{tag}") for s in self.tags.get(normalize(str(tag)), [])]
        for cat in categories:
            out += [(s, f"category:{cat}") for s in self.categories.get(cat, [])]
        return out

    # -- the checklist ------------------------------------------------------------------------
    def activate(self, state: CallState, steps: Iterable[tuple[str, str]]) -> None:
        """Add steps to the call's checklist (idempotent; remembers why each is there)."""
        for sid, via in steps:
            entry = state.steps.setdefault(sid, {"done": False, "via": []})
            if via not in entry["via"]:
                entry["via"].append(via)

    def tick(
        self, state: CallState, agent_text: str, *, disclosures: Iterable[str] = (), pins: bool = True
    ) -> list[str]:
        """Tick the steps the agent's turn shows done; returns the ids newly done.

        Args:
            disclosures: the guard's disclosure parts said so far and the disclosures complete.
            pins: match the `done_when` phrases here (False: the turn-understanding model holds them as pins,
                subject to its veto); `done_when_all` and disclosures are always matched here.
        """
        norm = normalize(agent_text)
        found = set(disclosures)
        newly: list[str] = []
        for spec in self.steps.values():
            entry = state.steps.get(spec.id)
            if (entry is not None and entry.get("done")) or _hits(norm, spec.not_when):
                continue  # done already, or the turn says what this step is not ("私人配售…24 小時冷靜期")
            done = pins and bool(_hits(norm, spec.done_when))
            parts_needed = [p for p, _ in spec.done_when_all] + [f"disclosure:{d}" for d in spec.disclosures]
            if parts_needed and not done:
                seen = set(state.parts_seen.get(spec.id, []))
                seen.update(_hits(norm, spec.done_when_all))
                seen.update(f"disclosure:{d}" for d in spec.disclosures if d in found)
                if seen:
                    state.parts_seen[spec.id] = sorted(seen)
                done = all(p in seen for p, _ in spec.done_when_all) if spec.done_when_all else False
                if spec.disclosures and all(f"disclosure:{d}" in seen for d in spec.disclosures):
                    done = True
            if done:
                self.mark_done(state, spec.id)
                newly.append(spec.id)
        return newly

    @staticmethod
    def mark_done(state: CallState, step_id: str, *, why: str | None = None) -> None:
        """Tick a step (added to the checklist, "via agent", when it was not on it), remembering the turn that
        completed it and, when the model ticked it, why (the nearest training example)."""
        entry = state.steps.setdefault(step_id, {"done": False, "via": ["agent"]})
        entry["done"] = True
        entry.setdefault("done_at_turn", state.turn_count)
        if why:
            entry["why"] = why

    def checklist(self, state: CallState) -> list[NextStep]:
        """The call's checklist in the call's language: pending and done steps, in playbook order."""
        language = state.language or "en"
        items: list[tuple[int, int, NextStep]] = []
        for pos, (sid, entry) in enumerate(state.steps.items()):
            spec = self.steps.get(sid)
            if spec is None:
                label, reason, order = sid.replace("_", " "), "", 100
            else:
                label, reason, order = spec.text("label", language), spec.text("reason", language), spec.order
            items.append((order, pos, NextStep(id=sid, label=label, reason=reason, done=bool(entry["done"]))))
        items.sort(key=lambda t: (t[0], t[1]))
        return [i[2] for i in items]
