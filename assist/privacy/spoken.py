"""Digits in the forms a transcript writes them besides ASCII: full-width digits, Chinese numerals, English words.

The vocabulary and the run patterns that :mod:`assist.privacy.cards` and :mod:`assist.privacy.secrets` build
their spoken-number patterns from, and the helpers that turn what was said back into digits.
"""

from __future__ import annotations

import re
import unicodedata

# digits said one by one, as an ASR transcript writes them. Chinese numerals (幺 and 两 for 1 and 2, 〇 and 零 for 0,
# Traditional 兩, the financial forms 壹贰叁…) with at most two spaces or commas between them; English words
# ("four one one one, double one …", "oh" and "nought" for zero), a word a group. Bounded separators keep every
# run a single pass.
_ZH_NUMERAL_DIGIT = {
    **dict.fromkeys("零〇", "0"),
    **dict.fromkeys("一幺壹", "1"),
    **dict.fromkeys("二两兩贰貳", "2"),
    **dict.fromkeys("三叁參", "3"),
    **dict.fromkeys("四肆", "4"),
    **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陆陸", "6"),
    **dict.fromkeys("七柒", "7"),
    **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖", "9"),
}
_ZH_NUMERAL = "[" + "".join(_ZH_NUMERAL_DIGIT) + "]"
_ZH_NUMERAL_SEP = r"[ \t,，、\-]{0,2}"
_EN_DIGIT_WORD = {
    "zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_EN_DIGIT = "(?:" + "|".join(_EN_DIGIT_WORD) + r")\b"
_EN_UNIT = rf"(?:(?:double|triple)[ \-]{_EN_DIGIT}|{_EN_DIGIT})"
_EN_UNIT_SEP = r"[ \t,.\-]{1,3}"
_EN_UNIT_RE = re.compile(rf"(?i)(?:(double|triple)[ \-])?({_EN_DIGIT})")


def zh_numeral_run(min_units: int, max_units: int | None = None) -> str:
    """A pattern for ``min_units`` to ``max_units`` (no limit: None) Chinese numerals said one by one."""
    return rf"{_ZH_NUMERAL}(?:{_ZH_NUMERAL_SEP}{_ZH_NUMERAL}){{{min_units - 1},{max_units - 1 if max_units else ''}}}"


def en_digit_run(min_units: int, max_units: int | None = None) -> str:
    """A pattern for ``min_units`` to ``max_units`` (no limit: None) English digit words ("double one" is one)."""
    return rf"\b{_EN_UNIT}(?:{_EN_UNIT_SEP}{_EN_UNIT}){{{min_units - 1},{max_units - 1 if max_units else ''}}}"


_ZH_NUMERAL_ONE = re.compile(_ZH_NUMERAL)
_REPEAT = {"double": 2, "triple": 3}


def ascii_digits(s: str) -> str:
    """The ASCII digits of ``s`` (full-width and other decimal digits converted, everything else dropped)."""
    if s.isascii():
        return "".join(c for c in s if "0" <= c <= "9")
    return "".join(str(unicodedata.digit(c)) for c in s if c.isdecimal())


def spoken_digit_count(value: str) -> int:
    """How many digits ``value`` says: digits, Chinese numerals, or English digit words ("double oh" is two)."""
    words = list(_EN_UNIT_RE.finditer(value))
    if not words:
        return sum(1 for c in value if c.isdecimal() or c in _ZH_NUMERAL_DIGIT)
    return sum(_REPEAT.get((w.group(1) or "").lower(), 1) for w in words)


def spoken_groups(run: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The units of a run of digits said as Chinese numerals or English words, as (spans, digit groups).

    A unit is one numeral or one word ("double one" is one unit, the group "11"); its span is where it is in
    ``run``.
    """
    if run[0] in _ZH_NUMERAL_DIGIT:
        units = list(_ZH_NUMERAL_ONE.finditer(run))
        groups = [_ZH_NUMERAL_DIGIT[u.group()] for u in units]
    else:
        units = list(_EN_UNIT_RE.finditer(run))
        groups = [_EN_DIGIT_WORD[u.group(2).lower()] * _REPEAT.get((u.group(1) or "").lower(), 1) for u in units]
    return [u.span() for u in units], groups
