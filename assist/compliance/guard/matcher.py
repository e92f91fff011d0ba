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

from assist.compliance.guard.clauses import lexicon
from assist.compliance.guard.normalize import normalize_phrase
from assist.compliance.guard.regex import compile_for_search, compile_set
from assist.compliance.guard.rules import Disclosure, Rule

logger = logging.getLogger(__name__)

# entry kinds stored in the automaton
TRIGGER, EXCEPTION, DISCLOSURE, SCOPE = 0, 1, 2, 3


_HAN_RX = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RX = re.compile(r"[a-z]")


# (the alternation of a script's regexes or None, the same regexes as an RE2 set, (rule index, regex alone) pairs)
_Combined = tuple[Any, Any, tuple[tuple[int, Any], ...]]
# Matches taken from one text per regex: bounds the work on a long document whatever the pattern.
MAX_MATCHES_PER_REGEX = 200


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


class _Utf8:
    """A text encoded once for RE2, with byte offsets turned back into character offsets."""

    __slots__ = ("_starts", "data")

    def __init__(self, s: str) -> None:
        self.data = s.encode("utf-8")
        self._starts: Any = None
        if len(self.data) != len(s):  # not ASCII: index the bytes that start a character
            import numpy as np

            raw = np.frombuffer(self.data, dtype=np.uint8)
            starts = (raw & 0xC0) != 0x80
            self._starts = (starts, np.concatenate(([0], np.cumsum(starts))))

    def char(self, byte_offset: int) -> int:
        """The character offset of a byte offset on a character boundary."""
        return byte_offset if self._starts is None else int(self._starts[1][byte_offset])

    def next_char(self, byte_offset: int) -> int:
        """The byte offset of the character after the one starting at ``byte_offset``."""
        nxt = byte_offset + 1
        if self._starts is not None:
            starts = self._starts[0]
            while nxt < len(starts) and not starts[nxt]:
                nxt += 1
        return nxt


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
        """The alternation of all regexes (a one-pass test: does any match?), and each regex alone.

        Rule regexes run on RE2, in linear time whatever the pattern (assist/compliance/guard/regex.py says why).
        """
        if not items:
            return None, None, ()
        combined = compile_for_search("|".join(f"(?:{rx})" for _, rx in items))
        return combined, compile_set([rx for _, rx in items]), tuple((idx, compile_for_search(rx)) for idx, rx in items)

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
        if (has_han and (self._trigger_han[0] or self._exception_han[0])) or (
            has_latin and (self._trigger_latin[0] or self._exception_latin[0])
        ):
            text = _Utf8(s)
            if has_han:
                self._regex(*self._trigger_han, text, hits.triggers)
                self._regex(*self._exception_han, text, hits.exceptions)
            if has_latin:
                self._regex(*self._trigger_latin, text, hits.triggers)
                self._regex(*self._exception_latin, text, hits.exceptions)
        return hits

    @staticmethod
    def _regex(
        combined: Any,
        regex_set: Any,
        singles: tuple[tuple[int, Any], ...],
        text: _Utf8,
        out: list[tuple[int, int, int]],
    ) -> None:
        """Every match of every regex, in character offsets; matches of different regexes may overlap.

        One search of the alternation answers the usual case (nothing matches) in one pass. Where something
        matched, the regex set names the regexes that match (all of them are tried if the set cannot say),
        and each of those is searched alone, match after match without overlapping itself: the work is linear
        in the text per regex, and at most :data:`MAX_MATCHES_PER_REGEX` matches are taken from one text (a
        document is flagged by the first). The searches run on the UTF-8 bytes, encoded once.
        """
        if combined is None:
            return
        data = text.data
        first = combined.search(data)
        if first is None:
            return
        n = len(data)
        # RE2's set answers from its DFA and says "no match" when that runs out of memory: the alternation,
        # not the set, decides whether anything matched, and an empty answer means "try them all".
        which = regex_set.Match(data) if regex_set is not None else None
        for idx, single in [singles[i] for i in sorted(which)] if which else singles:
            pos = first.start()
            for _ in range(MAX_MATCHES_PER_REGEX):
                if pos > n:
                    break
                m = single.search(data, pos)
                if m is None:
                    break
                a, b = m.span()
                if b > a:
                    out.append((text.char(a), text.char(b), idx))
                pos = b if b > a else text.next_char(a)

    def stats(self) -> dict[str, Any]:
        """Sizes, for logs and benchmarks."""
        return {
            "phrases": self.n_phrases,
            "trigger_regexes": self.n_regexes[0],
            "exception_regexes": self.n_regexes[1],
        }
