"""Whose digits: what a last-four question or cue is about, in three scripts, and a question for a code.

What the question asked for decides the kind of the answer's digits. "请报一下卡号后四位", "信用卡後四碼",
"the last four digits of the card", "尾號 0917 嘅卡" are about the card; "请报一下您身份证后四位",
"手機號碼後四碼", "the last four of your social", "your phone number ending 8803" are about something else (an ID,
a passport, a phone number, an account, a date of birth, a code): digits said in answer to them are the caller's
proof of identity, never the card's. A cue that names nothing ("尾号是多少？") is about the card, as a card
call asks.

A one-time code or a PIN the agent asks the caller to read out ("我给您发了验证码，请报一下", "What's the code
we just sent?") is a proof too; its digits are never a ticket's value. A sentence that warns about a code or asks
whether the caller gave it away ("验证码不要告诉任何人", "did you give anyone the code?") asks for none.

All patterns are bounded: each looks at a window of a few dozen characters around a cue.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from assist.aftercall.numbers import ZH_DIGITS, fold_width

logger = logging.getLogger(__name__)

About = Literal["card", "other"]

# a question for the last four digits (of anything: what it is about is read around it)
ASKS_LAST4 = re.compile(
    r"(?i)last (?:four|4)|尾号|尾號|后四位|後四位|后四码|後四碼|后4位|後4位|末四|尾四|卡号后|卡號後|最後四|最后四|"
    r"尾數|尾数"
)
_CUE = re.compile(ASKS_LAST4.pattern + r"|(?<![a-z])(?:ending|ends)(?![a-z])")

# the things whose last digits a caller is asked for besides the card; a phone or an ID card is no bank card
_OTHER_NUMBERS = (
    r"身份证|身份證|身分證|证件|證件|护照|護照|通行证|通行證|回乡证|回鄉證|台胞证|台胞證|居留证|居留證|健保卡|"
    r"八达通|八達通|手机卡|手機卡|手机号|手機號|电话号|電話號|手提号|手提號|账号|賬號|帳號|账户|賬戶|帳戶|户口|戶口|"
    r"存折|存摺|验证码|驗證碼|动态码|動態碼|校验码|校驗碼|短信码|簡訊碼|密码|密碼|生日|出生|社保|"
    r"(?<![a-z])(?:id card|identity card|identification|social security|social|ssn|passport|hkid|id|"
    r"(?:phone|mobile|cell|telephone|contact) number|sim card|sim|account|acct|date of birth|birthday|dob|"
    r"verification code|security code|code|otp|pin|password|passcode|tax|licen[cs]e|national insurance)(?![a-z])"
)
_DEVICES = r"手机|手機|电话|電話|手提|(?<![a-z])(?:phone|mobile|cell)(?![a-z])"
_CARD = r"卡|(?<![a-z])cards?(?![a-z])"
# the nearest thing named: numbers first at one place ("ID card" is an ID, "手机卡" a SIM, "手机号" a number)
_NAMED = re.compile(rf"(?i)(?P<other>{_OTHER_NUMBERS})|(?P<card>{_CARD})")
_NAMED_OR_DEVICE = re.compile(rf"(?i)(?P<other>{_OTHER_NUMBERS}|{_DEVICES})|(?P<card>{_CARD})")
# what may stand between a thing and its last-four cue: 身份证号码的后四位, 卡片尾數, "your social's last four"
_LINK = r"(?:号码|號碼|号|號|码|碼|的|嘅|之|片|上|最|\s|[，,、:：]|'s|’s|s'|\snumber|\sno\.?){0,4}$"
_TIGHT = re.compile(rf"(?i)(?:(?P<other>{_OTHER_NUMBERS}|{_DEVICES})|(?P<card>{_CARD})){_LINK}")
# "last four (digits) of your social", "the last 4 on the card"
_OF = re.compile(r"(?i)(?:\s(?:digits?|numbers?))?\s(?:of|on|from|for|in)\s(?:your|the|my|that|this|his|her)?\s?")
# after the digits: 尾号八八零三那张卡, 尾號0917的提款卡, 尾号4411的手机
_OF_NAMED = re.compile(rf"(?i)(?:[a-z'-]+\s){{0,2}}?(?:(?P<other>{_OTHER_NUMBERS}|{_DEVICES})|(?P<card>{_CARD}))")
_AFTER = re.compile(
    r"^(?:\s?(?:的|嘅|那张|那張|嗰张|嗰張|这张|這張|张|張|那个|那個|嗰個)\s?[^\s，。,.!?！？]{0,3}|[^\s，。,.!?！？]{0,2})$"
)
_SENTENCE_END = re.compile(r"[。！？!?；;]|\.\s")


def _kind(m: re.Match[str] | None) -> About | None:
    if m is None:
        return None
    return "card" if m.group("card") else "other"


def _sentence_before(text: str, start: int, width: int) -> str:
    window = text[max(0, start - width) : start]
    ends = list(_SENTENCE_END.finditer(window))
    return window[ends[-1].end() :] if ends else window


def named_about(text: str, start: int, end: int, digits_end: int | None = None) -> About | None:
    """What the last-four cue at text[start:end] names, or None when it names nothing: the thing right before
    the cue (身份证号码后四位, "your social's last four"), the thing after the digits (尾号八八零三那张卡),
    the thing after an English "of" ("last four of your phone number"), else the nearest number named before it
    in the same sentence (登记的手机号是138开头、尾号4411; a phone itself is named only right before the cue)."""
    if "卡" in text[start:end]:  # 卡号后四位: the cue names the card itself
        return "card"
    tight = _kind(_TIGHT.search(text[max(0, start - 24) : start]))
    if tight is not None:
        return tight
    if digits_end is not None:
        after = text[digits_end : digits_end + 8]
        for m in _NAMED_OR_DEVICE.finditer(after):
            if _AFTER.match(after[: m.start()]):
                return _kind(m)
    of = _OF.match(text, end)
    if of is not None:  # "of your Visa card", "of the registered phone number": two words at most in between
        return _kind(_OF_NAMED.match(text, of.end()))
    said = list(_NAMED.finditer(_sentence_before(text, start, 16)))
    return _kind(said[-1]) if said else None


def asks_card_last4(text: str) -> bool:
    """Whether an agent turn asks for the card's last four digits (a cue about the card, or naming nothing)."""
    text = fold_width(text)
    return any(named_about(text, m.start(), m.end()) != "other" for m in ASKS_LAST4.finditer(text))


def asks_other_last4(text: str) -> bool:
    """Whether an agent turn asks for last four digits of something else only (an ID, a phone number, an
    account…): the answer is a proof of identity."""
    text = fold_width(text)
    cues = list(ASKS_LAST4.finditer(text))
    return bool(cues) and all(named_about(text, m.start(), m.end()) == "other" for m in cues)


def cue_is_card(text: str, start: int, end: int, digits_end: int | None = None) -> bool:
    """Whether digits said with a last-four cue are the card's: the cue names the card or nothing."""
    return named_about(fold_width(text), start, end, digits_end) != "other"


def names_card_at(text: str, digits_start: int, digits_end: int) -> bool:
    """Whether the digits at text[digits_start:digits_end] come with a cue that names the card itself
    (卡号后四位, "card ending in"), or are a whole card number (13 digits or more)."""
    folded = fold_width(text)
    if sum(c.isdigit() for c in folded[digits_start:digits_end]) >= 13:
        return True
    base = max(0, digits_start - 30)
    cues = list(_CUE.finditer(folded[base:digits_start]))
    return bool(cues) and named_about(folded, base + cues[-1].start(), base + cues[-1].end(), digits_end) == "card"


# -- a one-time code or a PIN asked for ------------------------------------------------------------------------
_CODE = re.compile(
    r"(?i)验证码|驗證碼|动态码|動態碼|校验码|校驗碼|短信码|簡訊碼|认证码|認證碼|密码|密碼|"
    r"(?<![a-z])(?:code|otp|pin|password|passcode|one-time)(?![a-z])"
)
_SAY = re.compile(
    r"(?i)报|報|念|唸|读|讀|说|說|讲|講|告诉我|告訴我|提供|输入|輸入|多少|係咩|是什么|是什麼|"
    r"(?<![a-z])(?:read|tell me|give me|what(?:'s| is| was)|say|enter|confirm|repeat)(?![a-z])"
)
# a warning, a question whether the caller gave it away, someone else asking: no code asked for
_NOT_ASKED = re.compile(
    r"(?i)不要|不会|不會|不能|不可|不得|不用|从不|從不|唔好|唔會|唔可以|唔使|别|別|勿|千万|千萬|任何人|别人|別人|"
    r"对方|對方|(?<!其)他|她|佢|有没有|有冇|有無|是否|是不是|係唔係|"
    r"(?<![a-z])(?:never|not|don't|do not|no one|nobody|anyone|anybody|someone|they|them|he|she|did you|"
    r"have you|has anyone|scam|fraud)(?![a-z])"
)
_SENTENCES = re.compile(r"[^。！？!?；;]+")


def asks_code(text: str) -> bool:
    """Whether an agent turn asks the caller to read out a one-time code or a PIN ("请报一下您收到的验证码",
    "What's the code we just sent you?"); not a warning ("验证码不要告诉任何人") nor a question whether the
    caller gave one away ("对方有没有让您提供验证码？", "Did you give them the code?")."""
    for s in _SENTENCES.finditer(text):
        said = s.group(0)
        if _CODE.search(said) and _SAY.search(said) and not _NOT_ASKED.search(said):
            return True
    return False


_SPOKEN_DIGIT = re.compile(
    r"(?i)[0-9]|[零〇一二三四五六七八九幺两兩]|(?<![a-z])(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z])"
)
_ANSWER_NOISE = re.compile(r"(?i)[\s,.，。]|是|係|就|嗯|呃|(?<![a-z])(?:um|uh|it's|it is)(?![a-z])")
EN_DIGIT = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
EN_DIGIT.update({"seven": "7", "eight": "8", "nine": "9"})


def bare_last4(text: str) -> str | None:
    """The four digits of an answer made of nothing else ("four oh seven one", "一 五 八 八", "6209"), said
    after the agent asked for last four digits; None when the turn holds more or fewer digits."""
    folded = fold_width(text)
    found = _SPOKEN_DIGIT.findall(folded)
    if len(found) != 4 or len(_ANSWER_NOISE.sub("", _SPOKEN_DIGIT.sub("", folded))) > 6:
        return None
    return "".join(d if d.isdigit() else str(ZH_DIGITS[d]) if d in ZH_DIGITS else EN_DIGIT[d.lower()] for d in found)
