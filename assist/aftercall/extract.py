"""Values a ticket needs, from one turn, in Simplified and Traditional Chinese (Cantonese included) and English.

`extract_turn(text, turn=n, ref_date=d)` returns `Value`s of these kinds, each with the turn it came from:

- ``amount`` ("300", "2500", "1200.50") and ``currency`` (ISO code: CNY, HKD, TWD, USD; only when said or
  unambiguous: 块 in Simplified text is CNY, 蚊 is HKD, a bare 元 in Traditional text or "dollars" is left
  for the agent to ask);
- ``date`` (ISO, relative forms resolved against `ref_date`: 昨天, 尋日, yesterday, 上周五, last Friday) and
  ``time`` ("15:30", or a part of the day: morning, noon, afternoon, evening, night);
- ``card_last4``: only ever the last four digits, whether the turn holds a whole card number or "尾号1234";
- ``merchant``, ``channel`` (app, online, phone, branch, atm, email, sms, address, wechat) and ``product_name``.

All patterns are bounded (no nested unbounded repetition): linear in the length of the turn.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from assist.aftercall.asked_digits import EN_DIGIT as _EN_DIGIT
from assist.aftercall.asked_digits import cue_is_card
from assist.aftercall.channels import CHANNEL as _CHANNEL
from assist.aftercall.channels import CHANNELS as _CHANNELS
from assist.aftercall.clocks import EN_CLOCK as _EN_CLOCK
from assist.aftercall.clocks import times as _times
from assist.aftercall.numbers import ZH_DIGITS, NumberMention, Value, find_numbers, fold_width, small_int

logger = logging.getLogger(__name__)

KINDS = ("amount", "currency", "date", "time", "card_last4", "merchant", "channel", "product_name")


# -- amounts and currencies -------------------------------------------------------------------------------
_PREFIX = re.compile(
    r"(?i)(?P<c>hk\$|nt\$|us\$|rmb|hkd|twd|ntd|usd|cny|人民币|人民幣|港币|港幣|港元|新台币|新台幣|新臺幣|台币|台幣|臺幣|美元|美金|¥|￥|\$)\s{0,2}$"
)
_UNIT = re.compile(
    r"(?i)^\s{0,2}(?:多|几|幾|來|来)?\s{0,1}(?P<c>块钱|塊錢|块|塊|元|圆|圓|蚊|港元|港币|港幣|美元|美金|人民币|人民幣|"
    r"新台币|新台幣|新臺幣|台币|台幣|臺幣|港紙|港纸|hong kong dollars|hk dollars|us dollars|nt dollars|"
    r"taiwan dollars|dollars|dollar|bucks|yuan|kuai|"
    r"rmb|hkd|usd|twd|ntd|cny)"
    r"(?![a-z])"
)
_CURRENCY = {
    "hk$": "HKD", "hkd": "HKD", "港币": "HKD", "港幣": "HKD", "港元": "HKD", "蚊": "HKD", "hong kong dollars": "HKD",
    "hk dollars": "HKD", "nt$": "TWD", "twd": "TWD", "ntd": "TWD", "新台币": "TWD", "新台幣": "TWD", "台币": "TWD",
    "台幣": "TWD", "新臺幣": "TWD", "臺幣": "TWD", "us$": "USD", "usd": "USD", "美元": "USD", "美金": "USD",
    "us dollars": "USD", "rmb": "CNY", "港紙": "HKD", "港纸": "HKD", "nt dollars": "TWD", "taiwan dollars": "TWD",
    "kuai": "CNY",
    "cny": "CNY", "人民币": "CNY", "人民幣": "CNY", "¥": "CNY", "￥": "CNY", "yuan": "CNY",
}  # fmt: skip
_CNY_IF_SIMPLIFIED = {"块钱", "块", "元", "圆"}
_CANTONESE = re.compile("[咗嘅唔係喺啲冇佢哋嚟咁]")
_TRADITIONAL_ONLY = re.compile("[塊錢圓幣號點時張這個萬兩們麼說還過費額貨賬帳戶]")


def _currency_of(token: str, text: str) -> str | None:
    t = token.lower()
    if t in _CURRENCY:
        return _CURRENCY[t]
    if t in _CNY_IF_SIMPLIFIED and not _TRADITIONAL_ONLY.search(text) and not _CANTONESE.search(text):
        return "CNY"
    if t in {"元", "塊", "塊錢"} and _CANTONESE.search(text):
        return "HKD"
    return None  # "$", "dollars", 元 in Taiwan or Hong Kong text: the agent asks


def amount_value(number: Decimal) -> str:
    """An amount as a plain decimal string ("300", "1200.5")."""
    amount = number.normalize()
    return format(amount.quantize(Decimal(1)) if amount == amount.to_integral() else amount, "f")


def _amount(text: str, n: NumberMention, turn: int) -> list[Value]:
    before = _PREFIX.search(text[max(0, n.start - 8) : n.start])
    after = _UNIT.match(text[n.end : n.end + 24])
    if before is None and after is None:
        return []
    value = amount_value(n.value)
    start = n.start - (len(before.group(0)) if before else 0)
    end = n.end + (after.end() if after else 0)
    out = [Value("amount", value, turn, start, end, text[start:end])]
    token = (before or after).group("c")  # type: ignore[union-attr]
    currency = _currency_of(token, text)
    if currency:
        out.append(Value("currency", currency, turn, start, end, token))
    return out


# -- dates ----------------------------------------------------------------------------------------------------
_ZH_NUM = "[0-9一二三四五六七八九十]{1,3}"
_ZH_DATE = re.compile(
    rf"(?:(?P<y>[0-9]{{4}})\s?年\s?)?(?P<m>{_ZH_NUM})\s?月\s?(?P<d>{_ZH_NUM})\s?(?:日|号|號)?(?![0-9])"
)
_ISO_DATE = re.compile(r"(?<![0-9])(?P<y>20[0-9]{2})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?![0-9])")
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12, "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MON = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_WORDS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|" + (
    "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
)
_EN_DAY = rf"(?:(?P<dd>[0-9]{{1,2}})(?:st|nd|rd|th)?|(?:the\s)?(?:twenty[\s-]|thirty[\s-])?(?P<dw>{_DAY_WORDS}))"
_EN_DATE_DM = re.compile(rf"(?i)(?<![a-z0-9]){_EN_DAY}\s(?:of\s)?{_MON}(?![a-z])")
_THIS_OR_LAST_YEAR = re.compile("[今去]年")
_EN_YEAR_AFTER = re.compile(
    r"(?i),?\s{0,2}(?:19[0-9]{2}|(?:nineteen\s)?(?:fifty|sixty|seventy|eighty|ninety)(?:[\s-][a-z]{3,5})?)(?![0-9])"
)
_EN_DATE_MD = re.compile(rf"(?i)(?<![a-z]){_MON}\s(?:the\s)?{_EN_DAY}(?![a-z0-9])")

_RELATIVE = re.compile(
    r"(?i)(?P<w>大前天|前天|前日|前晚|昨天|昨日|昨晚|昨夜|尋日|寻日|琴日|噚日|尋晚|寻晚|琴晚|噚晚|今天|今日|今朝|今早|今晚|"
    r"the day before yesterday|yesterday|today|this morning|this afternoon|this evening|tonight|"
    r"last night|last evening)"
)
_RELATIVE_DAYS = {
    "大前天": -3, "前天": -2, "前日": -2, "昨天": -1, "昨日": -1, "尋日": -1, "寻日": -1, "琴日": -1, "噚日": -1,
    "今天": 0, "今日": 0, "今朝": 0, "the day before yesterday": -2, "yesterday": -1, "today": 0,
    "this morning": 0, "this afternoon": 0, "tonight": 0,
    # the evening or night before, and this morning or evening (Cantonese 琴晚 / 尋晚: last night)
    "前晚": -2, "昨晚": -1, "昨夜": -1, "尋晚": -1, "寻晚": -1, "琴晚": -1, "噚晚": -1, "今早": 0, "今晚": 0,
    "this evening": 0, "last night": -1, "last evening": -1,
}  # fmt: skip
_NEXT_MONTH = re.compile(
    r"(?:下个月|下個月|next month on the|next month)\s?(?P<d>[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s?(?:号|號|日)?"
)
_EN_NEXT_MONTH = re.compile(rf"(?i)(?<![a-z0-9]){_EN_DAY}\s(?:of\s)?next month(?![a-z])")  # "the first of next month"
# a day of the month said alone (5号, 二十八號) or of last or this month; not 月 before it (3月5号 is a date
# of its own) nor a street before it (唐德街九號), nor a line, floor, room or counter after it (二号线, 5號樓)
_LAST_MONTH = frozenset(("上个月", "上個月"))
_MONTH_DAY = re.compile(
    r"(?<![0-9一二三四五六七八九十月年街道路巷弄里邨村])(?P<rel>上个月|上個月|这个月|這個月|呢個月|呢个月|本月)?\s?"
    r"(?P<d>[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s?(?:号|號)(?![线線楼樓房室门門座台柜櫃码碼窗风風])"
)
# "on the 28th": a day of the month said alone in English (digits, after on/since/from: "the 2nd card" is no date), not
# before a month ("the 28th of July" is a date of its own) nor "of next month"
_EN_MONTH_DAY = re.compile(
    r"(?i)(?<![a-z0-9])(?:on|since|from|until|till)\sthe\s(?P<d>[0-9]{1,2})(?:st|nd|rd|th)(?![a-z0-9])"
    r"(?!\s(?:of\s)?(?:next|this|last|" + "|".join(_MONTHS) + "))"
)
_DAYS_AGO = re.compile(r"(?i)(?P<n>[0-9一二三四五六七八九十两兩]{1,3})\s?(?:天前|日前|days? ago)")
_WEEKDAY = re.compile(
    r"(?i)(?:(?P<last>上个|上個|上)|(?P<next>下个|下個|下)|(?P<this>这个|這個|呢個|呢个|这|這|本))?"
    r"(?:星期|礼拜|禮拜|周|週)(?P<zh>[一二三四五六日天])|"
    r"(?:(?P<last2>last\s)|(?P<next2>next\s|this\scoming\s|coming\s)|(?P<this2>this\s))?"
    r"(?P<en>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_EN_WEEKDAY = {d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))}
_EN_WEEKDAY["sunday"] = 6


_small = small_int


def _make_date(y: int, m: int, d: int, ref: date) -> date | None:
    try:
        out = date(y, m, d)
    except ValueError:
        return None
    return out


def _absolute_dates(text: str, turn: int, ref: date) -> list[Value]:
    out: list[Value] = []
    for rx in (_ISO_DATE, _ZH_DATE):
        for m in rx.finditer(text):
            month, day = _small(m.group("m")), _small(m.group("d"))
            if not month or not day:
                continue
            before = text[max(0, m.start() - 3) : m.start()]
            if not m.group("y") and "年" in before and not _THIS_OR_LAST_YEAR.search(before):
                continue  # 八三年四月二十五號, 民國八十二年五月九號: a year said in words (a birth date), not an event
            year = int(m.group("y")) if m.group("y") else ref.year - ("去年" in before)
            if m.group("y") or "去年" in before:
                found = _make_date(year, month, day, ref)
                out += [Value("date", found.isoformat(), turn, m.start(), m.end(), m.group(0))] if found else []
            else:
                out += _yearless(month, day, ref, turn, m)
    for rx in (_EN_DATE_DM, _EN_DATE_MD):
        for m in rx.finditer(text):
            day = _en_day(m)
            month = _MONTHS[m.group("mon").lower()]
            if _EN_YEAR_AFTER.match(text, m.end()):
                continue  # "14 July 1987", "ninth of September, eighty-eight": a birth date, not an event
            out += _yearless(month, day, ref, turn, m) if day else []
    return out


def _yearless(month: int, day: int, ref: date, turn: int, m: re.Match[str]) -> list[Value]:
    """A date said without its year, two ways: ``date``, the latest such day up to the call's (an event that
    happened: "3月5日" said in January is last year's), and ``date_next``, the first such day from the call's
    on (a date the customer asks for, such as a change's effective date: "1st of December" said in November)."""
    out: list[Value] = []
    this_year = _make_date(ref.year, month, day, ref)
    past = this_year if this_year and this_year <= ref else _make_date(ref.year - 1, month, day, ref)
    ahead = this_year if this_year and this_year >= ref else _make_date(ref.year + 1, month, day, ref)
    for kind, found in (("date", past), ("date_next", ahead)):
        if found:
            out.append(Value(kind, found.isoformat(), turn, m.start(), m.end(), m.group(0)))
    return out


def dates_for(values: list[Value], *, ahead: bool, ref_date: date) -> list[Value]:
    """The dates a date field chooses from: a date the customer asks for (`ahead`, an effective date) takes a
    day said without its year as the next one (``date_next``) and prefers days from the call's on; an event's
    date prefers days up to the call's."""
    nexts = {(v.turn, v.start): v for v in values if v.kind == "date_next"}
    if ahead:
        said = [v for v in values if v.kind == "date" and (v.turn, v.start) not in nexts] + list(nexts.values())
        dates = [replace(v, kind="date") for v in sorted(said, key=lambda v: (v.turn, v.start))]
        return [v for v in dates if v.value >= ref_date.isoformat()] or dates
    dates = [v for v in values if v.kind == "date"]
    return [v for v in dates if v.value <= ref_date.isoformat()] or dates


def _en_day(m: re.Match[str]) -> int | None:
    if m.group("dd"):
        return int(m.group("dd"))
    from assist.aftercall.numbers import EN_ORDINALS

    word = m.group("dw").lower()
    base = EN_ORDINALS.get(word)
    prefix = m.group(0).lower()
    tens = 20 if "twenty" in prefix else 30 if "thirty" in prefix else 0
    return (base or 0) + tens if base else None


def _relative_dates(text: str, turn: int, ref: date) -> list[Value]:
    out: list[Value] = []
    for m in _RELATIVE.finditer(text):
        found = ref + timedelta(days=_RELATIVE_DAYS[m.group("w").lower()])
        out.append(Value("date", found.isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _NEXT_MONTH.finditer(text):
        day = _small(m.group("d"))
        month_after = (ref.replace(day=1) + timedelta(days=32)).replace(day=1)
        found_next = _make_date(month_after.year, month_after.month, day, ref) if day else None
        if found_next:
            out.append(Value("date", found_next.isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _EN_NEXT_MONTH.finditer(text):
        day = _en_day(m)
        month_after = (ref.replace(day=1) + timedelta(days=32)).replace(day=1)
        found_next = _make_date(month_after.year, month_after.month, day, ref) if day else None
        if found_next:
            out.append(Value("date", found_next.isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _MONTH_DAY.finditer(text):  # 上个月五号, 5号那天: a day of last or this month
        day = _small(m.group("d"))
        month_of = ref.replace(day=1) if m.group("rel") not in _LAST_MONTH else (ref.replace(day=1) - timedelta(days=1))
        found_day = _make_date(month_of.year, month_of.month, day, ref) if day else None
        if found_day and found_day > ref and not m.group("rel"):  # the 25th said on the 3rd: last month's
            last = ref.replace(day=1) - timedelta(days=1)
            found_day = _make_date(last.year, last.month, day, ref) if day else None
        if found_day and found_day <= ref:
            out.append(Value("date", found_day.isoformat(), turn, m.start(), m.end(), m.group(0)))
        this_month = _make_date(ref.year, ref.month, day, ref) if day else None
        if this_month and this_month >= ref and m.group("rel") not in _LAST_MONTH:  # 从这个月十五号开始
            out.append(Value("date_next", this_month.isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _EN_MONTH_DAY.finditer(text):  # the 28th said on the 3rd: last month's; said on the 30th: this one's
        day = int(m.group("d"))
        this_month = _make_date(ref.year, ref.month, day, ref)
        before, after = ref.replace(day=1) - timedelta(days=1), (ref.replace(day=1) + timedelta(days=32))
        past = this_month if this_month and this_month <= ref else _make_date(before.year, before.month, day, ref)
        ahead = this_month if this_month and this_month >= ref else _make_date(after.year, after.month, day, ref)
        for kind, said in (("date", past), ("date_next", ahead)):
            if said:
                out.append(Value(kind, said.isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _DAYS_AGO.finditer(text):
        n = _small(m.group("n").replace("两", "二").replace("兩", "二"))
        if n:
            out.append(Value("date", (ref - timedelta(days=n)).isoformat(), turn, m.start(), m.end(), m.group(0)))
    for m in _WEEKDAY.finditer(text):
        wd = _ZH_WEEKDAY[m.group("zh")] if m.group("zh") else _EN_WEEKDAY[m.group("en").lower()]
        if m.group("last"):  # 上周五: that day of the week before this one
            back = ref.weekday() - wd + 7
        elif m.group("last2"):  # last Friday: the latest Friday before today
            back = (ref.weekday() - wd) % 7 or 7
        elif m.group("next"):  # 下礼拜一: that day of next week
            back = ref.weekday() - wd - 7
        elif m.group("next2"):  # next / this coming Monday: the first Monday after today
            back = -((wd - ref.weekday()) % 7 or 7)
        elif m.group("this") or m.group("this2"):  # 这周五, this Friday: that day of this week
            back = ref.weekday() - wd
        else:  # 星期五, on Friday: the latest Friday, today included
            back = (ref.weekday() - wd) % 7
        found = ref - timedelta(days=back)
        out.append(Value("date", found.isoformat(), turn, m.start(), m.end(), m.group(0)))
    return out


# -- cards, merchants, channels, products -------------------------------------------------------------------
_FULL_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_LAST4_CUE = re.compile(
    r"(?i)(?:尾号|尾號|尾数|尾數|后四位|後四位|末四位|末四码|末四碼|后四码|後四碼|尾四码|尾四碼|"
    r"ending in|ends in|ending with|"
    r"ends with|card ending|last (?:four|4) digits?"
    r"(?: are| is| of)?)[^0-9零〇一二三四五六七八九幺两兩a-z]{0,6}"
    r"(?P<d>[0-9]{4}(?![0-9])|[0-9](?:\s[0-9]){3}(?!\s?[0-9])|[零〇一二三四五六七八九幺两兩](?:\s?[零〇一二三四五六七八九幺两兩]){3}|(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)[\s,-]{1,2}){3}"
    r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine))"
)


def _cards(text: str, turn: int) -> list[Value]:
    out: list[Value] = []
    for m in _FULL_CARD.finditer(text):
        digits = re.sub(r"[^0-9]", "", m.group(0))
        out.append(Value("card_last4", digits[-4:], turn, m.start(), m.end(), "…" + digits[-4:]))
    for m in _LAST4_CUE.finditer(text):
        if not cue_is_card(text, m.start(), m.start("d"), m.end("d")):
            continue  # 身份证后四位3307, "my phone number ending 8803": not the card's
        raw = m.group("d")
        if raw.replace(" ", "").isdigit():  # "3 9 1 5": digits read one by one
            digits = raw.replace(" ", "")
        elif raw[0] in ZH_DIGITS:
            digits = "".join(str(ZH_DIGITS[c]) for c in raw if c in ZH_DIGITS)
        else:
            digits = "".join(_EN_DIGIT[w.lower()] for w in re.findall(r"[A-Za-z]{2,5}", raw))
        out.append(Value("card_last4", digits, turn, m.start("d"), m.end("d"), "…" + digits))
    return out


_STOP = "，。,.!?！？、；;：:\\s的了我你他她在是"
# 在那个鲜丰生活超市买东西, 喺 GoodBuy 好買網買咗: a demonstrative or filler before the name is not part of it
_DEMONSTRATIVE = (
    "(?:那个|那個|这个|這個|那家|这家|這家|那间|那間|嗰间|嗰間|嗰個|嗰个|呢间|呢間|一家|一间|一間|一个|一個|呃|嗯)"
)
_ZH_MERCHANT = re.compile(
    rf"(?:在|喺|於|于)\s?{_DEMONSTRATIVE}?\s?(?P<m>[^{_STOP}0-9]"
    rf"(?:[^{_STOP}0-9]|[0-9](?=[A-Za-z])| (?=[^{_STOP}0-9])){{1,15}}?"
    # 在京东被扣了: a passive marker between the shop and the debit is not part of the name
    r"(?:网站|網站|商城|店|超市|网|網)?)\s?(?:被|给|給|俾|遭)?(?:消费|消費|刷了|刷卡|碌咗|碌卡|买|買|购物|購物|付款|支付|"
    r"扣了|扣款|簽帳|签账|簽賬|网购|網購|下单|下單)(?!网|網|店|商城|超市)"
)
# 在优品家居网。, 喺美心西餅店: a shop named where the clause ends, with no purchase word after it
_ZH_SHOP_AT_END = re.compile(
    rf"(?:在|喺|於|于)\s?{_DEMONSTRATIVE}?\s?(?P<m>[^{_STOP}0-9]{{2,12}}?"
    r"(?:网站|網站|网店|網店|商城|超市|百货|百貨|商场|商場|店|网|網))(?=\s*(?:$|[，。,.!！;；]))"
)
_QUESTION = re.compile(r"什么|什麼|吗|嗎|谁|誰|哪|咩|边个|邊個|还是|還是|定係|[?？]")
_CLAUSE_REST = re.compile(r"[^，。,.!！;；]{0,16}")
_ZH_MERCHANT_NAMED = re.compile(
    r"(?:商户|商戶|商家|收款人|收款方|收款(?:账户|帳戶|帐户|户名|戶名))(?:名称|名稱|名字|名)?(?:显示|顯示)?"
    rf"(?:是|叫|係|为|為)?[:：]?\s?[“「『\"]?(?P<m>[^{_STOP}0-9“”「」『』\"]{{2,16}})"
)
# 一个叫优购商城的网站, 一間叫 Fresh Mart 嘅舖頭: the name after 叫, before the kind of place
_ZH_MERCHANT_CALLED = re.compile(
    rf"(?:叫做|名叫|叫)\s?(?P<m>[^{_STOP}0-9](?:[^{_STOP}0-9]| (?=[^{_STOP}0-9])){{1,15}}?)\s?(?:的|嘅)\s?"
    r"(?:网站|網站|商城|商店|商户|商戶|店|舖頭|铺头|公司|平台|app|APP|網店|网店|人|男人|女人|账户|帳戶|账号|帳號)"
)
# a card statement's descriptor (APPLE.COM/BILL, AMZN*MKTP): capitals with a dot, slash or star in them
_DESCRIPTOR = re.compile(r"(?<![A-Za-z0-9])(?P<m>[A-Z][A-Z0-9]{1,15}[.*/][A-Z0-9.*/ -]{1,24}[A-Z0-9])(?![A-Za-z0-9])")
_EN_MERCHANT = re.compile(
    r"(?:\b(?:at|from|to|by|merchant(?: is| was| called)?|(?:payee|recipient|beneficiary|shop|store|company)"
    r" (?:named|called))\s)(?:(?:that|this|the|some)\s)?"
    r"(?P<m>[A-Z0-9][A-Za-z0-9&'.-]{1,30}"
    r"(?:\s[A-Z][A-Za-z0-9&'.-]{1,30}){0,3})"
)
# a payment read back from the record: the name between its date and its amount ("11月28日KKBOX新臺幣1,280元",
# "11月17号盒马鲜生两笔人民币300元"); not a time of day or a transfer's account said there instead
_READ_BACK = re.compile(
    rf"{_ZH_NUM}\s?月\s?{_ZH_NUM}\s?(?:日|号|號)\s?(?:有)?(?:一笔|一筆|两笔|兩筆)?\s?"
    r"(?P<m>[A-Za-z\u4e00-\u9fff][^，。,、；;：:\s0-9“”「」]{1,20}?)\s?(?:有)?(?:一笔|一筆|两笔|兩筆)?\s?"
    r"(?:人民币|人民幣|新臺幣|新台幣|台幣|臺幣|港幣|港币|港元|美元|HK\$|NT\$|US\$|RMB|¥|\$)\s?[0-9一二三四五六七八九十两兩]"
)
_NOT_SHOP = re.compile(
    r"[点點时時分笔筆]|上午|下午|晚上|早上|凌晨|中午|夜晚|左右|大约|大約|转|轉|从|從|有|的|嘅|消费|消費|交易"
)
# a brand in Latin letters right before the debit it made, in Chinese text ("KKBOX 扣了一千二", "Netflix 自動扣咗")
_LATIN_DEBIT = re.compile(
    r"(?<![A-Za-z0-9])(?P<m>[A-Z][A-Za-z0-9.*&'-]{1,20}(?:\s[A-Z][A-Za-z0-9.*&'-]{1,20}){0,2})\s?"
    r"(?:自动|自動)?(?:扣了|扣咗|扣款|扣我|收了|收咗|收我|划了|劃了|划走|劃走)"
)
_NOT_MERCHANT = {"i", "the", "my", "our", "this", "that", "your", "harbor", "harbour", "it", "a", "me"}
_PRODUCT_QUOTED = re.compile(r"[「《“\"](?P<p>[^」》”\"]{2,30})[」》”\"]")
_PRODUCT_ZH = re.compile(
    rf"(?P<p>[^{_STOP}这這那个個款只隻买買些种種什么麼咗嘅叫「」《》“”]{{2,10}}?(?:理财|理財|基金|债券|債券|保险计划|保險計劃|年金){{1,2}})"
)
_PRODUCT_EN = re.compile(r"(?P<p>(?:[A-Z][A-Za-z0-9-]{1,20}\s){1,4}(?:Fund|Bond|Plan|Note|Notes|Portfolio|Annuity))")


def _named(text: str, turn: int) -> list[Value]:
    out: list[Value] = []
    for rx in (_DESCRIPTOR, _ZH_MERCHANT, _ZH_SHOP_AT_END, _ZH_MERCHANT_NAMED, _ZH_MERCHANT_CALLED, _EN_MERCHANT,
               _READ_BACK, _LATIN_DEBIT):  # fmt: skip
        for m in rx.finditer(text):
            name = m.group("m").split(". ")[0].strip(" .'")  # "Lee Ka Ming. Is that…": the sentence ends
            if rx is _READ_BACK and _NOT_SHOP.search(name):
                continue
            if rx is _ZH_MERCHANT and len(name) > 2:
                name = name.rstrip("上里裡度")  # 在淘宝上买: the place, not 上
            if rx in (_ZH_MERCHANT, _ZH_SHOP_AT_END) and len(name) > 4 and name[-2:] in ("网站", "網站"):
                name = name[:-2]  # 在晨光生活館網站買: the shop, not the word "website"
            low = name.lower()
            if low in _NOT_MERCHANT or low in _CHANNELS or name.isdigit() or _EN_CLOCK.fullmatch(name):
                continue
            rest = _CLAUSE_REST.match(text, m.end("m"))
            if _QUESTION.search(name) or (rx is not _EN_MERCHANT and rest and _QUESTION.search(rest.group(0))):
                continue  # 收款人您还记得叫什么吗, 收款人是个人还是公司？: the agent's question, not a name
            out.append(Value("merchant", name, turn, m.start("m"), m.end("m"), name))
    for m in _CHANNEL.finditer(text):
        out.append(Value("channel", _CHANNELS[m.group(1).lower()], turn, m.start(), m.end(), m.group(0)))
    for rx in (_PRODUCT_QUOTED, _PRODUCT_ZH, _PRODUCT_EN):
        for m in rx.finditer(text):
            name = m.group("p").strip()
            out.append(Value("product_name", name, turn, m.start("p"), m.end("p"), name))
    return out


def extract_turn(text: str, *, turn: int, ref_date: date) -> list[Value]:
    """Every value in one turn, in order of position (amounts, dates, times, cards, names, channels)."""
    folded = fold_width(text)
    values: list[Value] = []
    card_spans = [(m.start(), m.end()) for m in _FULL_CARD.finditer(folded)]
    for n in find_numbers(folded):
        if any(s <= n.start < e for s, e in card_spans):
            continue
        values += _amount(folded, n, turn)
    values += _absolute_dates(folded, turn, ref_date)
    values += _relative_dates(folded, turn, ref_date)
    values += _times(folded, turn)
    values += _cards(folded, turn)
    values += _named(folded, turn)
    values.sort(key=lambda v: (v.start, v.kind))
    return values


def extract_turns(turns: list[tuple[int, str]], *, ref_date: date) -> list[Value]:
    """Values of several (turn number, text) pairs, in turn order."""
    out: list[Value] = []
    for number, text in turns:
        out += extract_turn(text, turn=number, ref_date=ref_date)
    return out
