"""What the turns around a value say about it, in three scripts: a customer's corrected amount, an amount
said after a payment verb with no currency word, the answers a customer gives to the agent's questions
(identity checks, the payee's name, the new phone number or e-mail) and a new contact value said as such.

The ticket draft (`tickets.fill_draft`) reads these besides the values of each turn (`extract.extract_turn`):

- values said in answer to an identity question ("your date of birth?", "the date and amount of your most
  recent transaction?"), to a question for the last four digits of anything but the card ("身份证后四位", "the last
  four of your social": `asked_digits`) or to a request to read out a one-time code are the caller's proof of
  identity, not the event's (a card's last four digits excepted);
- "四千九百八 不对 是五千九百八", "2,500, sorry I mean 2,850": the figure after the correction replaces the
  amount the customer said before it;
- "收款人叫什么?" → "叫李建强 他说是财务": the name the customer gives is the payee;
- "新号码是多少?" → "一三九 一二六七 八八零三": the new contact value (redacted ones stay as their
  placeholder, [EMAIL], [PHONE], [ADDRESS]: the agent types the value in, a ticket stores it redacted anyway).

All patterns are bounded: linear in the length of a turn.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from assist.aftercall.asked_digits import (
    ASKS_LAST4,
    asks_card_last4,
    asks_code,
    asks_other_last4,
    bare_last4,
    cue_is_card,
)
from assist.aftercall.extract import amount_value
from assist.aftercall.numbers import ZH_DIGITS, Value, find_numbers, fold_width
from assist.text import has_traditional

logger = logging.getLogger(__name__)


class SaidTurn(Protocol):
    """A stored turn: its number, speaker and (redacted) text (read-only, as `tickets.CallTurn` is)."""

    @property
    def turn(self) -> int: ...

    @property
    def speaker(self) -> str: ...

    @property
    def text(self) -> str: ...


# -- answers to the agent's identity questions ------------------------------------------------------------------
_ASKS_IDENTITY = re.compile(
    r"(?i)出生|生日|出世|身份证|身份證|身分證|证件|證件|后六位|後六位|后六码|後六碼|最后六|最後六|全名|大名|"
    r"最近一笔|最近一筆|最后一笔|最後一筆|安全问题|安全問題|"
    r"(?:账单|帳單|結單|结单|通讯|通訊)地址\s?(?:在|是|係|喺)?\s?(?:哪|边|邊)|"
    r"date of birth|birthday|full name|hkid|passport|id number|security question|most recent transaction|"
    r"last transaction|(?:city|postcode|district) of your (?:statement|billing|home) address|mother's maiden"
)
_SAYS_VERIFIED = re.compile(
    r"(?i)核[实實验驗对對](?:通过|通過|完成|咗|好了|无误|無誤)|身[份分](?:已经?|已經)?(?:确认|確認)|"
    r"verified|passed security|that matches"
)


_THANKS = re.compile(r"(?i)谢谢|謝謝|多谢|多謝|唔该|唔該|感谢|感謝|(?<![a-z])(?:thank you|thanks|cheers)(?![a-z])")


def asks_identity(text: str) -> bool:
    """Whether an agent turn asks for an identity detail (date of birth, ID digits, the last transaction…)."""
    return _ASKS_IDENTITY.search(text) is not None


def thanks_for_proof(turns: Sequence[SaidTurn]) -> set[int]:
    """Agent turns that thank the caller for their answer to an identity question and ask for no more
    ("Thank you Ms Lau. So that plan…", "谢谢王先生，请问…"): the check is done, said without the word."""
    answers = identity_answers(turns)
    return {
        t.turn
        for before, t in zip(turns, turns[1:], strict=False)
        if t.speaker == "agent" and before.turn in answers and _THANKS.search(t.text) and not asks_identity(t.text)
    }


# the check said done in few words: "確認完成。", "谢谢，已确认。", "OK 核對好"; not "请确认出生日期"
_CONFIRMED = re.compile(
    r"(?i)(?:确认|確認|核实|核實|核对|核對|验证|驗證|认证|認證)(?:完成|完毕|完畢|无误|無誤|通过|通過|成功|好了|好咗)|"
    r"已(?:经|經)?(?:确认|確認|核实|核實|核对|核對|验证|驗證)(?=\s*(?:$|[，。,.!！]))|"
    r"(?<![a-z])(?:all confirmed|you're (?:all )?confirmed|you are (?:all )?confirmed|you've been confirmed|"
    r"identity (?:is )?confirmed)(?![a-z])"
)
# an agent sentence asking the caller to say or confirm something ("再说一下对账单地址所在城市。", "麻煩講一講
# 你登記嘅地址", "Please confirm the city on your statement."): an identity question, not a disclosure
_ASKS_TO_SAY = re.compile(
    r"(?i)(?:说|講|讲|說|报|報|念|唸)(?:一下|一下子|下|一講|一讲)|再(?:说|說|讲|講|报|報)|请(?:您|你)?(?:提供|告诉|告訴|说|说明)|"
    r"請(?:您|你)?(?:提供|告訴|說|說明)|麻烦|麻煩|唔该(?:你)?(?:讲|講|提供)|唔該(?:你)?(?:講|提供)|告诉我|告訴我|"
    r"(?<![a-z])(?:can|could|may) (?:you|i) (?:tell|give|confirm|say|have|take|get)|"
    r"please (?:tell|give|confirm|say|provide)|"
    r"what(?:'s| is) (?:the|your)"
)
# what makes a sentence about this caller's own account or card rather than the bank's rules in general:
# the caller addressed (您, 你, your), a record read (我看到, 查到, "I can see", on file) or a card or payment
# pointed at (这张卡, 呢筆, the card ending)
_ABOUT_CALLER = re.compile(
    r"(?i)您|你|閣下|阁下|(?<![a-z])(?:you|your|yours)(?![a-z])|看到|睇到|见到|見到|查到|显示|顯示|记录|記錄|紀錄|"
    r"这张|這張|呢张|呢張|嗰张|嗰張|这笔|這筆|那笔|那筆|呢笔|呢筆|嗰笔|嗰筆|尾号|尾號|末四|后四|後四|"
    r"i can see|i see|on file|ending in|ending with|card ending|this card|that card|the card|this payment|"
    r"this transaction|the account"
)


# a value said: digits, a redacted value, an amount or count in Chinese numerals, a number in English words
_VALUE = re.compile(
    r"(?i)[0-9]|\[(?:ADDRESS|PHONE|EMAIL|DOB|CARD|ID)\b|[零〇一二三四五六七八九十两兩幺][百千万萬佰仟]|"
    r"[一二三四五六七八九十两兩]\s?(?:块|塊|元|蚊|笔|筆|号|號|月|点|點)|"
    r"(?<![a-z])(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand)(?![a-z])"
)


def holds_value(text: str) -> bool:
    """Whether a turn says a value (a number, an amount, a date, a redacted detail)."""
    return _VALUE.search(text) is not None


# the agent starting the identity check: asking for a proof of identity, or saying they check it
_STARTS_CHECK = re.compile(
    r"(?i)核[实實对對验驗]|验证|驗證|(?:确认|確認)(?:一下)?(?:您|你)?(?:的)?身[份分]|姓名|名字|推送|确认通知|確認通知|"
    r"(?<![a-z])(?:verify|verification|security|your name|approve|push notification|registered (?:mobile|number|phone))"
)


def starts_check(text: str) -> bool:
    """Whether an agent turn asks for a proof of identity or says the check is being done ("先核实下身份",
    "Full name and the last six of your ID?", "please approve the notification in your app")."""
    return asks_identity(text) or _STARTS_CHECK.search(text) is not None


# -- the agent registering the case ---------------------------------------------------------------------------
_RECORD = (
    r"(?:工单|工單|单号|單號|编号|編號|申请|申請|案件|个案|個案|投诉|投訴|报案|報案|受理|争议|爭議|"
    r"(?:登记|登記)(?:了|咗|好)|挂失|掛失|报失|報失|冻结|凍結|止付|停卡|"
    r"(?<![a-z])(?:reference|ref|case|ticket|request|report|complaint|dispute|claim|blocked|frozen|froze)(?![a-z]))"
)
_NAMES_RECORD = re.compile("(?i)" + _RECORD)
_LOGS = r"(?:logged|registered|opened|raised|filed|submitted|lodged|created)"
_KINDS = r"(?:case|report|complaint|ticket|request|dispute|claim)"
# "I've logged a lost card report", "your complaint is logged", "reference L-88214", "已經幫你登記咗爭議交易",
# "投诉已经受理"; not "I'll update that", "我幫你 update 咗"
_SAYS_LOGGED = re.compile(
    rf"(?i)(?<![a-z]){_LOGS}\s(?:(?:a|an|the|your|this|that|it as a)\s)?(?:[a-z'-]+\s){{0,3}}{_KINDS}(?![a-z])|"
    rf"(?<![a-z]){_KINDS}\s(?:is|has been|was|'s been|is now|has now been)\s{_LOGS}(?![a-z])|"
    r"(?<![a-z])reference(?:\snumber|\sno\.?)?(?:\sis)?[\s:#]{1,3}[a-z]{0,4}[- ]?[0-9]|"
    r"(?:(?:登记|登記|提交|受理)(?:了|咗|好)|(?:开|開)(?:了|咗)|"
    r"(?:已经?|已經|帮您|幫您|幫你|为您|為您)(?:登记|登記|提交|受理|开|開))[^，。,.!！?？]{0,10}"
    r"(?:投诉|投訴|工单|工單|申请|申請|案件|个案|個案|报案|報案|争议|爭議)|"
    r"(?:投诉|投訴|工单|工單|申请|申請|案件|个案|個案|报案|報案)[^，。,.!！?？]{0,6}(?:已经|已經|已)(?:登记|登記|提交|受理)|"
    # a lost card's report made (挂失 is the report): "挂失已生效", "已经为您挂失", "幫你掛失咗"
    r"(?:挂失|掛失|报失|報失)(?:已|了|咗|好|成功)|(?:已经?|已經|帮您|幫您|幫你|为您|為您)(?:办理)?(?:挂失|掛失|报失|報失)|"
    r"(?<![a-z])(?:reported|marked) (?:it|the card|your card|that card) (?:as )?(?:lost|stolen)(?![a-z])"
)


def names_record(text: str) -> bool:
    """Whether an agent turn names a record of the case (工单, 申请, 个案, 登记了, a case, report, reference…; a
    lost card's report is its block: 挂失已生效, 已为您冻结, "blocked"; not 登記 alone: "你係咪用緊登記嗰個號碼"
    is the number on file)."""
    return _NAMES_RECORD.search(text) is not None


def says_logged(text: str) -> bool:
    """Whether an agent turn says a case, report, complaint or request was registered, in words the
    rubric's phrases miss ("I've logged a lost card report", "reference CP-1029", "已經幫您登記爭議交易")."""
    return _SAYS_LOGGED.search(text) is not None


def says_confirmed(text: str) -> bool:
    """Whether an agent turn says the identity check is done in few words ("確認完成", "已核实。")."""
    return _CONFIRMED.search(text) is not None


def asks_to_say(sentence: str) -> bool:
    """Whether an agent sentence asks the caller to say, give or confirm something (a question in all but
    its punctuation: "再说一下对账单地址所在城市。")."""
    return asks_identity(sentence) or _ASKS_TO_SAY.search(sentence) is not None


def about_caller(text: str) -> bool:
    """Whether an agent turn speaks of this caller's own account or card (addresses the caller, reads a
    record, or points at a card or payment); a statement of the bank's rules in general does not
    ("每名存款人最高保障 HK$800,000", "Good afternoon, Harbor Bank cards")."""
    return _ABOUT_CALLER.search(text) is not None


def identity_answers(turns: Sequence[SaidTurn]) -> set[int]:
    """The customer turns that answer the agent's identity question (the turn right after it), the last four
    digits of anything but the card (身份证后四位, "the last four of your social", 手機號碼後四碼) or a one-time
    code the agent asks to hear."""
    out: set[int] = set()
    for before, t in zip(turns, turns[1:], strict=False):
        if t.speaker != "customer" or before.speaker != "agent":
            continue
        asked = _ASKS_IDENTITY.search(before.text)
        if asked is not None and not _SAYS_VERIFIED.search(before.text, asked.end()):
            out.add(t.turn)
        elif asks_other_last4(before.text) or asks_code(before.text):
            out.add(t.turn)
    return out


# -- amounts: after a payment verb, and corrected -----------------------------------------------------------------
_PAID = re.compile(
    r"(?i)(?:转了|轉了|转账|轉帳|轉賬|汇了|匯了|付了|扣了|扣咗|刷了|碌咗|过数|過數|俾咗|畀咗|transferred|sent|paid|"
    r"charged|lost|took)\s{0,2}(?:我|我哋|我们|我們|俾我|me|us|them)?\s{0,2}"
    r"(?:了|咗|共|一共|总共|總共|大概|大约|大約|about|around)?\s{0,2}$"
)
_FIX = re.compile(
    r"(?i)(?:不对|不對|唔係|唔啱|不是|说错|說錯|讲错|講錯|记错|記錯|搞错|搞錯|更正|应该是|應該是|應該係|应该系|其实是|其實是|其實係|"
    r"sorry|i mean|actually|no wait|correction|make that)[\s,，。!！]{0,3}(?:不对|不對|是|係|系|it's|it was)?\s{0,2}$"
)
_COUNTER = re.compile(
    r"(?i)^\s?(?:次|笔|筆|个|個|天|日|号|號|点|點|分|年|月|位|张|張|钟|鐘|小时|小時|:|："
    r"|times|days?|weeks?|months?|years?|hours?|minutes?|mins?|cards?|%|percent|pm|am|p\.m|a\.m|o'clock|"
    r"st\b|nd\b|rd\b|th\b)"
)
_CJK = re.compile("[\u4e00-\u9fff]")
_CANTONESE = re.compile("[咗嘅唔係喺啲冇佢哋嚟咁蚊]")


def cued_amounts(text: str, *, turn: int) -> list[Value]:
    """Amounts the currency words miss: a number right after a payment verb ("我就转了四千九百八"), and
    the figure after a correction ("不对 是五千九百八": kind ``amount_fix``). In Simplified Chinese text a
    paid or corrected amount with no currency word is in yuan (CNY)."""
    folded = fold_width(text)
    out: list[Value] = []
    for n in find_numbers(folded):
        if n.value < 10 or _COUNTER.match(folded[n.end : n.end + 8]):
            continue
        before = folded[max(0, n.start - 16) : n.start]
        kind = "amount_fix" if _FIX.search(before) else "amount" if _PAID.search(before) else None
        if kind is None:
            continue
        value = amount_value(n.value)
        out.append(Value(kind, value, turn, n.start, n.end, folded[n.start : n.end]))
        if _CJK.search(folded) and not has_traditional(folded) and not _CANTONESE.search(folded):
            out.append(Value("currency", "CNY", turn, n.start, n.end, folded[n.start : n.end]))
    return out


def corrected(amount: Value | None, values: Sequence[Value], turns: Sequence[SaidTurn]) -> Value | None:
    """The customer's last correction after `amount` (the customer's figure wins), or a later read-back of
    the agent's with one other amount that the customer's next turn confirms ("金额是三百二十九元" "对对"),
    else `amount` (a correction with no amount before it: the first figure had no currency word, "三百六 不对
    是六百三")."""
    said = {t.turn: t for t in turns}
    later: list[Value] = []
    for v in values:
        if amount is not None and ((v.turn, v.start) <= (amount.turn, amount.start) or _same(v, amount)):
            continue
        speaker = said[v.turn].speaker if v.turn in said else ""
        if v.kind == "amount_fix" and speaker == "customer":
            later.append(v)
        elif v.kind == "amount" and speaker == "agent" and _confirmed(said.get(v.turn + 1)):
            if sum(1 for w in values if w.kind == "amount" and w.turn == v.turn) == 1:
                later.append(v)
    return Value("amount", later[-1].value, *_where(later[-1])) if later else amount


def _same(v: Value, amount: Value) -> bool:
    try:
        return Decimal(v.value) == Decimal(amount.value)
    except ArithmeticError:
        return False


def _confirmed(reply: SaidTurn | None) -> bool:
    """The customer's turn says yes to what the agent read back, and corrects nothing."""
    return (
        reply is not None
        and reply.speaker == "customer"
        and _CONFIRMS.search(reply.text) is not None
        and not _CARD_FIX.search(reply.text)
    )


# a fee or charge the bank took: a complaint about it is about that amount, not the payment it was taken on
_FEE = re.compile(
    r"(?i)手续费|手續費|服务费|服務費|年费|年費|管理费|管理費|滞纳金|滯納金|违约金|違約金|罚息|罰息|"
    r"(?<![a-z])(?:fees?|penalty|surcharge)(?![a-z])"
)
# where a clause ends; in Chinese ASR text a space between Han characters ends one too
_CLAUSE_END = re.compile(r"[，。！？；!?;]|[,.](?![0-9])|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def fee_amounts(turns: Sequence[SaidTurn], values: Sequence[Value]) -> list[Value]:
    """For each fee word a customer says, the amount nearest to it in the same clause ("转了两千五 扣了我二十五块
    手续费" → 25, "you took a 40 dollar late fee", "收咗我五十蚊手續費"), in order; when the customer complains
    of a fee without its figure ("扣了我手续费"), the fee the agent reads from the record ("手续费十五元")."""
    said = _near_word(turns, values, _FEE, "customer")
    if said or not any(t.speaker == "customer" and _FEE.search(t.text) for t in turns):
        return said
    return _near_word(turns, values, _FEE, "agent")


def _near_word(turns: Sequence[SaidTurn], values: Sequence[Value], word: re.Pattern[str], speaker: str) -> list[Value]:
    """For each `word` in the speaker's turns, the amount nearest to it in the same clause, in order."""
    amounts: dict[int, list[Value]] = {}
    for v in values:
        if v.kind == "amount":
            amounts.setdefault(v.turn, []).append(v)
    out: list[Value] = []
    for t in turns:
        if t.speaker != speaker or t.turn not in amounts:
            continue
        text = fold_width(t.text)
        ends = [m.start() for m in _CLAUSE_END.finditer(text)]
        for fee in word.finditer(text):
            start = max((e + 1 for e in ends if e < fee.start()), default=0)
            end = min((e for e in ends if e >= fee.end()), default=len(text))
            near = [v for v in amounts[t.turn] if start <= v.start and v.end <= end]
            if near:
                out.append(min(near, key=lambda v: max(v.start - fee.end(), fee.start() - v.end, 0)))
    return out


# what the account holds or may spend: an amount said with it is no event's amount
_BALANCE = re.compile(
    r"(?i)余额|餘額|结余|結餘|可用额度|可用額度|信用额度|信用額度|剩余额度|剩餘額度|"
    r"(?<![a-z])(?:balance|available (?:limit|credit|funds)|credit limit)(?![a-z])"
)


def not_balances(values: list[Value], turns: Sequence[SaidTurn]) -> list[Value]:
    """The values without the amounts said in a clause about a balance or a limit ("您的余额是三千二", "your
    available limit is now 2,000"): an agent reading the account is not telling the event's amount."""
    balances = {(v.turn, v.start) for v in _near_word(turns, values, _BALANCE, "agent")}
    balances |= {(v.turn, v.start) for v in _near_word(turns, values, _BALANCE, "customer")}
    return [v for v in values if v.kind != "amount" or (v.turn, v.start) not in balances]


def _where(v: Value) -> tuple[int, int, int, str]:
    return v.turn, v.start, v.end, v.text


# -- answers to the agent's questions: the payee, the new contact --------------------------------------------
_ASKS_PAYEE = re.compile(
    r"(?i)收款人|收款方|收款帳戶|收款账户|户名|戶名|商户名|商戶名|商家名|商户叫|商戶叫|对方叫|對方叫|"
    r"payee|merchant(?:'s)? name|name of the (?:merchant|shop|company|payee)|who did you (?:pay|send|transfer)"
)
_NAME_CUE = re.compile(
    r"(?i)(?:叫做|叫|写着|寫著|写住|寫住|写|寫|是|係|(?<![a-z])(?:called|named|it's|was|is|to)(?![a-z]))\s?"
)
_NAME_ZH = re.compile(r"[\u4e00-\u9fff]{2,4}")
_NAME_EN = re.compile(r"[A-Z][A-Za-z0-9&'.-]{1,30}(?:\s[A-Z][A-Za-z0-9&'.-]{1,30}){0,3}")
_NOT_NAME = re.compile(
    r"好像|应该|應該|记得|記得|不知道|唔知|忘了|忘记|忘記|什么|什麼|明细|明細|他说|佢話|那个|嗰个|嗰個"
)
_PARTICLES = "吧啊呀嘛呢啦喔哦囉咯吗嗎喎"
_GENERIC = frozenset(
    ("个人", "個人", "公司", "对方", "對方", "骗子", "騙子", "一个人", "一個人", "不清楚", "I", "It", "The", "A")
)
_PLACEHOLDER = re.compile(r"\[[A-Z_]{2,12}\]")


def payee_answers(turns: Sequence[SaidTurn]) -> list[Value]:
    """The name a customer gives right after the agent asks who was paid ("收款人叫什么?" → 李建强)."""
    out: list[Value] = []
    for before, t in zip(turns, turns[1:], strict=False):
        if t.speaker != "customer" or before.speaker != "agent" or not _ASKS_PAYEE.search(before.text):
            continue
        name = _name_in(t.text)
        if name is not None:
            start = t.text.find(name)
            out.append(Value("merchant", name, t.turn, start, start + len(name), name))
    return out


def _name_in(text: str) -> str | None:
    cues: list[re.Match[str] | None] = list(_NAME_CUE.finditer(text))
    for cue in cues or [None]:  # a name after a cue word; the answer as a whole only when it has none
        rest = text[cue.end() :] if cue is not None else text
        rest = rest.lstrip(" ：:,，")
        m = _NAME_EN.match(rest) or _NAME_ZH.match(rest)
        if m is None or _PLACEHOLDER.match(rest) or _NOT_NAME.search(m.group(0)):
            continue
        if m.group(0).rstrip(_PARTICLES) in _GENERIC:
            continue  # 是个人, "a company": no name
        name = m.group(0).rstrip(_PARTICLES)
        if len(name) < 2:
            continue
        if _NAME_ZH.fullmatch(name) and cue is None and len(text.strip()) > 8:
            continue  # a whole sentence, not a name said alone
        return name.strip(" .'")
    return None


_ASKS_CONTACT = re.compile(  # 新 email 係？: a space beside a Han character is no break
    r"(?i)新\s?(?:的|嘅)?\s?(?:手机|手機)?\s?(?:号码|號碼|电话|電話|地址|邮箱|郵箱|电邮|電郵|email|e-mail)|"
    r"new (?:mobile |phone |contact |e-?mail |home |postal )?(?:number|email|e-mail|address)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}")
_PHONE = re.compile(r"(?<![0-9])\+?[0-9](?:[\s-]?[0-9]){6,14}(?![0-9])")
_ZH_PHONE = re.compile(r"[零〇一二三四五六七八九幺](?:\s?[零〇一二三四五六七八九幺]){6,14}")
_FILLERS = re.compile(r"(?i)^(?:\s|[,，。.]|呃|嗯|啊|係|是|就係|就是|it's|it is|um|uh|er|so|ok|okay|yes|yeah)+")


def _contact_in(text: str) -> str | None:
    folded = fold_width(text)
    for rx in (_EMAIL, _PLACEHOLDER, _PHONE):
        m = rx.search(folded)
        if m is not None and (rx is not _PLACEHOLDER or m.group(0) in ("[EMAIL]", "[PHONE]", "[ADDRESS]")):
            return m.group(0)
    m = _ZH_PHONE.search(folded)
    if m is not None:
        return "".join(str(ZH_DIGITS[c]) if c in ZH_DIGITS else c for c in m.group(0))
    return None


def contact_values(turns: Sequence[SaidTurn]) -> list[Value]:
    """New contact details: what the customer answers when the agent asks for the new number, e-mail or
    address (the contact value in it, else the answer itself), and a contact value the customer says
    after naming the new detail ("my new email is …", "新号码是 …")."""
    out: list[Value] = []
    for i, t in enumerate(turns):
        if t.speaker != "customer":
            continue
        asked = i > 0 and turns[i - 1].speaker == "agent" and _ASKS_CONTACT.search(turns[i - 1].text)
        named = _ASKS_CONTACT.search(t.text)
        said = _contact_in(t.text[named.end() :] if named and not asked else t.text)
        if said is None and asked:
            said = _FILLERS.sub("", t.text).strip() or None
        if said is not None and (asked or named):
            out.append(Value("contact", said, t.turn, 0, len(t.text), said))
    if not out:  # asked in words the patterns miss ("咁新嘅係？", "And the new one?"): the first contact value the
        proof = identity_answers(turns)  # customer says that answers no identity question
        for t in turns:
            said = _contact_in(t.text) if t.speaker == "customer" and t.turn not in proof else None
            if said is not None:
                return [Value("contact", said, t.turn, 0, len(t.text), said)]
    return out


# -- card digits: the answer to the agent's question, corrected or confirmed ----------------------------------
_CARD_FIX = re.compile(
    r"(?i)不对|不對|唔係|唔啱|不是|说错|說錯|讲错|講錯|记错|記錯|搞错|搞錯|应该是|應該是|應該係|"
    r"(?<![a-z])(?:sorry|no wait|i mean|actually|correction)(?![a-z])"
)
_CONFIRMS = re.compile(
    r"(?i)^\W{0,2}(?:对|對|是的|是|係|啱|冇錯|沒錯|没错|嗯|(?:yes|yeah|yep|correct|right|that's right)(?![a-z]))"
)


def card_answers(turns: Sequence[SaidTurn]) -> list[Value]:
    """Card last four digits the customer gives in answer to the agent: said alone right after the agent
    asked for them ("nine nine two zero", kind ``card_last4``), and the digits said after a correction in
    such an answer or in any turn that gave them ("六六幺八 哦不对 是六六八幺", "3 5 1 9, sorry, 3 5 9 1":
    kind ``card_fix``, the last one wins over what was said before it)."""
    out: list[Value] = []
    for before, t in zip(turns, turns[1:], strict=False):
        if t.speaker != "customer":
            continue
        asked = before.speaker == "agent" and asks_card_last4(before.text)  # not 身份证后四位: a proof
        if asked:
            digits = bare_last4(t.text)
            if digits:
                out.append(Value("card_last4", digits, t.turn, 0, len(t.text), "…" + digits))
        fixes = list(_CARD_FIX.finditer(t.text))
        if fixes and (asked or _names_card_digits(t.text[: fixes[-1].start()])):
            digits = bare_last4(t.text[fixes[-1].end() :])
            if digits:
                out.append(Value("card_fix", digits, t.turn, fixes[-1].end(), len(t.text), "…" + digits))
    return out


def _names_card_digits(text: str) -> bool:
    """Whether the customer's words speak of the card's last four digits (尾号, 卡号后四位; not 身份证后四位)."""
    return any(cue_is_card(text, m.start(), m.end()) for m in ASKS_LAST4.finditer(text))


def corrected_card(card: Value | None, values: Sequence[Value], turns: Sequence[SaidTurn]) -> Value | None:
    """The card digits the call settled on: the customer's last correction after `card`, or the agent's
    read-back of other digits that the customer's next turn confirms ("即係3591，啱唔啱？" "啱"), else `card`."""
    said = {t.turn: t for t in turns}
    later: list[Value] = []
    for v in values:
        if card is not None and ((v.turn, v.start) <= (card.turn, card.start) or v.value == card.value):
            continue
        speaker = said[v.turn].speaker if v.turn in said else ""
        if v.kind == "card_fix" and speaker == "customer":
            later.append(v)
        elif v.kind == "card_last4" and speaker == "agent" and _confirmed(said.get(v.turn + 1)):
            later.append(v)
    return Value("card_last4", later[-1].value, *_where(later[-1])) if later else card
