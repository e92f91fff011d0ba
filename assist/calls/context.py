"""The query for a turn, from the recent customer turns and the topic in play.

A customer rarely repeats the subject: after "信用卡丢了怎么办", "那补卡要钱吗?" still means the card;
after a mortgage question, "What about the fee?" means the prepayment fee. A short, elliptical turn is
therefore retrieved together with the previous need, and passages from documents already in play are
preferred.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assist.calls.asr import normalize_asr
from assist.calls.state import CallState
from assist.text import normalize

logger = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_ZH_CONTINUATIONS = tuple("那 那么 那个 还有 另外 然后 如果 要是 那如果 再 也 顺便 这个 这样".split())
_ZH_PRONOUNS = tuple("它 这个 那个 这样 那样 这笔 那笔 这张 那张 这些 那些".split())
_EN_CONTINUATIONS = (
    "what about",
    "how about",
    "and the",
    "and what",
    "and if",
    "what if",
    "and how",
    "also",
    "and",
    "is it",
    "does it",
    "will it",
    "is that",
    "does that",
    "how much is it",
    "and is",
    "then",
)
_EN_PRONOUNS = frozenset({"it", "that", "this", "those", "these", "they", "them", "its", "one"})


# Greetings and discourse words that only add noise to a retrieval query (removed at the start of a turn).
_LEADING_NOISE = re.compile(
    r"^(?:\s|[,，。.!！?？、~～]|你好|您好|喂|哈喽|嗨|请问|請問|麻烦问一下|麻煩問一下|我想问一下|我想問一下|想问一下|想問一下"
    r"|另外|還有|还有|那么|那麼|然后|然後|嗯+|哦|好的|hi\b|hello\b|hey\b|good (?:morning|afternoon|evening)\b"
    r"|excuse me\b|sorry\b|ok(?:ay)?\b|so\b|also\b)+",
    re.IGNORECASE,
)


def clean_turn(text: str) -> str:
    """The turn without leading greetings and discourse words ("你好，", "另外", "Hi,"); never empty."""
    stripped = _LEADING_NOISE.sub("", text.strip()).strip()
    return stripped or text.strip()


@dataclass(frozen=True)
class ContextQuery:
    """The text to retrieve with, and how it was built."""

    query: str
    turn_text: str
    elliptical: bool = False
    prefer_documents: list[str] = field(default_factory=list)
    topic: str | None = None  # the call's topic as the turn model reads it (it persists across turns)


class ContextQueryBuilder:
    """Builds the retrieval query of a customer turn.

    Args:
        has_topic: tells whether a text names a product or topic of its own (e.g. the playbooks'
            topic keywords); a turn that does is not treated as elliptical.
        topics_in: the topics a text names (e.g. `Playbooks.topics_in`). A short turn with a pronoun
            that names a topic the previous need did not ("What risk level is this wealth product?"
            after a question on certificates of deposit) starts a new need instead of continuing it.
        max_short_han: a Chinese turn with at most this many Han characters counts as short.
        max_short_words: an English turn with at most this many words counts as short.
    """

    def __init__(
        self,
        *,
        has_topic: Callable[[str], bool] | None = None,
        topics_in: Callable[[str], list[str]] | None = None,
        max_short_han: int = 12,
        max_short_words: int = 8,
    ) -> None:
        if max_short_han < 1 or max_short_words < 1:
            raise ValueError(f"short-turn limits must be positive, got {max_short_han}, {max_short_words}")
        self.has_topic = has_topic or (lambda _text: False)
        self.topics_in = topics_in
        self.max_short_han = max_short_han
        self.max_short_words = max_short_words

    def is_elliptical(self, text: str) -> bool:
        """A short turn that leans on what came before: a continuation word, a pronoun, or no topic noun."""
        norm = normalize(text).strip()
        han = _HAN.findall(norm)
        words = _WORD.findall(norm)
        short = len(han) <= self.max_short_han and len(words) <= self.max_short_words
        if not short:
            return False
        phrase = " ".join(words)
        continuation = norm.startswith(_ZH_CONTINUATIONS) or any(
            phrase == c or phrase.startswith(c + " ") for c in _EN_CONTINUATIONS
        )
        pronoun = any(p in norm for p in _ZH_PRONOUNS) or any(w in _EN_PRONOUNS for w in words)
        if continuation or pronoun:
            return True
        return not self.has_topic(text)

    def switches_topic(self, text: str, last_need: str) -> bool:
        """True when both name topics and share none: the turn is a new need, whatever its pronouns."""
        if self.topics_in is None:
            return False
        own, before = set(self.topics_in(text)), set(self.topics_in(last_need))
        return bool(own and before and not own & before)

    def run(self, *, text: str, state: CallState) -> ContextQuery:
        """The query for `text` given the call so far (the state is not modified).

        The query and the turn's words are in written form (`normalize_asr`: no fillers or stutters,
        Cantonese and code-switched words rewritten); the stored transcript is not touched.
        """
        text = normalize_asr(clean_turn(text))
        if (
            state.last_need
            and normalize_asr(clean_turn(state.last_need)) != text
            and self.is_elliptical(text)
            and not self.switches_topic(text, state.last_need)
        ):
            return ContextQuery(
                query=f"{normalize_asr(clean_turn(state.last_need))} {text}",
                turn_text=text,
                elliptical=True,
                prefer_documents=list(state.docs_in_play[-1:]),  # the document that answered the need
                topic=state.topic,
            )
        # a call mostly stays with the policy that answered it: a turn that does not lean on the last need still
        # prefers that document a little (the ranker weighs it below an elliptical turn's preference)
        return ContextQuery(
            query=text, turn_text=text, prefer_documents=list(state.docs_in_play[-1:]), topic=state.topic
        )
