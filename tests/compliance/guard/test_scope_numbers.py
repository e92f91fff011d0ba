"""Numbers inside a clause do not split it: a negation before "HK$800,000" still covers what follows."""

from __future__ import annotations

from assist.compliance.guard import Guard
from tests.factories import KB_DOCS


def test_thousands_separator_does_not_end_the_negated_clause() -> None:
    guard = Guard.from_path(KB_DOCS / "rules")
    text = "理財產品並非存款，不受香港存款保障計劃（每名存款人上限 HK$800,000）或台灣存款保險保障。"
    assert guard.check(text, "document").action == "allow"
    assert guard.check("这款理财受存款保险保障，上限500,000元。", "agent").action == "block"
