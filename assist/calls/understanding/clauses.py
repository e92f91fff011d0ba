"""How an agent turn is cut into clauses for the step gates (`text.tick_clauses`, `text.said_plainly`).

Two cuts: `parts` for the clauses that may tick (a space between Chinese and anything else cuts an ASR turn, but
not one before a digit, and a lone English word said between Chinese words stays in its clause), and
`scope_parts` for the scope of a step's phrase (spaces between Chinese words only). Each part keeps whether a
question mark ends it; a clause a tag question follows ("…，好嗎？", "…, okay?") is marked as asking.
"""

from __future__ import annotations

import re

# A tag question on its own after a clause ("…，好嗎？", "…, okay?"): the clause before it is an offer.
_TAG_QUESTION = re.compile(
    r"^(?:好吗|好嗎|好不好|可以吗|可以嗎|行吗|行嗎|好唔好|得唔得|可唔可以|ok(?:ay)?|alright|all right)[\s?？。.!！]*$",
    re.IGNORECASE,
)
# The clauses that may tick: punctuation, or the spaces an ASR transcript puts between Chinese phrases, except at a
# space between Chinese and digits: "已经过了 12 个月有效期" and "尾号 3307 的卡已经挂失了" are one clause each.
# A risk level or rating said after Chinese ("结果是 C3", "R1 到 R3 的产品") is like a number: no cut before it.
_TICK_CLAUSE = re.compile(
    r"[。！？!?；;，,]\s*|(?<=[\u4e00-\u9fff])\s+(?!\d|[A-Za-z]\d)|(?<![\d\s])\s+(?=[\u4e00-\u9fff])|\.\s+"
)
_LONE_WORD = re.compile(r"[A-Za-z][A-Za-z'$]{0,11}$")
_HAN_END = re.compile(r"[\u4e00-\u9fff]\s*$")
_HAN_START = re.compile(r"\s*[\u4e00-\u9fff]")
_SCOPE = re.compile(r"[。！？!?；;，,]\s*|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|\.\s+")

# A request of the customer still closes a turn when this many letters or digits at most follow it (the details it
# asks for: "…麻烦您先说一下您母亲的姓名 还有卡号后四位 就后四位就行").
CLOSING_TAIL = 16
_FIRST_PERSON = re.compile(r"我|\b(?:i|i'(?:ve|ll|m)|we|we'(?:ve|ll|re))\b")


def parts(text: str) -> list[tuple[str, bool]]:
    """The clauses of a turn in its own words, each with whether a question mark ends it."""
    spans, start = [], 0
    for m in _TICK_CLAUSE.finditer(text):
        spans.append((start, m.start(), m.group()))
        start = m.end()
    spans.append((start, len(text), ""))
    spans = _join_lone_words(text, spans)
    out = [(text[a:b].strip(), "?" in sep or "？" in sep) for a, b, sep in spans]
    return _offers([(p, asks) for p, asks in out if sum(ch.isalnum() for ch in p) >= 2])


def _join_lone_words(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Clause spans (start, end, separator after) with a lone English word said between Chinese words kept in its
    clause ("我已經喺你嘅流動理財 App 推送咗…", "張卡 lost 咗"): the spaces around it are no clause break."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(spans):
        a, b, sep = spans[i]
        while (
            i + 2 < len(spans)
            and not sep.strip()
            and not spans[i + 1][2].strip()
            and _LONE_WORD.match(text[spans[i + 1][0] : spans[i + 1][1]])
            and _HAN_END.search(text[a:b])
            and _HAN_START.match(text[spans[i + 2][0] : spans[i + 2][1]])
        ):
            b, sep = spans[i + 2][1], spans[i + 2][2]
            i += 2
        out.append((a, b, sep))
        i += 1
    return out


def scope_parts(text: str) -> list[tuple[str, bool]]:
    out, start = [], 0
    for m in _SCOPE.finditer(text):
        out.append((text[start : m.start()].strip(), "?" in m.group() or "？" in m.group()))
        start = m.end()
    out.append((text[start:].strip(), False))
    return _offers([(p, asks) for p, asks in out if p])


def _offers(parts: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """`parts` with a clause that a tag question follows marked as asking: "我請主管來跟您說明後續，好嗎？" and "I'll
    put you through to my supervisor, okay?" offer, they do not report it done."""
    return [
        (p, asks or (i + 1 < len(parts) and bool(_TAG_QUESTION.match(parts[i + 1][0]))))
        for i, (p, asks) in enumerate(parts)
    ]


def closes(clause: str, turn: str) -> bool:
    """True when `clause` ends `turn`, but for at most `CLOSING_TAIL` letters or digits after it in which the agent
    says nothing of their own ("…还有卡号后四位"; not "…，收款账户我都记在诈骗案件里了")."""
    at = turn.rfind(clause)
    tail = turn[at + len(clause) :]
    return at >= 0 and sum(ch.isalnum() for ch in tail) <= CLOSING_TAIL and not _FIRST_PERSON.search(tail.lower())
