"""Clock times and parts of the day said in a turn, in three scripts: digits ("9:15 pm", "下午3:15"), Chinese
numerals (八点二十, 三点一刻, 差十分九點, 晚上九點半), English words ("around eleven thirty", "quarter past
three in the afternoon", "half past ten last night"), and a part of the day alone (下午, 晏晝, "morning") when no
clock time is said. All patterns are bounded: linear in the length of a turn."""

from __future__ import annotations

import re

from assist.aftercall.numbers import Value
from assist.aftercall.numbers import small_int as _small

_PARTS = {
    "上午": "morning", "早上": "morning", "早晨": "morning", "朝早": "morning", "this morning": "morning",
    "morning": "morning", "中午": "noon", "晏昼": "afternoon", "晏晝": "afternoon", "noon": "noon", "lunchtime": "noon",
    "下午": "afternoon", "晏晡": "afternoon", "afternoon": "afternoon", "晚上": "evening", "夜晚": "evening",
    "夜晚黑": "evening", "傍晚": "evening", "evening": "evening", "tonight": "evening", "凌晨": "night",
    "半夜": "night", "深夜": "night", "night": "night",
}  # fmt: skip
_PART = re.compile("(?i)(?<![a-z])(" + "|".join(sorted(_PARTS, key=len, reverse=True)) + ")(?![a-z])")
_ZH_CLOCK = re.compile(
    r"(?P<pod>上午|下午|晚上|早上|凌晨|中午|夜晚|昨晚|今晚|前晚|琴晚|尋晚|寻晚|噚晚)?\s?(?P<h>[0-9]{1,2}|[一二三四五六七八九十两兩]{1,3})\s?(?:点|點|时|時)"
    r"(?:\s?(?P<half>半)|\s?(?P<quarter>[一三])\s?(?:刻|骨)|\s?(?P<min>[0-9]{1,2}|[零一二三四五六七八九十]{1,3})\s?分?)?"
)
# 差一刻四点, 差五分三點: that many minutes before the hour
_ZH_CLOCK_TO = re.compile(
    r"(?P<pod>上午|下午|晚上|早上|凌晨|中午|夜晚)?\s?差\s?(?:(?P<quarter>一)\s?刻|(?P<min>[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s?分)"
    r"\s?(?P<h>[0-9]{1,2}|[一二三四五六七八九十两兩]{1,3})\s?(?:点|點)"
)
_PM_PARTS = frozenset(("下午", "晚上", "夜晚", "昨晚", "今晚", "前晚", "琴晚", "尋晚", "寻晚", "噚晚"))
# the part of the day said earlier in the turn sets the half of the day of a clock time said without one
# ("昨天下午大概三点四十", "尋晚 大概十點半", "食完 lunch 大概一點半"): the nearest one before the time wins
_DAY_HALF = re.compile(
    r"(?i)(?<!good\s)(?:(?P<pm>下午|晚上|夜晚|夜里|夜裡|傍晚|黄昏|黃昏|昨晚|今晚|前晚|琴晚|尋晚|寻晚|噚晚|晏晝|晏昼|晏晡|"
    r"(?<![a-z])(?:afternoon|evening|tonight|last night)(?![a-z]))|"
    r"(?P<noon>中午|午饭|午飯|午餐|食晏|(?<![a-z])(?:noon|lunch|lunchtime)(?![a-z]))|"
    r"(?P<am>上午|早上|早晨|朝早|今早|凌晨|清晨|半夜|深夜|(?<![a-z])morning(?![a-z])))(?!好)"
)
NOON_HOURS = range(1, 6)  # 中午一點, "after lunch, around two": the early afternoon; 中午十二點 stays


def day_half(text: str, start: int, h: int) -> int:
    """The hour `h` (1-12, said without a part of the day) on a 24-hour clock, by the last part of the day
    said before position `start` in the turn: afternoon or evening words move 1-11 to the afternoon, noon
    words 1-5; morning words, or none, leave it."""
    said = list(_DAY_HALF.finditer(text, 0, start))
    last = said[-1] if said else None
    if last is None or h >= 12:
        return h
    if last.group("pm") or (last.group("noon") and h in NOON_HOURS):
        return h + 12
    return h


EN_CLOCK = re.compile(
    r"(?i)(?<![0-9:])(?P<h>[0-9]{1,2})(?::(?P<min>[0-9]{2}))?\s?(?P<ampm>a\.?m\.?|p\.?m\.?|o'clock)?(?![0-9a-z])"
)


_HOUR_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_MINUTE_WORDS = {"o'clock": 0, "fifteen": 15, "thirty": 30, "forty-five": 45, "forty five": 45, "ten": 10}
_MINUTE_WORDS.update({"five": 5, "twenty": 20, "twenty-five": 25, "forty": 40, "fifty": 50, "half": 30})
_EN_WORD_CLOCK = re.compile(
    r"(?i)(?<![a-z])(?:around|about|at|by)\s(?:about\s|around\s)?(?P<h>"
    + "|".join(_HOUR_WORDS)
    + r")(?:\s(?P<min>"
    + "|".join(sorted(map(re.escape, _MINUTE_WORDS), key=len, reverse=True))
    + r"))?(?:\s?(?P<ampm>a\.?m\.?|p\.?m\.?))?(?![a-z-])"
)
_LATE = re.compile(r"(?i)(?<![a-z])(?:night|evening|tonight|p\.?m\.?)(?![a-z])|晚上|夜晚|夜晚黑")
# the part of the day said right after a clock time ("quarter past three in the afternoon")
_PART_AFTER = re.compile(
    r"(?i)^[\s,]{0,2}(?:(?P<pm>in the afternoon|in the evening|at night|last night|tonight|this evening|"
    r"yesterday evening|p\.?m\.?)|(?P<am>in the morning|this morning|a\.?m\.?))(?![a-z])"
)
_QUARTERS = {"quarter": 15, "half": 30, "five": 5, "ten": 10, "twenty": 20, "twenty-five": 25, "twenty five": 25}
_EN_PAST_TO = re.compile(
    r"(?i)(?<![a-z-])(?:a\s)?(?P<q>twenty[\s-]five|quarter|half|twenty|ten|five)\s(?P<rel>past|after|to)\s"
    r"(?P<h>" + "|".join(_HOUR_WORDS) + r"|[0-9]{1,2})(?![a-z0-9])"
)


def _pm(text: str, end: int, h: int) -> int:
    """The hour on a 24-hour clock: afternoon, evening or night said right after the time, else in the
    turn (night, evening, pm), moves 1-11 to the afternoon."""
    after = _PART_AFTER.match(text[end : end + 24])
    if after is not None:
        return h + 12 if after.group("pm") and h < 12 else h
    return h + 12 if h < 12 and _LATE.search(text) else h


def _past_to(text: str, turn: int) -> list[Value]:
    """ "quarter past three (in the afternoon)", "half past ten last night", "twenty to eleven"."""
    out: list[Value] = []
    for m in _EN_PAST_TO.finditer(text):
        raw = m.group("h").lower()
        h = int(raw) if raw.isdigit() else _HOUR_WORDS.index(raw) + 1
        q = _QUARTERS[m.group("q").lower().replace("-", " ")]
        if not 1 <= h <= 12 or (q == 30 and m.group("rel").lower() == "to"):
            continue
        h, minute = (h, q) if m.group("rel").lower() != "to" else (h - 1 or 12, 60 - q)
        h = _pm(text, m.end(), h)
        out.append(Value("time", f"{h % 24:02d}:{minute:02d}", turn, m.start(), m.end(), m.group(0)))
    return out


def _word_clocks(text: str, turn: int) -> list[Value]:
    """Clock times said in English words: "around eleven thirty" (with night in the turn: 23:30), "at
    about nine twenty this morning", "around nine pm"."""
    out: list[Value] = []
    for m in _EN_WORD_CLOCK.finditer(text):
        h = _HOUR_WORDS.index(m.group("h").lower()) + 1
        minute = _MINUTE_WORDS.get((m.group("min") or "o'clock").lower(), 0)
        ampm = (m.group("ampm") or "").lower()
        if h < 12 and ampm.startswith("p"):
            h += 12
        elif not ampm:
            h = _pm(text, m.end(), h)
        if h == 12 and ampm.startswith("a"):
            h = 0
        if m.group("min") or ampm or _PART_AFTER.match(text[m.end() : m.end() + 24]):
            out.append(Value("time", f"{h:02d}:{minute:02d}", turn, m.start(), m.end(), m.group(0)))
    return out


_RANGE_DIGITS = "一二三四五六七八九"
# 五点前回电, 四點之前: a deadline for what comes next, not when something happened (三点前后 is "about three")
_DEADLINE = re.compile(r"\s?(?:之前|以前|前)(?![后後])")


# 四点多, 三點幾: some time after the hour, minutes unknown: no clock time (the part of the day is what was said)
_PAST_HOUR = re.compile(r"\s?(?:多|幾|几)(?!少|多|點|点|個|个|分)")


def _hour_range(raw: str) -> bool:
    """两三点, 七八點, 一两点: two neighbouring hours said as a guess, not a clock time."""
    folded = raw.replace("两", "二").replace("兩", "二")
    if len(folded) != 2 or not all(c in _RANGE_DIGITS for c in folded):
        return False
    return _RANGE_DIGITS.index(folded[1]) - _RANGE_DIGITS.index(folded[0]) == 1


# a part of the day said as a greeting: "good morning", "morning, I want to…" opening the turn, 早晨 opening a
# Cantonese turn, 下午好
_GREETING_PART = frozenset(("morning", "afternoon", "evening", "早晨"))
_OPENING = re.compile(r"(?i)^[\W_]{0,3}(?:(?:hi|hello|hey|yeah|yes|oh|um|uh|喂|你好|您好)[\W_]{1,3})?$")


def _greets(text: str, m: re.Match[str]) -> bool:
    """Whether the part of the day `m` is said as a greeting, not as when something happened."""
    before = text[: m.start()]
    if re.search(r"(?i)good\s$", before) or text.startswith("好", m.end()):
        return True
    return m.group(1).lower() in _GREETING_PART and _OPENING.match(before) is not None


def times(text: str, turn: int) -> list[Value]:
    """The clock times of a turn (a part of the day alone when no clock time is said)."""
    out: list[Value] = _word_clocks(text, turn) + _past_to(text, turn)
    for m in _ZH_CLOCK_TO.finditer(text):
        h = _small(m.group("h").replace("两", "二").replace("兩", "二"))
        before = 15 if m.group("quarter") else _small(m.group("min") or "") or 0
        if h is None or not 1 <= h <= 24 or not 0 < before < 60:
            continue
        h = h - 1 + (12 if m.group("pod") in _PM_PARTS and h <= 12 else 0)
        out.append(Value("time", f"{h:02d}:{60 - before:02d}", turn, m.start(), m.end(), m.group(0)))
    taken = [(v.start, v.end) for v in out]
    for m in _ZH_CLOCK.finditer(text):
        h = _small(m.group("h").replace("两", "二").replace("兩", "二"))
        if _hour_range(m.group("h")) or _DEADLINE.match(text, m.end()) or _PAST_HOUR.match(text, m.end()):
            continue
        if h is None or h > 24 or any(a <= m.start() < b for a, b in taken):
            continue
        if m.group("half"):
            minute = 30
        elif m.group("quarter"):  # 三点一刻 15, 三點三刻 45
            minute = 15 if m.group("quarter") == "一" else 45
        else:
            minute = (_small(m.group("min")) or 0) if m.group("min") else 0
        if m.group("pod") in _PM_PARTS and h < 12:
            h += 12
        elif not m.group("pod") or m.group("pod") == "中午":
            h = day_half(text, m.start("h"), h)
        if minute < 60:
            out.append(Value("time", f"{h:02d}:{minute:02d}", turn, m.start(), m.end(), m.group(0)))
    for m in EN_CLOCK.finditer(text):
        after = _PART_AFTER.match(text[m.end() : m.end() + 24])
        if not (m.group("min") or m.group("ampm") or (after is not None and 1 <= int(m.group("h")) <= 12)):
            continue  # "4 in the afternoon", "10 at night" are clock times; a bare 4 is not
        h, minute = int(m.group("h")), int(m.group("min") or 0)
        ampm = (m.group("ampm") or "").lower()
        if ampm.startswith("p") and h < 12:
            h += 12
        if ampm.startswith("a") and h == 12:
            h = 0
        if not ampm and h < 12:  # 下午3:15, "at 2:30 in the afternoon": the part of the day said beside it
            h = h + 12 if after is not None and after.group("pm") else day_half(text, m.start(), h)
        if h < 24 and minute < 60:
            out.append(Value("time", f"{h:02d}:{minute:02d}", turn, m.start(), m.end(), m.group(0)))
    if not out:
        for m in _PART.finditer(text):
            if _greets(text, m):
                continue
            out.append(Value("time", _PARTS[m.group(1).lower()], turn, m.start(), m.end(), m.group(0)))
    return out
