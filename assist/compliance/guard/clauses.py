"""Clause scope: which words negate, hedge, or end a clause, and how they bear on a trigger phrase.

The lexicon below is compiled into the same Aho-Corasick automaton as the rule phrases, so one pass over
the normalised text finds triggers and scope words together. Overlapping lexicon hits are resolved
leftmost-longest: 不可能 is one negator (not 不 + a hedge 可能), 不但 is not a negator, 未来 is not 未.

How a trigger at ``[a, b)`` in clause ``[s, e)`` is judged (:func:`judge`):

- a *cancel* word (hedge, the customer's own wish, reported speech, a warning) before it in the clause
  cancels the claim: 可能翻倍, 您是想要保本的产品吗, "are you looking for something principal protected";
- *negators* before it in the clause are counted; an odd count cancels, an even count is an assertion
  (不是不保本, "it's not that it isn't risk-free"). A negator inside the matched phrase (稳赚不赔,
  不会亏) is part of the claim, not a negation of it;
- a few *post-negations* after it in the clause also count (保本是不可能的, "... is a myth").

Clauses end at , . ! ? ; : 。 、 line breaks and at contrast or conjunction words (但/但是/可是/不过/
然而/却/也/而且, but/however/although/though/whereas, "and it/you/this ..."), so in
虽然不保本，但稳赚不赔 the negation of the first clause does not reach the second. A list of claims
joined by 、 is one clause (:func:`enumeration_clause`): 不得承诺保本、保收益、无风险 negates all three.

A claim is *mentioned*, not made, when a scope word says so (a warning, reported speech or belief, law
text: 明示或者暗示保本, 稳赚不赔等话术, "they think it's risk-free") or when the claim's words stand in
quotation marks that the sentence names as words (:func:`quoted_mention`: “保本保息”等误导性语言).
Cantonese negators (唔, 冇) count as 不 and 没 do: 唔保本 is a negation.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assist.compliance.guard.normalize import normalize_phrase

# effects
NEG, CANCEL, BOUNDARY, IGNORE, POSTNEG, POSTCANCEL = 1, 2, 3, 4, 5, 6

_ZH_NEG = (
    "不 非 没 没有 无 无法 不能 不会 并非 不是 未 勿 别 绝非 从未 "
    "从不 并不 不可能 没可能 不可以 不得 禁止 严禁 拒绝 不要 不准 毋 "
    "唔 冇 未有 并无 避免 杜绝"
)
_EN_NEG = (
    "not|no|never|cannot|can't|cant|isn't|isnt|aren't|arent|doesn't|doesnt|don't|dont|didn't|won't|wouldn't|"
    "shouldn't|couldn't|wasn't|weren't|ain't|nobody|no one|neither|nor|none|nothing|hardly"
)
_ZH_IGNORE = (
    "不但 不仅 不只 不光 不管 不断 不少 不错 不久 不用说 不得不 非常 "
    "非凡 未来 无论 毫无疑问 无疑 无忧 无比 无数 无限 没错 没问题 "
    "不是问题 没有之一 没得说 别人 特别 区别 级别 分别 类别 个别 差别 "
    "识别 告别 不要错过 别错过 不容错过 不用担心 不必担心 不怕 无与伦比 "
    "唔该 唔好意思 唔紧要 唔使客气 唔使担心 唔使惊 唔怕 唔好错过 冇问题 冇错 "
    # a request is not a question about a claim: 能不能把验证码告诉我, 可不可以提供密码
    "能不能把 能否把 可不可以把 能不能告诉 能不能提供 能否提供 能否告诉 可不可以提供 可不可以告诉 "
    # a condition is not a negation of what follows it (eighth round): 不用的话必须取消，否则…; 没病就当存钱
    "不用的话 不使用的话 不需要的话 不想用的话 没病 无病 没出险 不出险 没有出险 没用上 用不上 "
    # a refusal said on its own is not a negator of the next claim (不行喔 不能汇到我个人账户)
    "不行 "
    # an instruction or a request is no wish (tenth round): 你需要把钱转到安全账户, 希望您能尽快处理
    "您需要把 你需要把 您需要将 你需要将 您需要先 你需要先 您需要马上 你需要马上 您需要立即 你需要立即 "
    "您需要立刻 你需要立刻 您需要今天 你需要今天 您需要现在 你需要现在 您需要提供 你需要提供 您需要支付 你需要支付 "
    "您需要交 你需要交 您需要缴 你需要缴 您需要转 你需要转 您需要汇 你需要汇 您需要配合 你需要配合 您需要寄 你需要寄 "
    "您需要向 你需要向 您需要在 你需要在 您需要回复 你需要回复 您需要告诉 你需要告诉 "
    "希望您能 希望你能 希望您可以 希望你可以 希望您尽快 希望你尽快 希望您马上 希望你马上 "
    # 不足 negates nothing (余额不足…就会影响征信); 还没买的 names the listener (还没上车的朋友抓紧上车)
    "不足 还没上车 还没有上车 没上车的 还没买的 还没有买的 没买的 还没下单的 还没投保的 还没配置的 还没入手的"
)
_EN_IGNORE = (
    "not only|no doubt|no question|no matter|no problem|not just|no wonder|no brainer|not to mention|"
    "without a doubt|without doubt|no surprise|don't worry|dont worry|don't miss|no kidding|never been better|"
    # a polite request is not a hedge: "Could you read me the code", "May I have the three digits"
    "could you|would you|can you|may i|could i|might i|could i ask you|no really|no seriously|no honestly|"
    # an instruction is no wish (tenth round): "you need to pay the fee first" ("do you need to" starts earlier, wins)
    "you need to|you'll need to|you will need to"
)
_ZH_CANCEL = (
    "除非 可能 也许 或许 大概 未必 不一定 说不定 不确定 有可能 可能性 想要 "
    "想找 您需要 你需要 希望 是否 有没有 是不是 能不能 会不会 您说的 "
    "您提到的 你说的 你提到的 您问的 你问的 您刚才问 所谓 号称 声称 宣称 "
    "有人说 网上说 听说 警惕 谨防 小心 提防 当心 防范 在意 看重 偏好 "
    "追求 您要求 假设 理论上 有人跟您说 有人跟你说 有人对您说 有人对你说 有人告诉您 有人告诉你 有人向您 "
    "有人向你 如果有人 骗子说 骗子会说 骗子常说 诈骗分子 "
    "明示 暗示 标榜 鼓吹 吹嘘 以为 误以为 误认为 凡是 有无 有冇 被要求 被告知 被骗 "
    "听到 只听到 消费者认为 投资人认为 投资者认为 客户认为 民众认为 很多人认为 "
    # "anyone who asks you to …, is a scam": 任何要求您先交费的，都是诈骗
    "任何要求 任何人要求 任何索要 任何人索要 任何叫您 任何叫你 任何让您 任何让你 "
    # the victim of a reported case (news: 指事主的電話號碼涉及刑事案件); misconduct named as such (让您故意选…,
    # 严查飞单)
    "事主 受害人 受害者 被害人 苦主 故意 严查 严打 查处 打击 "
    # what some platforms do, described (tenth round): 有些平台承诺“本息保障”，但…
    "有些平台 一些平台 某些平台 部分平台 有的平台 不少平台 有些机构 一些机构 某些机构 部分机构 有的机构 "
    "自称 佯称 谎称 诈称 假称"
)
_EN_CANCEL = (
    "may|might|could|possibly|perhaps|maybe|whether|you mentioned|you asked|you said|asked about|ask about|"
    "asking about|so-called|so called|claims|claiming|promising|beware|be careful|be wary|watch out|scam|scams|"
    "fraudster|fraudsters|looking for|you want|do you want|you prefer|would you prefer|prefer|do you need|"
    "you need|interested in|are you after|heard|hypothetically|in theory|theoretically|if anyone|if someone|"
    "if somebody|anyone who|anybody who|someone who|suspicious|suspect|promises of|assurances of|they think|"
    "they believe|they feel|people think|people believe|lure|lured|lures|is told to|are told to|was told to|"
    "were told to|being told to|investors are promised|investors were promised|victims are promised|"
    "victims were promised|people are promised|people were promised|the promise of|the lure of|the allure of|"
    "pressure to|mention of|talk of|offers of|being told|been told|told me|someone said|somebody said|claimed|"
    "claim that|claim their|claim they|claim the|often claim|falsely claim"
)
_ZH_BOUNDARY = "但 但是 可是 不过 然而 却 也 而且 并且 同时 只是 虽然 尽管"
_EN_BOUNDARY = (
    "but|however|although|though|whereas|while|yet|and it|and it's|and its|and you|and your|and this|and that|"
    "and the|and there|and we|and they|and is|and are|and will|and may"
)
_ZH_POSTNEG = (
    "是不可能的 不可能 不存在 做不到 没有的事 是没有的 是错误的 是错的 不对 "
    "不属实 不允许 不能承诺 不能保证 无法保证 没法保证 没办法保证 保证不了 "
    "不成立 违规 违法 是虚假的 虚假宣传 骗局 骗人 诈骗 退出市场 已经退出 "
    "不再 被禁止 不合规 是误导 严格禁止 是禁止的 禁止性 属于违规 骗子 都是骗子 不需要 都不需要 也不需要 "
    # history: the kind of product is gone (以前的保本型理财现在都已经转型为净值型产品)
    "转型为 已经转型 已转型 都已经转型 已经打破 已被打破"
)
_EN_POSTNEG = (
    "is not possible|isn't possible|is impossible|are impossible|does not exist|doesn't exist|do not exist|"
    "don't exist|is a myth|are a myth|is not true|isn't true|is not something|isn't something|"
    "are not something|aren't something|is not allowed|isn't allowed|are not allowed|aren't allowed|"
    "can't be promised|cannot be promised|can't promise|cannot promise|we do not offer|we don't offer|"
    "is not offered|isn't offered|is not available|isn't available|is a scam|are a scam|is a red flag|"
    "are a red flag|is not real|isn't real|are not real|aren't real|no longer|violation|violations|is illegal|"
    "are illegal|is prohibited|are prohibited|is banned|are banned"
)
# mention nouns: the claim is named as words (稳赚不赔等话术, 保本的字眼), wherever they stand in the clause
_ZH_POSTCANCEL = (
    "说不定 也说不定 说不准 说不好 不好说 不一定 未必 话术 字眼 说辞 说词 用语 字样 噱头 诱饵 宣传 名义 借口 名目 "
    "为诉求 "
    "是指 指的是 就是指 的定义 的意思是 一词"
)
_EN_POSTCANCEL = (  # tenth round: a definition names the term ("Churning refers to …"; 飞单是指…)
    "or not|maybe not|not necessarily|too good to be true|warning sign|warning signs|red flags|refers to|is defined as"
)


def lexicon() -> dict[str, int]:
    """Scope words (already in normalised form: Simplified, lower case) → effect."""
    table: dict[str, int] = {}
    for spec, effect in (
        (_ZH_NEG, NEG),
        (_ZH_IGNORE, IGNORE),
        (_ZH_CANCEL, CANCEL),
        (_ZH_BOUNDARY, BOUNDARY),
        (_ZH_POSTNEG, POSTNEG),
        (_ZH_POSTCANCEL, POSTCANCEL),
    ):
        for w in spec.split():
            table[normalize_phrase(w)] = effect
    for spec, effect in (
        (_EN_NEG, NEG),
        (_EN_IGNORE, IGNORE),
        (_EN_CANCEL, CANCEL),
        (_EN_BOUNDARY, BOUNDARY),
        (_EN_POSTNEG, POSTNEG),
        (_EN_POSTCANCEL, POSTCANCEL),
    ):
        for w in spec.split("|"):
            table[normalize_phrase(w)] = effect
    return table


@dataclass(frozen=True, slots=True)
class ScopeHit:
    """A selected scope word in the normalised text."""

    start: int
    end: int
    effect: int


def select_scope_words(hits: list[tuple[int, int, int]]) -> list[ScopeHit]:
    """Resolve overlapping lexicon hits leftmost-longest.

    Args:
        hits: ``(start, end, effect)`` triples from the automaton, in any order.

    Returns:
        Non-overlapping hits, sorted by start.
    """
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    out: list[ScopeHit] = []
    last_end = -1
    for s, e, eff in hits:
        if s >= last_end:
            out.append(ScopeHit(s, e, eff))
            last_end = e
    return out


def judge(
    a: int, b: int, clause_start: int, clause_end: int, words: list[ScopeHit], *, hedges_cancel: bool = True
) -> bool:
    """Whether the trigger at ``[a, b)`` is asserted (True) or negated/hedged away (False).

    Args:
        a: Trigger start (normalised text).
        b: Trigger end.
        clause_start: Start of its clause.
        clause_end: End of its clause.
        words: Selected scope words (from :func:`select_scope_words`).
        hedges_cancel: Whether hedges and wishes cancel (True for claims; disclosures only care about
            negation).
    """
    negs = 0
    for w in words:
        if w.end <= clause_start:
            continue
        if w.start >= clause_end:
            break
        eff = w.effect
        if w.start < a:
            # a negator that starts before the trigger counts even when it overlaps it (不能保证|收益)
            if eff in (NEG, POSTNEG) and w.start >= clause_start:
                negs += 1
            elif eff in (CANCEL, POSTCANCEL) and w.start >= clause_start:
                if hedges_cancel:
                    return False
        elif w.start >= b:
            if eff == POSTNEG:
                negs += 1
            elif eff == POSTCANCEL and hedges_cancel:
                return False
    return negs % 2 == 0


_CLAUSE_CHARS = frozenset(",!?;:。、.\n\r\t")
# a quoted phrase is a mention when the quote is a short term (not a quoted sentence) ...
_OPEN_QUOTES, _CLOSE_QUOTES = '“「『‘"', '”」』’"'
_MAX_QUOTED = 24
# ... followed by 等 / 之类 (a list of named words) or in a sentence that names words, claims or their misuse
_AFTER_QUOTES = re.compile(
    r'^(?:\s*[、,，和或及与/]?\s*[“「『‘"][^”」』’"\n]{1,24}[”」』’"])*\s*'
    r"(?:\s*[(（][^)）\n]{0,40}[)）])?\s*"
    r"[,，]?\s*(?:等|之类|之類|这类|這類|这些|這些|etc\b|and so on|and the like|and similar|"
    r"就是指|就是|是指|指的是|即是|意思是|的意思|一词|一詞|这个词|這個詞|是什么|是什麼|means\b|refers to)"
)
_MENTION_CUES = re.compile(
    r"话术|話術|字眼|说辞|說辭|说词|說詞|用语|用語|字样|字樣|宣传|宣傳|宣称|宣稱|声称|聲稱|号称|號稱|诈骗|詐騙|骗|騙|"
    r"违规|違規|违法|違法|误导|誤導|不得|禁止|广告|廣告|所谓|所謂|标榜|標榜|噱头|噱頭|夸大|誇大|说|說|称|稱|投诉|投訴|叫|口号|口號|"
    r"问|問|询问|詢問|陷阱|陷井|圈套|虚假|虛假|"
    # a claim named as a keyword, a tactic or a lure (ninth round): 判斷關鍵字, 话术手法, 被「保證獲利」所吸引
    r"关键字|關鍵字|关键词|關鍵詞|手法|伎俩|伎倆|套路|吸引|诱惑|誘惑|诱人|誘人|喜爱|喜愛|追捧|青睐|青睞|"
    r"\b(?:such as|words?|phrases?|terms?|claims?|scams?|fraud\w*|misleading|so[- ]called|promises|red flags?|"
    r"traps?|tactics?|tricks?|ploys?|lures?|pressure|urgency|keywords?|buzzwords?|slogans?|pitch(?:es)?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?:\s|$)")


# a claim joined to a quoted one as one label (像這種保本又「保證獲利」的商品): the quote's status is the pair's
_JOINED_TO_QUOTE = re.compile(r"\s*(?:又|和|与|與|及|或|、|/)\s*[“「『‘]")


def quoted_mention(text: str, a: int, b: int) -> bool:
    """True when the claim at ``[a, b)`` of the original ``text`` is a quoted mention (see :func:`_quoted_at`);
    a match that runs into the quote (move money to a "safe account") is judged by its quoted end, and a
    claim joined by 又/和/、 to a quoted mention right after it (保本又「保證獲利」的商品…) shares that mention."""
    if _quoted_at(text, a, b) or (b - a > 1 and _quoted_at(text, b - 1, b)):
        return True
    joined = _JOINED_TO_QUOTE.match(text, b)
    return joined is not None and joined.end() < len(text) and _quoted_at(text, joined.end(), joined.end() + 1)


def _quoted_at(text: str, a: int, b: int) -> bool:
    """True when the claim at ``[a, b)`` of the original ``text`` stands in quotation marks that name it as
    words: a short quote followed by 等/之类/"and the like", or in a sentence that speaks of words, claims,
    advertising, scams or their misuse (“保本保息”等误导性语言; 使用「保證獲利」等說詞; 'words such as
    "guaranteed"'). A quoted claim with no such cue ('The plan is "100% capital secure"') is still made.
    """
    sent_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, a)), default=0)
    m_end = _SENTENCE_END.search(text, b)
    sent_end = m_end.start() if m_end else len(text)
    before = text[max(sent_start, a - _MAX_QUOTED) : a]
    opens = [i for i, c in enumerate(before) if c in _OPEN_QUOTES]
    if not opens or any(c in _CLOSE_QUOTES and c not in _OPEN_QUOTES for c in before[opens[-1] + 1 :]):
        return False
    after = text[b : min(sent_end, b + _MAX_QUOTED)]
    close = next((i for i, c in enumerate(after) if c in _CLOSE_QUOTES), -1)
    if close < 0 or any(c in _OPEN_QUOTES and c not in _CLOSE_QUOTES for c in after[:close]):
        return False
    q_start, q_end = a - len(before) + opens[-1], b + close + 1
    if _AFTER_QUOTES.match(text[q_end:sent_end]):
        return True
    rest = text[sent_start:q_start] + " " + text[q_end:sent_end]
    return _MENTION_CUES.search(rest) is not None


def own_scope_words(
    a: int, b: int, triggers: Iterable[tuple[int, int, int]], words: Sequence[ScopeHit]
) -> list[ScopeHit]:
    """The scope words that bear on the trigger at ``[a, b)``: a negator inside another claim's own words
    belongs to that claim (不会亏、稳赚: the 不 of 不会亏 does not negate 稳赚)."""
    others = [(x, y) for x, y, _ in triggers if (x, y) != (a, b) and not (x <= a and b <= y)]
    return [w for w in words if not any(x <= w.start and w.end <= y for x, y in others)]


def enumeration_clause(
    s: str, cs: int, ce: int, triggers: Iterable[tuple[int, int, int]], starts: list[int], ends: list[int]
) -> tuple[int, int]:
    """The clause ``[cs, ce)`` widened over a 、-list of claims.

    Forward, a 、 never ends the clause, so what closes the list covers every item (认证金、解冻费、激活费等名义:
    the 等名义 names all three as words). Backward, the items share one clause only when the item before the
    、 ends with a claim (不得承诺保本、保收益: the negator covers both); otherwise (不收手续费、保本保息) the 、
    ends the clause, so an earlier item's negator does not reach this one.
    """
    spans = list(triggers)
    n = len(s)
    for _ in range(20):  # a list has a few items
        if ce >= n or s[ce] != "、":
            break
        _, ce = clause_around(ce + 1, ce + 1, starts, ends, n)
    for _ in range(20):
        if cs < 2 or s[cs - 1] != "、" or not any(cs - 3 <= y <= cs - 1 for _, y, _ in spans):
            break
        cs, _ = clause_around(cs - 1, cs - 1, starts, ends, n)
    return means_list_start(s, cs, starts, ends), ce


# the preposition that opens a list of channels or means, and the list's first item
_MEANS_OPENER = re.compile(r"(?:通过|透过|经由|利用|以|用|经|通過|透過|經由|經)\s*[^、，,。；;:：\s]{1,8}$")


def means_list_start(s: str, cs: int, starts: list[int], ends: list[int]) -> int:
    """Where a clause starts when it ends a 、-list of channels or means under one preposition.

    不会通过电话、短信等方式索取密码; 不會透過電話、簡訊或LINE向您索取驗證碼: the channels and the verb after them are
    one clause, so the negator before 通过 reaches the request. Only a list opened by such a preposition is
    joined: in 不收手续费、保本保息 the first item is a claim of its own, and its 不 stays there.
    """
    start = cs
    for _ in range(20):  # a list has a few items
        if start < 2 or s[start - 1] != "、":
            return cs
        prev, _ = clause_around(start - 1, start - 1, starts, ends, len(s))
        item = s[prev : start - 1]
        if _MEANS_OPENER.search(item):
            return prev
        if len(item.strip()) > 8:  # a bare item is a word or two: a longer one is a clause of its own
            return cs
        start = prev
    return cs


def list_item_start(a: int, cs: int, triggers: Iterable[tuple[int, int, int]], words: Sequence[Any]) -> int:
    """Where the scope of the trigger at ``a`` starts: its clause's start, or - when a negator stands between
    an earlier trigger of the clause and this one - the end of that earlier trigger.

    A negated list repeats its negator ("不保本不保息": two claims, each negated once), so a negator that
    belongs to the item before must not be counted again; a list under one negator ("不能承诺保本保收益")
    has no negator between its items and keeps the whole clause.
    """
    pe = max((e for x, e, _ in triggers if cs <= x and e <= a), default=-1)
    if pe >= 0 and any(w.effect == NEG and pe <= w.start < a for w in words):
        return pe
    return cs


def after_negated_colon(s: str, clause_start: int, words: list[Any]) -> bool:
    """True when the clause follows a lead-in that ends with a negator and a colon.

    "本行员工绝不会：索要客户的验证码", "Staff will never: ask for your passcode": the negation covers what
    the colon introduces, as a negated lead-in line covers its list items. The negator must end the lead-in
    ("没有风险：保本保收益" still asserts).
    """
    colon = clause_start - 1
    if colon <= 0 or s[colon] != ":":
        return False
    end = len(s[:colon].rstrip())
    return any(w.effect == NEG and w.end == end for w in words)


def boundaries(s: str, words: list[Any]) -> tuple[list[int], list[int]]:
    """Sorted starts and ends of clause boundaries: punctuation and contrast words."""
    spans = [
        (i, i + 1)
        for i, c in enumerate(s)
        # "800,000" and "2.5" are numbers, not clause breaks
        if c in _CLAUSE_CHARS and not (c in ",." and 0 < i < len(s) - 1 and s[i - 1].isdigit() and s[i + 1].isdigit())
    ]
    spans.extend((w.start, w.end) for w in words if w.effect == BOUNDARY)
    spans.sort()
    return [a for a, _ in spans], [b for _, b in spans]


def clause_around(a: int, b: int, starts: list[int], ends: list[int], n: int) -> tuple[int, int]:
    """The clause ``[cs, ce)`` around ``[a, b)``: after the last boundary ending at or before ``a``, up to
    the first boundary starting at or after ``b``."""
    cs = 0
    i = bisect.bisect_right(starts, a) - 1
    while i >= 0:
        if ends[i] <= a:
            cs = max(cs, ends[i])
            break
        i -= 1
    ce = n
    j = bisect.bisect_left(starts, b)
    if j < len(starts):
        ce = starts[j]
    return cs, ce


# A sentence that describes a scam speaks *about* its claims (seventh round): its subject is the scam or the
# scammers, followed by a describing word (犯罪分子往往以支付高利息…; "Ponzi schemes often share …"; "Scammers
# typically … ask you to transfer funds to a safe account"), or it ends by condemning what it listed
# (凡是…先交解冻费的，都是诈骗; “高回报、零风险”的投资项目往往是陷阱; "…, it is always a scam"), or asks
# whether it is true, or weighs the risk behind the claim (穩賺6%利息背後所隱藏的風險), or says someone
# wrongly believed it (誤以為零風險…，且百分之百獲利).
# Run on the normalised text (Simplified, lower case, ASCII punctuation).
_SCAM_SUBJECT = re.compile(
    # 歹徒, 诈团, 不肖人士: Taiwan's words for the scammers (歹徒自稱檢察官，稱客戶涉及洗錢案件)
    r"(?<!被)(?:犯罪分子|不法分子|诈骗分子|诈骗集团|诈骗团伙|诈骗犯|诈团|骗子|歹徒|不肖人士|非法集资|庞氏骗局|传销组织)们?"
    r"(?:往往|常常|通常|经常|一般|常|多|惯用|惯以|会以|以|利用|打着|假冒|冒充|自称|佯称|谎称|诈称|声称)"
    r"|误以为|误认为"
    # a reported case's victim: news of a scam call (致电事主，指其户口涉及刑事案件; "the victim was then asked")
    r"|事主|受害人|受害者|被害人|苦主|\bthe victims?\b"
    r"|\b(?:scams?|scammers?|fraudsters?|con artists?|crooks|ponzi schemes?|pyramid schemes?|investment frauds?|frauds|"
    r"fraudulent schemes?)\b(?: \w+)?? (?:are (?:built|based|designed|often|usually|typically|common)|often|usually|"
    r"typically|commonly|frequently|tend to|share|use|lure|offer|promise|claim|advertise|is a (?:type|form|kind))\b"
    # what they (the scammers, callers) will tell you: reported speech (eighth round)
    r"|\b(?:they|scammers?|fraudsters?|criminals|crooks|callers?|the caller|imposters?|impostors?)"
    r"(?: (?:may|might|will|could|often|usually|typically|sometimes|then))?"
    r" (?:tell|say to|promise|claim to) (?:you|victims|people)\b"
    # what the crooks do, told in the third person (ninth round): "the crooks ask for the three-digit code",
    # "fraudsters then demand a fee"
    r"|\b(?:the|these|such|many|some)? ?(?:scammers|fraudsters|crooks|con artists|criminals|thieves|the thief|"
    r"the scammer|the fraudster|imposters|impostors)(?: (?:will|may|might|then|often|usually|typically|also|"
    r"sometimes|simply|just))? (?:ask|asks|request|requests|demand|demands|want|wants|tell|tells|say|says|promise|"
    r"promises|pose|poses|pretend|pretends|offer|offers|guarantee|guarantees|insist|insists|pressure|pressures|"
    r"urge|urges|instruct|instructs)\b"
    # a scheme defined by its hallmark: "A key feature of an HYIP is that it guarantees …"; 庞氏骗局的特征是…
    r"|\b(?:feature|features|hallmark|hallmarks|sign|signs|characteristic|characteristics|trait|traits|mark)"
    r" of (?:an? |the |these |such |most |many |all )?(?:hyips?|high[- ]yield investment programs?|ponzi|pyramid|"
    r"scams?|frauds?|fraudulent|investment frauds?|fake|bogus|illegal|unlicensed)\b"
    r"|\b(?:an? )?hyips? (?:is|are)\b"
    r"|(?:庞氏骗局|骗局|诈骗|非法集资|传销|资金盘|杀猪盘)的?(?:(?:主要|共同|典型|常见)的?)?(?:特征|特点|特色|手法|套路|伎俩|共同点)"
    # a keyword list under a lead-in that names its items as words (判断关键字:保证获利、…; "Red flags: …")
    r"|(?:关键字|关键词|警示词|话术|常见说法|警讯|\bred flags|\bwarning signs|\bkeywords|\bbuzzwords|"
    r"\bphrases to watch for)\s*:"
)
_SCAM_VERDICT = re.compile(
    r"(?:都|一律|一定|肯定|往往|多半|通常|全都|全)是(?:诈骗|骗局|骗子|陷阱|圈套|骗人的)"
    r"|背后(?:所)?(?:隐藏|隐含|潜藏|暗藏)?的?(?:风险|陷阱|猫腻)"
    # ... or asks whether it is true (可以100%保本，…请问是这样吗?)
    r"|是这样吗|是真的吗|这样对吗|我的理解(?:对吗|有无错误|有没有错)|\bis (?:that|this) (?:right|true|correct)\s*$"
    # ... or asks whether it can be believed (tenth round): 还保本保息，这能信吗? "is this legit?"
    r"|(?:这|这个|那|那个|这种|这些)?(?:能信|可信|靠谱|可靠)(?:吗|嘛)|是不是(?:骗局|诈骗|骗子|骗人的|真的)|是(?:骗局|诈骗|骗子)吗"
    r"|\b(?:is|are) (?:this|that|it|these|they) (?:legit|legitimate|a scam|real|for real|believable|trustworthy)\b"
    r"|\bcan (?:i|we|you) (?:trust|believe) (?:this|that|it|them)\b"
    r"|\b(?:it|that|this|they|these)(?:'s| is| are) (?:always |almost always |often |usually |most likely |likely )?"
    r"(?:an? )?(?:scam|fraud|trap)s?\b"
)
_NORM_SENTENCE_END = re.compile(r"[!?\n]|\.(?!\d)")


# ... or the next sentence opens by calling it a scam ("… will ever ask for the code. That's always a scam.")
_NEXT_SENTENCE = re.compile(r"[。!?\n]|\.(?!\d)")
_NEXT_VERDICT = re.compile(
    r"\s*(?:(?:that|this|it)(?:'s| is) (?:always |almost always |definitely |certainly |100% )?(?:an? )?(?:scam|fraud)"
    r"|(?:这|那)(?:就|一定|肯定|都|全)?是(?:诈骗|骗局|骗子)"
    r"|(?:is|are) (?:that|this|it|they|these) (?:legit|legitimate|a scam|real|for real|true)\b"
    r"|(?:这|这个|那|那个)?(?:能信|可信|靠谱|是真的)(?:吗|嘛))"
)


def described_scam(s: str, a: int, b: int) -> bool:
    """True when the claim at ``[a, b)`` of the normalised text ``s`` stands in a sentence that describes a
    scam or condemns the claim (see ``_SCAM_SUBJECT`` and ``_SCAM_VERDICT``), or the next sentence opens by
    calling it a scam (``_NEXT_VERDICT``): a mention, not a claim made."""
    start = max((m.end() for m in _NORM_SENTENCE_END.finditer(s, 0, a)), default=0)
    m_end = _NORM_SENTENCE_END.search(s, b)
    end = m_end.start() if m_end else len(s)
    if _SCAM_SUBJECT.search(s, start, b) is not None or _SCAM_VERDICT.search(s[b:end]) is not None:
        return True
    nxt = _NEXT_SENTENCE.search(s, b)
    return nxt is not None and _NEXT_VERDICT.match(s, nxt.end()) is not None


# An affirmation built from a negator (没问题, 冇問題, "no problem") after a claim confirms it: the rules read it
# as one scope word that negates nothing (``_ZH_IGNORE``), but the claim model takes its 没/no for a negation
# and reads 保本保息绝对没问题 as a denial, which let its veto drop the rule's block (ninth round).
_AFFIRMING_IDIOM = re.compile(
    r"[\s,，]*(?:(?:绝对|絕對|肯定|完全|保证|保證|一定|真的|都|也|是|就)\s*){0,2}"
    r"(?:没问题|沒問題|没有问题|沒有問題|冇问题|冇問題|无问题|無問題|不成问题|不成問題|不是问题|不是問題|没得说|沒得說)"
    r"|[\s,，.]*(?:(?:absolutely|definitely|totally|really|that's|that is|it's|it is)\s+){0,2}"
    r"(?:no problem|not a problem|no problems|no worries)\b",
    re.IGNORECASE,
)


def affirmed_after(text: str, end: int) -> bool:
    """True when the claim ending at ``end`` of the original ``text`` is followed by an affirmation built from
    a negator (保本保息绝对没问题; 保本冇問題; "guaranteed returns, no problem"): the claim is confirmed, not
    denied, so the claim model's low reading there must not veto it."""
    return _AFFIRMING_IDIOM.match(text, end) is not None
