"""Text preparation for the claim model: undo filter evasion, split into clauses, map offsets back.

:func:`clean_for_model` removes what evades filters (稳-赚-不-赔, r i s k, zero-width characters) while
keeping punctuation, quotes, case and script (they carry use versus mention); :func:`split_clauses` cuts
at clause punctuation and before contrast words; :func:`prepare` does both and maps clause spans back to
the original text, so that a match reports offsets in what the agent said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLAUSE_PUNCT = frozenset(",，。.!！?？;；:：、\n\r\t…")
_OPEN_QUOTES = "“「『‘《"
_CLOSE_QUOTES = "”」』’》"
_CONTRAST = re.compile(
    r"(?:但是|可是|不過|不过|然而|(?<![不非])但(?!愿|願|凡)|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bwhereas\b)",
    re.IGNORECASE,
)
_KEEP_AT_END = frozenset("%)）”」』\"'")


def split_clauses(text: str, *, min_chars: int = 2) -> list[tuple[int, int]]:
    """Clause spans ``(start, end)`` of ``text``, without surrounding spaces and punctuation.

    Clauses end at clause punctuation (, 。 ! ? ; : 、 … line breaks; not inside “quotes”/「quotes」 and not
    in numbers such as 2.5 or 800,000) and before a contrast word (但/但是/可是/不过/然而, but/however/
    although/though/whereas), which starts the next clause. Spans with fewer than ``min_chars`` letters or
    digits are dropped; a text with none gives one span over the whole stripped text.
    """
    cuts: list[tuple[int, int]] = []  # (end of this clause, start of the next)
    depth = 0
    ascii_quote_open = False
    n = len(text)
    for i, c in enumerate(text):
        if c == '"':
            ascii_quote_open = not ascii_quote_open
            continue
        if c in _OPEN_QUOTES:
            depth += 1
            continue
        if c in _CLOSE_QUOTES:
            depth = max(0, depth - 1)
            continue
        if depth or ascii_quote_open or c not in _CLAUSE_PUNCT:
            continue
        if c in ",." and 0 < i < n - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            continue
        cuts.append((i, i + 1))
    cuts.extend((m.start(), m.start()) for m in _CONTRAST.finditer(text) if m.start() > 0)
    cuts.sort()
    out: list[tuple[int, int]] = []
    start = 0
    for end, nxt in [*cuts, (n, n)]:
        a, b = start, end
        start = max(start, nxt)
        while a < b and not text[a].isalnum():
            a += 1
        while b > a and not (text[b - 1].isalnum() or text[b - 1] in _KEEP_AT_END):
            b -= 1
        if b > a and sum(ch.isalnum() for ch in text[a:b]) >= min_chars:
            out.append((a, b))
    if not out:
        a, b = 0, n
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f")
_HAN_GAP = frozenset(" \t-.*·_~|/\u3000・")
_LATIN_GAP = frozenset(" -.*_~|/·")


def _is_han(c: str) -> bool:
    o = ord(c)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF


def clean_for_model(text: str) -> tuple[str, list[int]]:
    """Undo filter evasion before encoding, keeping punctuation, quotes, case and script.

    - invisible characters (zero-width, soft hyphen) vanish;
    - full-width letters and digits become ASCII (ＡＢ → AB);
    - one or two spaces/symbols between two Han characters vanish (稳-赚-不-赔, 零 風 險, ASR spacing);
    - runs of three or more single Latin letters separated by one space or symbol are joined
      (r i s k, g.u.a.r.a.n.t.e.e.d).

    Returns:
        ``(cleaned, origin)`` where ``origin[i]`` is the index in ``text`` of cleaned character ``i``.
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        if c in _INVISIBLE:
            continue
        o = ord(c)
        if 0xFF10 <= o <= 0xFF19 or 0xFF21 <= o <= 0xFF3A or 0xFF41 <= o <= 0xFF5A:
            c = chr(o - 0xFEE0)
        chars.append(c)
        origin.append(i)
    n = len(chars)
    drop = [False] * n
    _drop_han_gaps(chars, drop)
    _drop_latin_gaps(chars, drop)
    kept = [k for k in range(n) if not drop[k]]
    return "".join(chars[k] for k in kept), [origin[k] for k in kept]


def _drop_han_gaps(chars: list[str], drop: list[bool]) -> None:
    """Mark one to two spaces or symbols between two Han characters for dropping (稳-赚-不-赔, 零 風 險)."""
    n = len(chars)
    i = 0
    while i < n:  # gaps between Han characters
        if _is_han(chars[i]):
            j = i + 1
            while j < n and j - i <= 3 and chars[j] in _HAN_GAP:
                j += 1
            if 1 < j - i <= 3 and j < n and _is_han(chars[j]):
                for k in range(i + 1, j):
                    drop[k] = True
            i = max(i + 1, j)
        else:
            i += 1


def _drop_latin_gaps(chars: list[str], drop: list[bool]) -> None:
    """Mark the separators of runs of three or more spaced-out Latin letters (r i s k, g.u.a.r.d)."""
    n = len(chars)
    i = 0
    while i < n:  # spaced-out Latin letters: one letter, one separator (the same each time), one letter...
        if (
            chars[i].isascii()
            and chars[i].isalpha()
            and (i == 0 or chars[i - 1] in ' \t"(“‘「')
            and (i + 1 < n and chars[i + 1] in _LATIN_GAP)
        ):
            sep = chars[i + 1]
            j, count = i, 1
            while (
                j + 2 < n
                and chars[j + 1] == sep
                and chars[j + 2].isascii()
                and chars[j + 2].isalpha()
                and (j + 3 >= n or not (chars[j + 3].isalnum() or chars[j + 3] == "'"))
            ):
                j += 2
                count += 1
            if count >= 3:
                for k in range(i + 1, j, 2):
                    drop[k] = True
                i = j + 1
            else:
                i += 1
        else:
            i += 1


@dataclass(frozen=True)
class Prepared:
    """An utterance ready for the encoder.

    Attributes:
        text: The original text.
        clean: :func:`clean_for_model` of it (what the encoder reads).
        spans: Clause spans in ``clean`` (what the encoder pools).
        original_spans: The same clauses in ``text`` (what matches report).
    """

    text: str
    clean: str
    spans: tuple[tuple[int, int], ...]
    original_spans: tuple[tuple[int, int], ...]


def prepare(text: str) -> Prepared:
    """Clean ``text``, split the clean text into clauses, map the clauses back to ``text``."""
    clean, origin = clean_for_model(text)
    spans = tuple(split_clauses(clean))
    orig = tuple((origin[a], origin[b - 1] + 1) if b > a else (0, 0) for a, b in spans)
    return Prepared(text, clean, spans, orig)


#: The scripts a model may keep thresholds for (``TrainConfig.per_script``).
SCRIPTS = ("en", "zh-Hans", "zh-Hant")


def script_of(text: str) -> str:
    """``en``, ``zh-Hans`` or ``zh-Hant``: the script of ``text`` (mixed text goes to its Chinese script)."""
    from assist.text import detect_language, has_traditional

    lang = detect_language(text)
    if lang in SCRIPTS:
        return lang
    return "zh-Hant" if has_traditional(text) else "zh-Hans"
