"""Card and account numbers: digit runs with the separators people type, said digit by digit, or named by the
words before them; the Luhn check and the linear search for Luhn-valid windows of digit groups."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate

from assist.privacy.personal import PHONE_INTL, phone_digits_ok
from assist.privacy.spoken import ascii_digits, en_digit_run, spoken_groups, zh_numeral_run

# what people type between digit groups: spaces, dashes, dots, slashes (ASCII or full width), up to three in a row
_SEPARATOR = r"[ \t\u00a0\u3000\-\u2010-\u2015\uff0d./\uff0e\uff0f]{1,3}"
# a number said right after "card number" / "account number" is that number, checksum or not (a misheard
# digit, a passbook account): the words name it
_NUMBER_IS = r"(?:\s{0,3}(?:is|was|:|#)\s{0,3}|\s{0,3}(?:是|为|為|係|：|:|#)\s{0,3}|\s{1,3})?"
_CARD_CTX = re.compile(
    r"(?i)(?=[信银銀借扣卡c])((?:信用卡|银行卡|銀行卡|借记卡|借記卡|扣账卡|扣賬卡|卡)(?:号码|號碼|号|號)|(?<![A-Za-z])card\s+(?:number|no\.?|#))"
    + _NUMBER_IS
    + rf"(\d(?:(?:{_SEPARATOR})?\d){{7,18}}(?!\d)|{zh_numeral_run(8, 19)}|{en_digit_run(8, 19)})"
)
_ACCOUNT_CTX = re.compile(
    r"(?i)(?=[账賬帳户戶a])((?:账户|賬戶|帳戶|户口|戶口)(?:号码|號碼|号|號)?|账号|賬號|帳號|(?<![A-Za-z])account\s+(?:number|no\.?|#)"
    r"|(?<![A-Za-z])acct\.?(?:\s+no\.?)?)"
    + _NUMBER_IS
    + rf"(\d(?:(?:{_SEPARATOR})?\d){{7,29}}(?!\d)|{zh_numeral_run(8, 30)}|{en_digit_run(8, 30)})"
)
# digit groups (one run: "4111 1111 1111 1111", "4111.1111.1111.1111", "4111/1111-1111 1111"); a run may follow a
# "+" (checked as a card only when it is too long for a phone number); digits and separators never overlap, so a
# run is matched in one pass
_DIGIT_RUN = re.compile(rf"(?<!\d)\d+(?:{_SEPARATOR}\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
# card numbers said digit by digit, without a context word: 13 or more numerals or digit words in a row
_ZH_NUMERAL_RUN = re.compile(zh_numeral_run(13))
# "triple" counts three: five words can say 13 digits
_EN_DIGIT_RUN = re.compile("(?i)(?=[dtzonfse])" + en_digit_run(5))


def luhn_ok(number: str) -> bool:
    """Luhn checksum of a digit string (separators ignored)."""
    digits = ascii_digits(number)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _luhn_windows(groups: list[str]) -> list[tuple[int, int]]:
    """The card numbers in a run of digit groups, as (first, last) group indexes.

    A card is a window of whole groups with 13–19 digits in all that passes Luhn. Scanning left to right, the
    longest such window that starts at a group wins and the scan goes on after it. A window holds at most
    19 groups (every group has a digit), and prefix sums give each window's checksum in constant time, so the
    work is linear in the number of digits.
    """
    digits = [ord(ch) - 48 for g in groups for ch in g]
    offsets = list(accumulate((len(g) for g in groups), initial=0))
    luhn_doubled = [2 * d - 9 if d > 4 else 2 * d for d in digits]
    # plain[par][x]: sum of the digits at positions p < x with p % 2 == par; doubled[par][x]: the same with
    # each digit doubled the Luhn way
    plain = [list(accumulate((d if p & 1 == par else 0 for p, d in enumerate(digits)), initial=0)) for par in (0, 1)]
    doubled = [
        list(accumulate((d if p & 1 == par else 0 for p, d in enumerate(luhn_doubled)), initial=0)) for par in (0, 1)
    ]

    def luhn(a: int, b: int) -> bool:  # digits a..b-1; the last one is not doubled, the one before it is
        keep = (b - 1) & 1
        total = plain[keep][b] - plain[keep][a] + doubled[1 - keep][b] - doubled[1 - keep][a]
        return total % 10 == 0

    found: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        # the windows starting at group i that hold 13 to 19 digits end at groups first..last
        first = bisect_left(offsets, offsets[i] + 13) - 1
        last = bisect_right(offsets, offsets[i] + 19) - 2
        best = next((j for j in range(last, first - 1, -1) if luhn(offsets[i], offsets[j + 1])), -1)
        if best >= 0:
            found.append((i, best))
            i = best + 1
        else:
            i += 1
    return found


def _replace_windows(text: str, spans: list[tuple[int, int]], windows: list[tuple[int, int]], token: str) -> str:
    """``text`` with each window of ``spans`` (group i's start to group j's end) replaced by ``token``."""
    pieces: list[str] = []
    pos = 0
    for i, j in windows:
        pieces.append(text[pos : spans[i][0]] + token)
        pos = spans[j][1]
    pieces.append(text[pos:])
    return "".join(pieces)


def _is_intl_phone(m: re.Match[str]) -> bool:
    """Whether the digit run ``m`` follows a "+" and is, whole, the number that the phone step replaces."""
    plus = m.start() - 1
    if plus < 0 or m.string[plus] != "+":
        return False
    phone = PHONE_INTL.match(m.string, plus)
    return phone is not None and phone.end() == m.end() and phone_digits_ok(phone)


def _card_sub(m: re.Match[str]) -> str:
    """Redact the Luhn-valid card numbers inside a run of digit groups ("4111 1111 1111 1111 0925")."""
    run = m.group(0)
    found = list(_DIGIT_GROUP.finditer(run))
    groups = [g.group() for g in found] if run.isascii() else [ascii_digits(g.group()) for g in found]
    if sum(map(len, groups)) < 13 or _is_intl_phone(m):
        return run  # too short for a card, or a phone number that the phone step takes whole ("+86 138 1234 5678")
    windows = _luhn_windows(groups)
    return _replace_windows(run, [g.span() for g in found], windows, "[CARD]") if windows else run


def _spoken_card_sub(m: re.Match[str]) -> str:
    """Redact the Luhn-valid card numbers in a run of digits said as Chinese numerals or English words."""
    run = m.group(0)
    spans, groups = spoken_groups(run)
    if sum(map(len, groups)) < 13:
        return run
    windows = _luhn_windows(groups)
    return _replace_windows(run, spans, windows, "[CARD]") if windows else run


def redact_numbers_in_context(text: str) -> str:
    """Step 6 of :func:`assist.privacy.redact`: 8 or more digits said as a card or account number → [CARD] /
    [ACCOUNT], checksum or not; the words before the number stay."""
    out = _CARD_CTX.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + "[CARD]", text)
    return _ACCOUNT_CTX.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + "[ACCOUNT]", out)


def redact_card_numbers(text: str) -> str:
    """Step 7: other card numbers, typed in digit groups or said digit by digit, that pass Luhn → [CARD]."""
    out = _DIGIT_RUN.sub(_card_sub, text)
    out = _ZH_NUMERAL_RUN.sub(_spoken_card_sub, out)
    return _EN_DIGIT_RUN.sub(_spoken_card_sub, out)
