"""A risk assessment's result told as it stands: the precise fast path of the suitability check.

"结果是C2 还在十二个月有效期内", "您的风险承受能力评估系C3", "C4积极型 还在有效期内", "your questionnaire from last
may came out C2", "her profile is c three": the agent looked the assessment up and told its result, so the check is
done, though the turn opened with "let me look" and goes on to what the customer may buy. The heads read such a
turn by its mix (an identity check, then the assessment): this rule reads the result itself. A result that has
lapsed ("已经超过十二个月有效期", "it has expired"), or one asked about or only promised, is no completion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assist.calls.understanding.text import Normalizer, asks, lapsed, not_done

ASSESSMENT_STEP = "check_suitability"
NEAR_WORDS, NEAR_CHARS = 4, 8  # what is read before the result in an unpunctuated turn

_LEVEL = r"c\s?(?:[1-5一二三四五](?![0-9])|one\b|two\b|three\b|four\b|five\b)"
# The result as told, on normalised text (Simplified, lower case)
_RESULT = re.compile(
    rf"(?:结果|评估|测评|问卷|等级|类型)(?:是|系|为|:|：)?\s*{_LEVEL}|"
    r"c\s?[1-5]\s*(?:保守|稳健|平衡|成长|进取|积极)型|"
    rf"\b(?:is|was|you're|you are|it's|at|gives(?: you)?|came (?:out|back)(?: as)?)\s+(?:an?\s+)?{_LEVEL}|"
    rf"\b{_LEVEL} profile\b"
)
# What the result is of: the turn must speak of an assessment, and an English one of the customer's own
_ASSESSMENT = re.compile(r"测评|测平|评估|问卷|风险承受|assessment|questionnaire|profile|risk")
_CUSTOMERS = re.compile(r"[\u4e00-\u9fff]|\b(?:your|you're|you are|her|his|their|she's|he's)\b")
# Said right after the level, a rule's range or a condition ("C3 及以上的客户", "C3 or above", "结果是C3的话"), not the
# customer's result
_RANGE = re.compile(r"^\s*(?:及|或)?(?:以上|以下|的话)|^\s*(?:or|and) (?:above|higher|below|lower)\b")
# A lapsed result anywhere in the turn (`text.lapsed`, and these): the check is to be redone, not done
_REDO = re.compile(r"失效|\bredo(?:ne)?\b|\bre-?do\b|\bnot valid\b")


def result_told(text: str, clauses: Sequence[str], normalize: Normalizer) -> dict[str, int]:
    """{ASSESSMENT_STEP: where} when the turn `text` tells an assessment's result as it stands, else {}.

    Where: the index of the first of its `clauses` holding it (-1: none does, the turn is read whole). Nothing
    when it tells a result that has lapsed, or one it asks about, sets a condition on or promises (judged in the
    clause, or in an unpunctuated turn just before the result: "I need to check your risk assessment your
    questionnaire … came out C2" is told)."""
    where = _where(text, clauses, normalize)
    return {} if where is None else {ASSESSMENT_STEP: where}


def _where(text: str, clauses: Sequence[str], normalize: Normalizer) -> int | None:
    norm = normalize(text)
    if not (_ASSESSMENT.search(norm) and _CUSTOMERS.search(norm)) or lapsed(text, normalize) or _REDO.search(norm):
        return None
    for i, clause in enumerate(clauses):
        c = normalize(clause)
        if (found := _RESULT.search(c)) is not None:
            return None if asks(clause, normalize) or not_done(c) or _RANGE.match(c[found.end() :]) else i
    m = _RESULT.search(norm)
    if m is None or _RANGE.match(norm[m.end() :]):
        return None
    before = norm[: m.start()]
    near = " ".join(before.split()[-NEAR_WORDS:]) if before.isascii() else before[-NEAR_CHARS:]
    near = f"{near} {m.group()}"
    return None if not_done(near) or asks(near, normalize) else -1
