"""Normalisation for matching, with a map from every normalised character back to the original text.

What it undoes, in order:

1. per character: NFKC (full width → half width), Traditional → Simplified (OpenCC's character table,
   via :func:`assist.text.to_simplified`), case folding; zero-width characters and soft hyphens vanish;
2. spacing and punctuation inserted to evade a filter: between two Han characters every space or symbol
   is dropped (``保 本``, ``保-本``, ``稳．赚``); runs of three or more single Latin letters or digits
   separated by one symbol are joined (``G u a r a n t e e d``, ``r-i-s-k``); between words, any run of
   spaces and symbols becomes one space (``risk-free`` → ``risk free``);
3. number words: 百分之百 / 百分百 → ``100%``, 百分之五十 → ``50%``, "one hundred percent" → ``100%``,
   "20 percent" → ``20%``.

Clause punctuation (, . ! ? ; : 。 、 and line breaks) is kept, because the guard works clause by clause.
Every character of the result records the ``[start, end)`` range of original characters it came from,
so a match in normalised text maps back to a span of the original string.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from assist.text import to_simplified

logger = logging.getLogger(__name__)

# Characters that render as nothing: zero-width space/joiners, word joiner, BOM, soft hyphen, etc.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f")
_CLAUSE = frozenset(",!?;:。、\n\r\t…")  # after NFKC, full-width ，！？；： are ASCII
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}

# Character classes
_HAN, _WORD, _SEP, _CLAUSE_T, _DOT = 0, 1, 2, 3, 4


def _is_han(c: str) -> bool:
    o = ord(c)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F


_char_cache: dict[str, str] = {}
_class_cache: dict[str, int] = {}


def _map_char(c: str) -> str:
    """NFKC, Traditional → Simplified, case-fold; '' for invisible characters. Cached per character."""
    out = _char_cache.get(c)
    if out is None:
        if c in _INVISIBLE:
            out = ""
        else:
            out = to_simplified(unicodedata.normalize("NFKC", c)).casefold()
            out = "".join(_APOSTROPHES.get(ch, ch) for ch in out if ch not in _INVISIBLE)
        if len(_char_cache) < 200_000:
            _char_cache[c] = out
    return out


def _classify(c: str) -> int:
    k = _class_cache.get(c)
    if k is None:
        if _is_han(c):
            k = _HAN
        elif c == ".":
            k = _DOT
        elif c in _CLAUSE:
            k = _CLAUSE_T
        elif c.isalnum() or c in "'%$#":
            k = _WORD
        else:
            k = _SEP  # spaces and every other symbol
        if len(_class_cache) < 200_000:
            _class_cache[c] = k
    return k


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text plus, for each of its characters, the original range it came from.

    Attributes:
        original: The text as given.
        text: The normalised text that rules are matched against.
        starts: ``starts[i]`` is the original index where normalised character ``i`` begins.
        ends: ``ends[i]`` is the original index just after normalised character ``i``.
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised ``[start, end)`` range to the original string.

        Args:
            start: First normalised index (inclusive).
            end: Last normalised index (exclusive); must be greater than ``start``.

        Returns:
            ``(orig_start, orig_end)`` such that ``original[orig_start:orig_end]`` is what was matched.
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad normalised span [{start}, {end}) for text of length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]


# Tokens: (kind, chars, starts, ends) where chars are already mapped
_Token = tuple[int, list[str], list[int], list[int]]


def _tokenize(text: str) -> list[_Token]:
    """Group mapped characters into Han characters, words, separator runs, clause marks."""
    chars: list[str] = []
    kinds: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, c in enumerate(text):
        if c.isascii():
            m = c.lower()
        else:
            m = _map_char(c)
        for ch in m:
            chars.append(ch)
            kinds.append(_classify(ch))
            starts.append(i)
            ends.append(i + 1)
    n = len(chars)
    # Resolve dots: decimal point → word; between Han (after skipping separators) → separator;
    # followed by a letter (g.u.a.r, www.bank.com) → separator; otherwise a sentence end.
    for i in range(n):
        if kinds[i] != _DOT:
            continue
        prev = kinds[i - 1] if i > 0 else None
        nxt = kinds[i + 1] if i + 1 < n else None
        if prev == _WORD and nxt == _WORD and chars[i - 1].isdigit() and chars[i + 1].isdigit():
            kinds[i] = _WORD
        elif nxt == _WORD or nxt == _DOT:
            kinds[i] = _SEP
        else:
            j = i + 1
            while j < n and kinds[j] in (_SEP, _DOT):
                j += 1
            k = i - 1
            while k >= 0 and kinds[k] in (_SEP, _DOT):
                k -= 1
            if j < n and k >= 0 and kinds[j] == _HAN and kinds[k] == _HAN:
                kinds[i] = _SEP
            else:
                kinds[i] = _CLAUSE_T
    tokens: list[_Token] = []
    i = 0
    while i < n:
        k = kinds[i]
        j = i + 1
        if k != _HAN:
            while j < n and kinds[j] == k:
                j += 1
        tokens.append((k, chars[i:j], starts[i:j], ends[i:j]))
        i = j
    return tokens


# long function: one linear scan with its two predicates; split, its indices would pass between parts
def _join_spelled_out(tokens: list[_Token]) -> list[_Token]:
    """Join spelled-out words: ``G u a r``, ``r-i-s-k f-r-e-e``, ``零、风、险``.

    A run is three or more one-character words (or single Han characters) each separated by one
    separator token. The most common separator in the run is the glue between letters; any other
    separator marks a word break (``r-i-s-k f-r-e-e`` → ``risk free``). Between Han characters, a single
    、 or , also counts as a separator here (``零、风、险``), since lists of one-character items are rare.
    """
    out: list[_Token] = []
    i = 0
    n = len(tokens)

    def single(t: _Token) -> bool:
        return (t[0] == _WORD or t[0] == _HAN) and len(t[1]) == 1

    def glue_ok(t: _Token, kind: int) -> bool:
        if t[0] == _SEP:
            return True
        return kind == _HAN and t[0] == _CLAUSE_T and len(t[1]) == 1 and t[1][0] in "、,"

    while i < n:
        t = tokens[i]
        if single(t):
            kind = t[0]
            j = i
            while j + 2 < n and glue_ok(tokens[j + 1], kind) and single(tokens[j + 2]) and tokens[j + 2][0] == kind:
                j += 2
            if (j - i) // 2 + 1 >= 3:
                seps = ["".join(tokens[k][1]) for k in range(i + 1, j, 2)]
                glue = max(set(seps), key=seps.count)
                chars: list[str] = []
                starts: list[int] = []
                ends: list[int] = []
                for idx in range(i, j + 1):
                    tk = tokens[idx]
                    if idx % 2 != i % 2:  # a separator
                        if "".join(tk[1]) != glue and kind == _WORD:
                            out.append((kind, chars, starts, ends))
                            out.append(tk)
                            chars, starts, ends = [], [], []
                        continue
                    if kind == _HAN:
                        out.append(tk)  # Han stays one token per character; only the separators go
                        continue
                    chars.extend(tk[1])
                    starts.extend(tk[2])
                    ends.extend(tk[3])
                if kind == _WORD:
                    out.append((kind, chars, starts, ends))
                i = j + 1
                continue
        out.append(t)
        i += 1
    # merge adjacent word tokens created by the join
    merged: list[_Token] = []
    for t in out:
        if merged and t[0] == _WORD and merged[-1][0] == _WORD:
            p = merged[-1]
            merged[-1] = (_WORD, p[1] + t[1], p[2] + t[2], p[3] + t[3])
        else:
            merged.append(t)
    return merged


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def cn_number(s: str) -> int | None:
    """Parse a small Chinese numeral (0–999): 五 → 5, 十五 → 15, 五十 → 50, 一百 → 100, 百 → 100."""
    if not s:
        return None
    total, current = 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


_NUMBER_WORDS = re.compile(
    r"百分之百|百分百|百分之(?P<cn>[零〇一二两三四五六七八九十百]+)"
    r"|(?:(?:one|a) )?hundred (?:percent|per cent)"
    r"|(?P<num>\d+(?:\.\d+)?) ?(?:percent|per cent)\b"
)


def _number_repl(m: re.Match[str]) -> str:
    if m.group("cn"):
        v = cn_number(m.group("cn"))
        return f"{v}%" if v is not None else m.group(0)
    if m.group("num"):
        return f"{m.group('num')}%"
    return "100%"


@dataclass(frozen=True)
class _Buffer:
    chars: list[str]
    starts: list[int]
    ends: list[int]


def _apply_number_words(buf: _Buffer) -> _Buffer:
    text = "".join(buf.chars)
    if "百" not in text and "percent" not in text and "per cent" not in text:
        return buf
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in _NUMBER_WORDS.finditer(text):
        a, b = m.span()
        chars.extend(buf.chars[last:a])
        starts.extend(buf.starts[last:a])
        ends.extend(buf.ends[last:a])
        rep = _number_repl(m)
        s0, e0 = buf.starts[a], buf.ends[b - 1]
        for ch in rep:
            chars.append(ch)
            starts.append(s0)
            ends.append(e0)
        last = b
    chars.extend(buf.chars[last:])
    starts.extend(buf.starts[last:])
    ends.extend(buf.ends[last:])
    return _Buffer(chars, starts, ends)


def normalize_for_match(text: str) -> NormalizedText:
    """Normalise ``text`` for rule matching and keep the map back to the original.

    Args:
        text: Any text (an utterance, a suggestion, a document passage).

    Returns:
        The :class:`NormalizedText`; ``result.span(a, b)`` maps a match back to ``text``.
    """
    tokens = _join_spelled_out(_tokenize(text))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n = len(tokens)
    for idx, (kind, tchars, tstarts, tends) in enumerate(tokens):
        if kind == _SEP:
            prev_kind = tokens[idx - 1][0] if idx > 0 else None
            next_kind = tokens[idx + 1][0] if idx + 1 < n else None
            if prev_kind is None or next_kind is None:
                continue  # leading or trailing
            if prev_kind in (_CLAUSE_T,) or next_kind in (_CLAUSE_T,):
                continue
            if prev_kind == _HAN and next_kind == _HAN:
                continue  # 保 本, 保-本, 稳．赚
            chars.append(" ")
            starts.append(tstarts[0])
            ends.append(tends[-1])
        else:
            chars.extend(tchars)
            starts.extend(tstarts)
            ends.extend(tends)
    buf = _apply_number_words(_Buffer(chars, starts, ends))
    return NormalizedText(text, "".join(buf.chars), tuple(buf.starts), tuple(buf.ends))


def normalize_phrase(phrase: str) -> str:
    """The normalised form of a rule phrase (the same transformation as the text it is matched in)."""
    return normalize_for_match(phrase.strip()).text
