"""One Aho-Corasick automaton for every phrase (triggers, exceptions, disclosures, scope words) plus one
combined regex for trigger regexes and one for exception regexes. One pass each over the normalised text;
no loop over rules.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from assist.guard.clauses import lexicon
from assist.guard.normalize import normalize_phrase
from assist.guard.rules import Disclosure, Rule

logger = logging.getLogger(__name__)

# entry kinds stored in the automaton
TRIGGER, EXCEPTION, DISCLOSURE, SCOPE = 0, 1, 2, 3


_HAN_RX = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RX = re.compile(r"[a-z]")


_Combined = tuple[re.Pattern[str] | None, dict[str, int], tuple[tuple[str, re.Pattern[str]], ...]]


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


@dataclass
class Hits:
    """Everything one pass found, in normalised coordinates."""

    triggers: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, rule index)
    exceptions: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, rule index)
    disclosures: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, part index)
    scope: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, effect)


class Matcher:
    """Compiled phrases and regexes of a rule pack.

    Args:
        rules: Enabled rules; the index of a rule in this list is what hits refer to.
        disclosures: Required disclosures; parts are numbered in order over all disclosures.
        extra_scope: Additional scope words (normalised) → effect, merged into the built-in lexicon.
    """

    def __init__(
        self, rules: list[Rule], disclosures: list[Disclosure], extra_scope: dict[str, int] | None = None
    ) -> None:
        import ahocorasick

        self.rules = rules
        self.parts: list[tuple[str, str]] = []  # (disclosure id, part id)
        entries: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for idx, rule in enumerate(rules):
            for p in rule.phrases:
                entries[normalize_phrase(p)].append((TRIGGER, idx))
            for p in rule.exceptions:
                entries[normalize_phrase(p)].append((EXCEPTION, idx))
        for d in disclosures:
            for part in d.parts:
                pidx = len(self.parts)
                self.parts.append((d.id, part.id))
                for p in part.phrases:
                    entries[normalize_phrase(p)].append((DISCLOSURE, pidx))
        scope = lexicon()
        if extra_scope:
            scope.update(extra_scope)
        for word, effect in scope.items():
            entries[word].append((SCOPE, effect))
        automaton = ahocorasick.Automaton()
        for key, vals in entries.items():
            if not key:
                continue
            left = _ascii_alnum(key[0])
            right = _ascii_alnum(key[-1])
            automaton.add_word(key, (len(key), left, right, tuple(dict.fromkeys(vals))))
        automaton.make_automaton()
        self._automaton = automaton
        self.n_phrases = len(entries)
        trig = [(idx, rx) for idx, r in enumerate(rules) for rx in r.regexes]
        exc = [(idx, rx) for idx, r in enumerate(rules) for rx in r.exception_regexes]
        # Regexes are grouped by script, so Chinese patterns never run over an English utterance and back.
        self._trigger_han = self._combine([x for x in trig if _HAN_RX.search(x[1])])
        self._trigger_latin = self._combine([x for x in trig if not _HAN_RX.search(x[1])])
        self._exception_han = self._combine([x for x in exc if _HAN_RX.search(x[1])])
        self._exception_latin = self._combine([x for x in exc if not _HAN_RX.search(x[1])])
        self.n_regexes = (len(trig), len(exc))

    @staticmethod
    def _combine(items: list[tuple[int, str]]) -> _Combined:
        """One alternation with a named group per regex, plus each regex alone (see :meth:`_regex`)."""
        if not items:
            return None, {}, ()
        groups: dict[str, int] = {}
        alts = []
        for j, (idx, rx) in enumerate(items):
            name = f"g{j}"
            groups[name] = idx
            alts.append(f"(?P<{name}>{rx})")
        singles = tuple((name, re.compile(rx)) for name, (_, rx) in zip(groups, items, strict=True))
        return re.compile("|".join(alts)), groups, singles

    def scan(self, s: str, *, with_scope: bool = True) -> Hits:
        """Find every phrase, regex and scope word in normalised text ``s``."""
        hits = Hits()
        n = len(s)
        for end_idx, (length, left, right, vals) in self._automaton.iter(s):
            start = end_idx - length + 1
            end = end_idx + 1
            if left and start > 0 and _ascii_alnum(s[start - 1]):
                continue
            if right and end < n and _ascii_alnum(s[end]):
                continue
            for kind, ref in vals:
                if kind == TRIGGER:
                    hits.triggers.append((start, end, ref))
                elif kind == SCOPE:
                    if with_scope:
                        hits.scope.append((start, end, ref))
                elif kind == EXCEPTION:
                    hits.exceptions.append((start, end, ref))
                else:
                    hits.disclosures.append((start, end, ref))
        has_han = _HAN_RX.search(s) is not None
        has_latin = _LATIN_RX.search(s) is not None
        if has_han:
            self._regex(*self._trigger_han, s, hits.triggers)
            self._regex(*self._exception_han, s, hits.exceptions)
        if has_latin:
            self._regex(*self._trigger_latin, s, hits.triggers)
            self._regex(*self._exception_latin, s, hits.exceptions)
        return hits

    @staticmethod
    def _regex(
        rx: re.Pattern[str] | None,
        groups: dict[str, int],
        singles: tuple[tuple[str, re.Pattern[str]], ...],
        s: str,
        out: list[tuple[int, int, int]],
    ) -> None:
        """All matches of the combined pattern, overlapping ones included.

        After a match at ``a`` the search resumes at ``a + 1`` (a plain alternation is several times faster
        than a lookahead wrapper). An alternation reports only its first matching branch at a position, so
        at each position where something matched, the other regexes are tried there too (``match`` at one
        position: cheap, and only where a claim already is).
        """
        if rx is None:
            return
        last: dict[int, int] = {}
        pos = 0
        n = len(s)
        search = rx.search

        def record(idx: int, a: int, b: int) -> None:
            if b <= a or last.get(idx, -1) >= b:
                return  # empty, or the same match seen again from a later start
            last[idx] = b
            out.append((a, b, idx))

        while pos < n:
            m = search(s, pos)
            if m is None:
                break
            a, b = m.span()
            pos = a + 1
            name = m.lastgroup
            if name is None:
                continue
            record(groups[name], a, b)
            if len(singles) > 1:
                for other, single in singles:
                    if other != name:
                        m2 = single.match(s, a)
                        if m2 is not None:
                            record(groups[other], a, m2.end())

    def stats(self) -> dict[str, Any]:
        """Sizes, for logs and benchmarks."""
        return {
            "phrases": self.n_phrases,
            "trigger_regexes": self.n_regexes[0],
            "exception_regexes": self.n_regexes[1],
        }
