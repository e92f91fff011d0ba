"""Numbers said or typed in three scripts: Arabic digits (with thousands separators, 1.5万, 5k), Chinese
numerals (三百, 兩千五百, 一万二, 三百五) and English number words ("two hundred and fifty").

Every pattern here has bounded repetition and no nested quantifier over an optional part, so a search is
linear in the text (the length of one turn is bounded by ASSIST_MAX_UTTERANCE_CHARS anyway). English words are
scanned token by token, not with a regex.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

logger = logging.getLogger(__name__)

# Full-width digits and signs → ASCII, one character for one (offsets stay valid).
_WIDTH = str.maketrans("０１２３４５６７８９＄，．：／－", "0123456789$,.:/-")

ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4}
ZH_DIGITS.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
ZH_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
ZH_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
ZH_NUMERAL_CHARS = "".join([*ZH_DIGITS, *ZH_UNITS, *ZH_BIG])

_ARABIC = re.compile(r"[0-9][0-9,]{0,18}(?:\.[0-9]{1,4})?(?P<mult>[千万萬亿億kK](?![a-zA-Z]))?")
# a Chinese numeral starts with a digit or 十 (万一, "just in case", is not a number)
_ZH = re.compile("[零〇一幺二两兩三四五六七八九十][" + ZH_NUMERAL_CHARS + "]{0,15}")

EN_ONES = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "k": 1000}
EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_EN_WORD = re.compile(r"[A-Za-z]{1,12}")
_MULT = {"千": 1000, "万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000, "k": 1000, "K": 1000}


@dataclass(frozen=True)
class Value:
    """One value extracted from a turn and where it came from (`text` never holds more than a card's last four
    digits); extract.py, clocks.py and cues.py give them."""

    kind: str
    value: str
    turn: int
    start: int
    end: int
    text: str


def small_int(s: str) -> int | None:
    """A small number said in digits or Chinese numerals (八 → 8, 二十五 → 25); None when it is neither."""
    if s.isdigit():
        return int(s)
    parsed = parse_chinese(s)
    return int(parsed[0]) if parsed else None


@dataclass(frozen=True)
class NumberMention:
    """A number in a text: its value, where it is, and its digits as said (leading zeros kept)."""

    value: Decimal
    start: int
    end: int
    digits: str  # "0123" for 〇一二三 or 0123; the value's digits otherwise


def fold_width(text: str) -> str:
    """Full-width digits and signs as ASCII, same length (offsets into the result match the original)."""
    return text.translate(_WIDTH)


def parse_chinese(s: str) -> tuple[Decimal, str] | None:
    """The value of a Chinese numeral (三百 → 300, 兩千五百 → 2500, 三百五 → 350, 一万二 → 12000); a run
    of bare digits (一二三四) is read digit by digit. Returns (value, digits) or None."""
    if not s:
        return None
    if all(ch in ZH_DIGITS for ch in s):
        digits = "".join(str(ZH_DIGITS[ch]) for ch in s)
        return Decimal(digits), digits
    total, section, digit = 0, 0, None
    last_unit, last_big, zero_gap = 0, 0, False
    for ch in s:
        if ch in ZH_DIGITS:
            if ZH_DIGITS[ch] == 0:
                zero_gap = True
                continue
            digit = ZH_DIGITS[ch]
        elif ch in ZH_UNITS:
            section += (1 if digit is None else digit) * ZH_UNITS[ch]
            digit, last_unit, zero_gap = None, ZH_UNITS[ch], False
        else:  # 万 / 亿
            section += digit or 0
            big = ZH_BIG[ch]
            total = (total + section) * big if total < big else total + section * big
            section, digit, last_unit, last_big, zero_gap = 0, None, 0, big, False
    if digit is not None:
        if last_unit >= 10 and not zero_gap:
            section += digit * last_unit // 10  # 三百五 = 350, 两千五 = 2500
        elif not last_unit and last_big and not section and not zero_gap:
            section += digit * last_big // 10  # 一万二 = 12000
        else:
            section += digit
    value = total + section
    return Decimal(value), str(value)


def _arabic(m: re.Match[str]) -> NumberMention | None:
    raw = m.group(0)
    mult = m.group("mult")
    body = raw[: -len(mult)] if mult else raw
    body = body.rstrip(",")
    try:
        value = Decimal(body.replace(",", ""))
    except InvalidOperation:
        return None
    if mult:
        value *= _MULT[mult]
    end = m.start() + len(body) + (len(mult) if mult else 0)
    return NumberMention(value, m.start(), end, body.replace(",", "").split(".")[0] if not mult else str(int(value)))


def _english(text: str) -> list[NumberMention]:
    """Runs of English number words ("two hundred and fifty", "twenty-five", "a thousand")."""
    out: list[NumberMention] = []
    words = list(_EN_WORD.finditer(text))
    i = 0
    while i < len(words):
        j, total, current, used = i, 0, 0, False
        start = words[i].start()
        end = start
        while j < len(words):
            w = words[j].group(0).lower()
            gap = text[end : words[j].start()] if used else ""
            if used and gap.strip(" -") != "":
                break
            if w in EN_ONES:
                current += EN_ONES[w]
            elif w in EN_TENS:
                current += EN_TENS[w]
            elif w in EN_ORDINALS and not (used and current % 10):
                current += EN_ORDINALS[w]
                used, end, j = True, words[j].end(), j + 1
                break
            elif w in EN_SCALES and w != "k" and (used or w == "hundred"):
                scale = EN_SCALES[w]
                if scale == 100:
                    current = (current or 1) * 100
                else:
                    total += (current or 1) * scale
                    current = 0
            elif w == "and" and used and j + 1 < len(words) and _is_number_word(words[j + 1].group(0)):
                pass
            elif w == "a" and not used and j + 1 < len(words) and words[j + 1].group(0).lower() in EN_SCALES:
                current = 1
            else:
                break
            used, end, j = True, words[j].end(), j + 1
        if used and end > start:
            value = total + current
            out.append(NumberMention(Decimal(value), start, end, str(value)))
            i = j
        else:
            i += 1
    return out


def _is_number_word(word: str) -> bool:
    w = word.lower()
    return w in EN_ONES or w in EN_TENS or w in EN_SCALES or w in EN_ORDINALS


def find_numbers(text: str) -> list[NumberMention]:
    """Every number in `text` (already width-folded), in order: Arabic, Chinese and English forms."""
    found: list[NumberMention] = []
    for m in _ARABIC.finditer(text):
        if m.start() > 0 and text[m.start() - 1].isalpha() and text[m.start() - 1].isascii():
            continue  # part of a word or code (A320, 7-Eleven is kept: the dash breaks it)
        mention = _arabic(m)
        if mention is not None:
            found.append(mention)
    for m in _ZH.finditer(text):
        parsed = parse_chinese(m.group(0))
        if parsed is not None:
            found.append(NumberMention(parsed[0], m.start(), m.end(), parsed[1]))
    found += _english(text)
    found.sort(key=lambda n: n.start)
    return found
