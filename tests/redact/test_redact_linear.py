"""redact() is linear in its input: no access-log line or utterance can stall the server (issue #14, DoS).

The card check used to try every window of digit groups, longest first: cubic in the number of groups.
``GET /healthz?q=1-1-1-…`` with 1,000 groups froze the event loop for 24 s. These tests give each input a
budget that the linear code meets 10–100 times over and the cubic code misses by orders of magnitude; an
alarm stops the old code at the budget instead of letting it run for hours.
"""

from __future__ import annotations

import logging
import re
import signal
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assist.redact import RedactingFilter, luhn_ok, redact

BUDGET_S = 5.0  # seconds; the linear code takes well under 0.5 s for every input below


@contextmanager
def _budget(seconds: float, what: str) -> Iterator[None]:
    """Fail (rather than hang) when the block runs past ``seconds``."""

    def _expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what}: over the budget of {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"{what}: {elapsed:.1f} s, over the budget of {seconds} s"


# -- an independent check: a card is a window of whole digit groups, 13–19 digits, Luhn-valid ---------------
_SEPARATOR_CHARS = " -./\u3000．／－"
_SEPARATORS = [" ", "-", ".", "/", " - ", "  ", " / ", "\u3000", "．", "／", "－"]
_RUN = re.compile(rf"\d+(?:[{re.escape(_SEPARATOR_CHARS)}]{{1,3}}\d+)*")


def _digit_value(s: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in s)


def cards_left(text: str) -> list[str]:
    """Every Luhn-valid 13–19 digit window of whole groups in ``text`` (brute force)."""
    found = []
    for run in _RUN.finditer(text):
        groups = [_digit_value(g) for g in re.findall(r"\d+", run.group(0))]
        for i in range(len(groups)):
            number = ""
            for g in groups[i:]:
                number += g
                if len(number) > 19:
                    break
                if len(number) >= 13 and luhn_ok(number):
                    found.append(number)
    return found


def _old_windows(groups: list[str]) -> list[tuple[int, int]]:
    """The windows the old (cubic) code chose: from each group, the longest valid window, then skip past it."""
    found, i = [], 0
    while i < len(groups):
        for j in range(len(groups) - 1, i - 1, -1):
            number = "".join(groups[i : j + 1])
            if 13 <= len(number) <= 19 and luhn_ok(number):
                found.append((i, j))
                i = j + 1
                break
        else:
            i += 1
    return found


# -- the reproducers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("groups", [1000, 10_000])
def test_an_access_line_with_thousands_of_digit_groups_is_redacted_within_budget(groups: int) -> None:
    text = "GET /healthz?q=" + "-".join(["1"] * groups) + "-4111-1111-1111-1111 HTTP/1.1"
    with _budget(BUDGET_S, f"redact() of {groups} digit groups"):
        out = redact(text)
    assert "4111-1111-1111-1111" not in out and "[CARD]" in out
    assert cards_left(out) == []


@pytest.mark.parametrize("groups", [1000, 10_000])
def test_the_log_filter_handles_thousands_of_digit_groups_within_budget(groups: int) -> None:
    access = '%s - "%s %s HTTP/%s" %d'  # what uvicorn's access logger is called with
    path = "/healthz?q=" + "-".join(["1"] * groups)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, access, ("1.2.3.4:5", "GET", path, "1.1", 200), None
    )
    with _budget(BUDGET_S, f"the log filter on {groups} digit groups"):
        assert RedactingFilter().filter(record)
        record.getMessage()


def test_a_long_utterance_of_short_digit_groups_is_redacted_within_budget() -> None:
    # the review's second reproducer: a 799-character utterance took 2 s
    text = "我的卡号是" + " ".join(["12"] * 265) + " 4111 1111 1111 1111"
    with _budget(BUDGET_S / 5, "redact() of a 799-character utterance"):
        out = redact(text)
    assert "4111 1111 1111 1111" not in out


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "digit groups, dashes": lambda n: "1-" * (n // 2),
    "digit groups, spaces": lambda n: "1 " * (n // 2),
    "full-width digit groups": lambda n: "１ " * (n // 2),
    "one long digit run": lambda n: "1" * n,
    "e-mail local part without @": lambda n: "a" * n,
    "dots without @": lambda n: "a." * (n // 2),
    "many @": lambda n: "a@" * (n // 2),
    "domain without a top-level label": lambda n: "x@" + "a." * (n // 2) + "1",
    "passcode word, then spaces": lambda n: "验证码" + " " * n,
    "passcode word, repeated": lambda n: "验证码是" * (n // 4),
    "digits, then spaces": lambda n: "1234" + " " * n,
    "code, then colons": lambda n: "code" + ":" * n,
    "cvv, then spaces": lambda n: "cvv" + " " * n,
    "password, then spaces": lambda n: "password:" + " " * n,
    "card number, then spaces": lambda n: "card number" + " " * n,
    "account number, repeated": lambda n: "account number 1234 " * (n // 20),
    "plus signs and digits": lambda n: " +11111111111111111111111" * (n // 25),
    "phone-like groups": lambda n: "(415) 555-" * (n // 10),
    "api key": lambda n: "ak_agent_" + "a" * n,
    "token query": lambda n: "token=" * (n // 6),
    "Chinese numerals": lambda n: "一" * n,
    "Chinese numerals with commas": lambda n: "一，" * (n // 2),
    "card word, then Chinese numerals": lambda n: ("卡号" + "一" * 40) * (n // 42),
    "digit words": lambda n: "one " * (n // 4),
    "digit words with commas": lambda n: "oh, " * (n // 4),
    "double, double": lambda n: "double " * (n // 7),
    "code is, then digit words": lambda n: ("code is " + "one " * 9) * (n // 44),
    "IBAN-like groups": lambda n: "GB82 " * (n // 5),
    "IBAN-like word": lambda n: "GB82" + "A" * n,
    "date of birth, then date parts": lambda n: "DOB " + "1 May " * (n // 6),
    "date of birth, repeated": lambda n: "date of birth is the " * (n // 21),
    "出生日期, repeated": lambda n: "出生日期是1985年" * (n // 10),
    "dates before 出生": lambda n: "1985年5月3日" * (n // 9) + "出生",
    "我叫, repeated": lambda n: "我叫" * (n // 2),
    "我是 and a surname, repeated": lambda n: "我是王" * (n // 3),
    "姓 and a surname, repeated": lambda n: "我姓王" * (n // 3),
    "my name is, then words": lambda n: "my name is " + "John " * (n // 5),
    "this is, then capitalised words": lambda n: "this is John " * (n // 13),
    "I'm, then capitalised words": lambda n: "I'm John Smith " * (n // 15),
    "my address is, then words": lambda n: "my address is " + "x " * (n // 2),
    "I live at, then one long word": lambda n: "I live at 1" + "a" * n,
    "我住在, then characters": lambda n: "我住在" + "北" * n,
    "我住在, repeated": lambda n: "我住在" * (n // 3),
    "地址是, repeated": lambda n: "地址是" * (n // 3),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_text_of_50k_characters_is_redacted_within_budget(name: str) -> None:
    text = ADVERSARIAL[name](50_000)
    with _budget(BUDGET_S, f"redact() of {name!r}"):
        redact(text)


# -- properties ---------------------------------------------------------------------------------------------
FULL_WIDTH = "".join(chr(ord("０") + i) for i in range(10))


def _with_luhn_digit(body: list[int]) -> str:
    for check in range(10):
        number = "".join(map(str, body)) + str(check)
        if luhn_ok(number):
            return number
    raise AssertionError("unreachable: one check digit always fits")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid 13–19 digit number, typed in groups of 1–5 digits."""
    number = _with_luhn_digit(draw(st.lists(st.integers(0, 9), min_size=12, max_size=18)))
    size = draw(st.integers(1, 5))
    sep = draw(st.sampled_from(_SEPARATORS))
    return sep.join(number[i : i + size] for i in range(0, len(number), size))


@st.composite
def digit_runs(draw: st.DrawFn) -> str:
    """Runs of short digit groups, ASCII or full width, with real card numbers mixed in, all kinds of separators."""
    groups = st.text(alphabet="0123456789" + FULL_WIDTH, min_size=1, max_size=5)
    parts = draw(st.lists(st.one_of(groups, groups, card_numbers()), min_size=1, max_size=40))
    seps = [draw(st.sampled_from(_SEPARATORS)) for _ in parts[1:]]
    before = draw(st.sampled_from(["", "+", "no. ", "卡号", "card number ", "tel "]))
    return before + parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))


_ZH_SPOKEN = dict(zip("零一二三四五六七八九", "0123456789", strict=True)) | {"〇": "0", "幺": "1", "两": "2", "兩": "2"}
_EN_SPOKEN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_SPOKEN_UNIT = re.compile(
    r"(?i)(?:(double|triple) )?\b(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b"
    r"|([零〇一二三四五六七八九幺两兩])"
)
_SPOKEN_SEPARATORS = [" ", ", ", ". ", "-", "  "]


def spoken_cards_left(text: str) -> list[str]:
    """The Luhn-valid 13–19 digit windows among digits said as words or Chinese numerals (brute force)."""
    units = list(_SPOKEN_UNIT.finditer(text))
    runs: list[list[str]] = []
    for prev, unit in zip([None, *units], units, strict=False):
        between = text[prev.end() : unit.start()] if prev else None
        if between is None or len(between) > 3 or any(c.isalnum() for c in between):
            runs.append([])
        if unit.group(3):
            runs[-1].append(_ZH_SPOKEN[unit.group(3)])
        else:
            digit = "0" if unit.group(2).lower() == "oh" else str(_EN_SPOKEN.index(unit.group(2).lower()))
            runs[-1].append(digit * {"double": 2, "triple": 3}.get((unit.group(1) or "").lower(), 1))
    found = []
    for groups in runs:
        for i in range(len(groups)):
            number = ""
            for g in groups[i:]:
                number += g
                if 13 <= len(number) <= 19 and luhn_ok(number):
                    found.append(number)
    return found


@st.composite
def spoken_numbers(draw: st.DrawFn) -> str:
    """A card number (and random digits around it) said digit by digit, in English or in Chinese numerals."""
    before = draw(st.lists(st.integers(0, 9), max_size=6))
    card = [int(c) for c in _with_luhn_digit(draw(st.lists(st.integers(0, 9), min_size=12, max_size=18)))]
    after = draw(st.lists(st.integers(0, 9), max_size=6))
    digits = before + card + after
    if draw(st.booleans()):
        words = [draw(st.sampled_from(["oh", "zero"])) if d == 0 else _EN_SPOKEN[d] for d in digits]
    else:
        words = [
            draw(st.sampled_from({0: "零〇", 1: "一幺", 2: "二两兩"}.get(d, "零一二三四五六七八九"[d]))) for d in digits
        ]
    out = words[0]
    for w in words[1:]:
        out += draw(st.sampled_from(_SPOKEN_SEPARATORS if w.isascii() else ["", "", " ", "，"])) + w
    return draw(st.sampled_from(["", "my number is ", "卡是", "ok "])) + out


PROPERTY = settings(
    max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(digit_runs())
def test_no_card_number_survives_in_a_run_of_digit_groups(text: str) -> None:
    out = redact(text)
    assert cards_left(out) == [], (text, out)


@PROPERTY
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=6), min_size=1, max_size=30))
def test_the_same_card_numbers_are_found_as_before(groups: list[str]) -> None:
    from assist.redact import _luhn_windows  # the linear search, against the old one on small runs

    assert _luhn_windows(groups) == _old_windows(groups)


@PROPERTY
@given(digit_runs())
def test_redaction_of_digit_runs_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@PROPERTY
@given(spoken_numbers())
def test_no_card_number_said_digit_by_digit_survives(text: str) -> None:
    out = redact(text)
    assert spoken_cards_left(out) == [], (text, out)
