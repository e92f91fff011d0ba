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
虽然不保本，但稳赚不赔 the negation of the first clause does not reach the second.
"""

from __future__ import annotations

from dataclasses import dataclass

from assist.compliance.guard.normalize import normalize_phrase

# effects
NEG, CANCEL, BOUNDARY, IGNORE, POSTNEG, POSTCANCEL = 1, 2, 3, 4, 5, 6

_ZH_NEG = (
    "不 非 没 没有 无 无法 不能 不会 并非 不是 未 勿 别 绝非 从未 "
    "从不 并不 不可能 没可能 不可以 不得 禁止 严禁 拒绝 不要 不准 毋"
)
_EN_NEG = (
    "not|no|never|cannot|can't|cant|isn't|isnt|aren't|arent|doesn't|doesnt|don't|dont|didn't|won't|wouldn't|"
    "shouldn't|couldn't|wasn't|weren't|ain't|nobody|no one|neither|nor|none|nothing|hardly"
)
_ZH_IGNORE = (
    "不但 不仅 不只 不光 不管 不断 不少 不错 不久 不用说 不得不 非常 "
    "非凡 未来 无论 毫无疑问 无疑 无忧 无比 无数 无限 没错 没问题 "
    "不是问题 没有之一 没得说 别人 特别 区别 级别 分别 类别 个别 差别 "
    "识别 告别 不要错过 别错过 不容错过 不用担心 不必担心 不怕 无与伦比"
)
_EN_IGNORE = (
    "not only|no doubt|no question|no matter|no problem|not just|no wonder|no brainer|not to mention|"
    "without a doubt|without doubt|no surprise|don't worry|dont worry|don't miss|no kidding|never been better"
)
_ZH_CANCEL = (
    "除非 可能 也许 或许 大概 未必 不一定 说不定 不确定 有可能 可能性 想要 "
    "想找 您需要 你需要 希望 是否 有没有 是不是 能不能 会不会 您说的 "
    "您提到的 你说的 你提到的 您问的 你问的 您刚才问 所谓 号称 声称 宣称 "
    "有人说 网上说 听说 警惕 谨防 小心 提防 当心 防范 在意 看重 偏好 "
    "追求 您要求 假设 理论上 有人跟您说 有人跟你说 有人对您说 有人对你说 有人告诉您 有人告诉你 有人向您 "
    "有人向你 如果有人 骗子说 骗子会说 骗子常说 诈骗分子"
)
_EN_CANCEL = (
    "may|might|could|possibly|perhaps|maybe|whether|you mentioned|you asked|you said|asked about|ask about|"
    "asking about|so-called|so called|claims|claiming|promising|beware|be careful|be wary|watch out|scam|scams|"
    "fraudster|fraudsters|looking for|you want|do you want|you prefer|would you prefer|prefer|do you need|"
    "you need|interested in|are you after|heard|hypothetically|in theory|theoretically|if anyone|if someone|"
    "if somebody|anyone who|anybody who|someone who"
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
    "不再 被禁止 不合规 是误导"
)
_EN_POSTNEG = (
    "is not possible|isn't possible|is impossible|are impossible|does not exist|doesn't exist|do not exist|"
    "don't exist|is a myth|are a myth|is not true|isn't true|is not something|isn't something|"
    "are not something|aren't something|is not allowed|isn't allowed|are not allowed|aren't allowed|"
    "can't be promised|cannot be promised|can't promise|cannot promise|we do not offer|we don't offer|"
    "is not offered|isn't offered|is not available|isn't available|is a scam|are a scam|is a red flag|"
    "are a red flag|is not real|isn't real|are not real|aren't real|no longer"
)
_ZH_POSTCANCEL = "说不定 也说不定 说不准 说不好 不好说 不一定 未必"
_EN_POSTCANCEL = "or not|maybe not|not necessarily"


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
