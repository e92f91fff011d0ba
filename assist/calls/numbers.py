"""English numbers said in words, written as the documents write them ("forty-five or ninety" → "45 or 90", "zero
point one" → "0.1", "two hundred k" → "200000").

Speech recognisers and callers spell numbers out; the policies give them in digits ("45 calendar days", "0.10%"),
so a question that names a number shares no word with the sentence that holds it. A lone "one" is left alone ("one
more thing", "the one I bought"), and so is one after a scale ("the four thousand one" → "the 4000 one").
"""

from __future__ import annotations

import re

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "k": 1000, "million": 1_000_000}
# A risk level or rating said as a letter and a number ("c three", "r two"): written as the documents do ("C3").
_CODE = re.compile(r"\b([cr])\s+(one|two|three|four|five)\b", re.IGNORECASE)
_NUM = "|".join(sorted([*_UNITS, *_TENS], key=len, reverse=True))
_SCALE = "|".join(_SCALES)
# A run of number words: a unit or a ten, then more of them or scales (hyphens as in "forty-five"), "point" before
# another number word, and "and" only after "hundred" or "thousand" ("two hundred and twenty").
_RUN = re.compile(
    rf"\b(?:{_NUM})\b(?:[\s-]+(?:{_NUM}|{_SCALE})\b|\s+point\s+(?:{_NUM})\b"
    rf"|(?:(?<=hundred)|(?<=thousand))\s+and\s+(?:{_NUM})\b)*",
    re.IGNORECASE,
)


def _value(words: list[str]) -> str | None:
    """The digits of a run of number words, or None when they do not make one number. Numbers said in pairs or
    digit by digit are written side by side ("nineteen eighty four" → 1984, "five five oh" is not a run, "six eight
    one" → 681); a unit after a ten is added ("forty five" → 45), as is anything after "hundred"."""
    total, current, decimals, after_point = 0, 0, "", False
    for w in words:
        if after_point:
            if w not in _UNITS or _UNITS[w] > 9:
                return None
            decimals += str(_UNITS[w])
        elif w == "point":
            after_point = True
        elif w == "and":
            continue
        elif w in _SCALES:
            if w == "hundred":
                current = max(current, 1) * 100
            else:  # thousand, k, million
                total += max(current, 1) * _SCALES[w]
                current = 0
        else:
            v = _UNITS.get(w, _TENS.get(w, 0))
            if current == 0 or current % 100 == 0 or (v < 10 and current % 10 == 0 and current % 100 >= 20):
                current += v  # "forty five", "two hundred twenty"
            else:  # said side by side: a year ("twenty twenty four") or digits ("six eight one")
                current = current * (10 if v < 10 else 100) + v
    if after_point and not decimals:
        return None
    number = str(total + current)
    return f"{number}.{decimals}" if decimals else number


def spoken_numbers(text: str) -> str:
    """`text` with its English number words written in digits (unchanged when it has none)."""

    def rewrite(m: re.Match[str]) -> str:
        said = m.group()
        words = [w for w in re.split(r"[\s-]+", said.lower()) if w]
        pronoun = len(words) > 1 and words[-1] == "one" and words[-2] in _SCALES  # "the four thousand one"
        if pronoun:
            words, said = words[:-1], said[: said.lower().rindex("one")].rstrip()
        value = None if words == ["one"] else _value(words)
        return m.group() if value is None else value + (" one" if pronoun else "")

    text = _CODE.sub(lambda m: m.group(1) + str(_UNITS[m.group(2).lower()]), text)  # "c three" → "c3"
    return _RUN.sub(rewrite, text)
