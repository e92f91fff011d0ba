"""When to suggest: a final customer turn that carries a need or a question, not a filler or a thank-you."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from assist.text import A_NOT_A, normalize

logger = logging.getLogger(__name__)

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")

# Whole turns that carry no need (compared after normalize(): Simplified, lower case, no punctuation).
DEFAULT_FILLERS = frozenset(
    """嗯 嗯嗯 嗯嗯嗯 哦 噢 喔 啊 呃 额 好 好的 好吧 好滴 行 行的 可以 对 对的 是 是的 没错
    明白 明白了 知道了 了解 懂了 收到 谢谢 谢谢你 谢谢您 多谢 感谢 非常感谢 好的谢谢 好谢谢
    嗯好的 嗯嗯好的 没问题 没有了 没了 再见 拜拜 稍等 等一下 喂 您好 你好
    ok okay okey k yes yeah yep yup no nope sure right alright fine great cool thanks thank thankyou
    thank you thanks a lot many thanks got it i see understood sounds good hello hi hey bye goodbye
    hold on one moment uh um hmm mhm uh huh ah oh that s all no thanks not really""".split()
)
_FILLER_PHRASES = frozenset(
    {
        "thank you",
        "thank you very much",
        "thanks a lot",
        "ok thank you",
        "okay thank you",
        "ok thanks",
        "okay thanks",
        "got it",
        "i see",
        "sounds good",
        "that s all",
        "that s it",
        "no thanks",
        "hold on",
        "one moment",
        "uh huh",
        "all right",
    }
)

# Markers of a question or a need, in Simplified (Traditional is converted first) and English.
_NEED_ZH = tuple(
    """吗 么 呢 怎么 如何 什么 多少 哪 为什么 能不能 可不可以 是否 有没有 会不会 要不要 想 要 需要
    帮我 麻烦 请 丢 挂失 被盗 盗刷 办理 申请 开通 取消 投诉 退
    还款 提前 收费 费 利息 利率 冻结 补 换 查 改""".split()
)
_NEED_EN = frozenset(
    """want need lost stolen missing fee fees charge charged cancel close open apply refund dispute block freeze
    replace help repay prepay problem issue wrong complaint complain report stop""".split()
)
# English question words count when they open the turn (a statement like "the digits are 4321" is no question)
_QUESTION_EN = frozenset(
    """how what why when where which who whom whose can could would should do does did is are was were will
    may might shall""".split()
)


# A closing: the customer thanks the agent, or puts the decision off, and asks for nothing more
# ("好的 那我回去再考虑 谢谢", "ok I'll sort it out myself, thanks", "let me sleep on it"). Thanks or a deferral
# with a question or a request in the same turn is still a need.
_THANKS = re.compile(r"谢|唔该|多谢|\bthanks?\b|\bthank you\b|\bcheers\b|\bta\b")
_DEFERS = re.compile(
    r"再想想|想一想|想一下|再考虑|考虑一下|考虑考虑|商量|讨论|再谂|谂下|谂谂|改天|下次再|回头再|过两天|迟啲|再研究|"
    r"再打(?:来|嚟|过来|电话)|\bcall (?:you |again |back )?(?:back|again|later)\b|"
    r"\bthink (?:it|about it)\b|\bthink it over\b|\bsleep on it\b|\bmull\b|\bget back to you\b|"
    r"\btalk (?:it )?(?:over|through)\b"
)
# a longer turn (Han characters plus words) is a closing only when it ends on the thanks or the deferral
CLOSING_SIZE = 20
_ASKS_ZH = re.compile(
    r"吗|么|呢|咩|怎|如何|什么|啥|咋|乜|多少|多久|多长|多快|何时|几|哪|边度|为什么|点解|能不能|可不可以|可唔可以|是不是|系唔系|系咪|有没有|有冇|"
    r"会不会|会唔会|要不要|使唔使|我想(?!想)|想要|想问|想办|我要|帮我|帮忙|麻烦你|麻烦您|请帮|唔该帮|请问|"
    # the yes-no question of either language (退唔退, 行不行) and a tag asking to confirm (…能全保是吧)
    rf"{A_NOT_A}|是吧|对吧"
)
_ASKS_EN = re.compile(
    r"^(?:how|what|why|when|where|which|who|can|could|would|should|do|does|did|is|are|will|may)\b|"
    r"\b(?:isn't|aren't|don't|doesn't|didn't|won't|can't)\s+(?:it|they|there|i|you|we)\b|"
    r"\b(?:is|are)\s+(?:it|they|there)\s*$|"
    r"\b(?:can you|could you|would you|please|i want|i need|i'd like|i would like|how|what|why|when|where|which)\b"
)


@dataclass(frozen=True)
class TriggerDecision:
    """Whether a turn warrants a suggestion, and why (for logs and tests)."""

    suggest: bool
    reason: str


class NeedTrigger:
    """Decides whether a turn warrants a suggestion.

    Args:
        min_chars: a Chinese turn shorter than this (Han characters) with no need marker is ignored.
        min_words: likewise for English words.
    """

    def __init__(self, *, min_chars: int = 4, min_words: int = 3) -> None:
        if min_chars < 1 or min_words < 1:
            raise ValueError(f"min_chars and min_words must be positive, got {min_chars}, {min_words}")
        self.min_chars = min_chars
        self.min_words = min_words

    def is_filler(self, text: str) -> bool:
        """True for acknowledgements, thanks and hesitations (嗯, 好的, okay, thank you, 謝謝, ...)."""
        norm = normalize(text)
        words = _PUNCT.sub(" ", norm).split()
        if not words:
            return True
        joined = " ".join(words)
        if joined in _FILLER_PHRASES or "".join(words) in DEFAULT_FILLERS:
            return True
        return all(w in DEFAULT_FILLERS for w in words) or joined in DEFAULT_FILLERS

    def is_closing(self, text: str) -> bool:
        """True for a turn that thanks the agent or puts the decision off, and neither asks nor requests
        anything ("行，那我回去跟家里商量商量，谢谢啊", "好，我遲啲自己去分行，唔該晒", "let me sleep on it"):
        the exchange is closing, not a new need. Thanks or a deferral beside a question or a request is not,
        nor is a longer turn that only passes through them ("返到屋企諗諗下覺得唔係咁啱 仲退唔退得返": it ends on
        what the customer wants now)."""
        norm = normalize(text)
        if "?" in norm or "？" in text or not (_THANKS.search(norm) or _DEFERS.search(norm)):
            return False
        clauses = [c.strip() for c in re.split(r"[,.!;:，。！；：…]+", norm) if c.strip()]
        if _ASKS_ZH.search(norm) or any(_ASKS_EN.search(c) for c in clauses or [norm]):
            return False
        if len(_HAN.findall(norm)) + len(_WORD.findall(norm)) <= CLOSING_SIZE:
            return True
        last = re.split(r"[,.!;:，。！；：…]+|\s+(?=[\u3400-\u9fff])", norm.strip(" ,.!;:，。！；：…"))[-1]
        last = " ".join(last.split(" ")[-CLOSING_SIZE // 2 :])  # an unpunctuated English turn: its last words
        return bool(_THANKS.search(last) or _DEFERS.search(last))

    def run(self, *, text: str, speaker: str, final: bool) -> TriggerDecision:
        """Decide for one turn."""
        if speaker != "customer":
            return TriggerDecision(False, "not a customer turn")
        if not final:
            return TriggerDecision(False, "interim text")
        if self.is_filler(text):
            return TriggerDecision(False, "filler")
        norm = normalize(text)
        if "?" in norm or "？" in text:
            return TriggerDecision(True, "question")
        words = _WORD.findall(norm)
        if words and words[0] in _QUESTION_EN:
            return TriggerDecision(True, "question")
        if any(m in norm for m in _NEED_ZH) or any(w in _NEED_EN for w in words):
            return TriggerDecision(True, "need marker")
        if len(_HAN.findall(norm)) >= self.min_chars or len(words) >= self.min_words:
            return TriggerDecision(True, "long enough")
        return TriggerDecision(False, "too short to carry a need")
