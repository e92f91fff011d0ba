"""Every normalisation trick, and spans that point back into the original text."""

from __future__ import annotations

import pytest

from assist.compliance.guard.normalize import cn_number, normalize_for_match


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＲＩＳＫ－ＦＲＥＥ", "risk free"),  # full width → half width, case folding
        ("穩賺不賠", "稳赚不赔"),  # Traditional → Simplified
        ("保\u200b本", "保本"),  # zero-width space
        ("ze\u00adro risk", "zero risk"),  # soft hyphen
        ("保 本 保 息", "保本保息"),  # spaces between Han characters
        ("保-本", "保本"),
        ("稳．赚．不．赔", "稳赚不赔"),  # full-width full stops between characters
        ("「保」「本」", "保本"),
        ("零、風、險", "零风险"),  # one character per list item
        ("G u a r a n t e e d", "guaranteed"),
        ("G-U-A-R-A-N-T-E-E-D returns", "guaranteed returns"),
        ("r-i-s-k f-r-e-e", "risk free"),  # glue vs word break inside a spelled-out run
        ("g.u.a.r.a.n.t.e.e.d", "guaranteed"),
        ("risk-free", "risk free"),
        ("百分之百安全", "100%安全"),
        ("百分百安全", "100%安全"),
        ("百分之五十", "50%"),
        ("one hundred percent safe", "100% safe"),
        ("20 percent", "20%"),
        ("won\u2019t", "won't"),
    ],
)
def test_normalisation_tricks(raw: str, expected: str) -> None:
    assert normalize_for_match(raw).text == expected


def test_clause_punctuation_is_kept() -> None:
    assert normalize_for_match("虽然不保本，但稳赚不赔。").text == "虽然不保本,但稳赚不赔。"
    assert normalize_for_match("It is safe. It is not.").text == "it is safe.it is not."


def test_decimal_point_is_not_a_clause_end() -> None:
    assert normalize_for_match("年化4.5%").text == "年化4.5%"


def test_ordinary_words_are_not_joined() -> None:
    assert normalize_for_match("保本、保息、稳赚").text == "保本、保息、稳赚"
    assert normalize_for_match("a, b and c").text == "a,b and c"


@pytest.mark.parametrize(
    ("raw", "needle", "original"),
    [
        ("这个产品保 本 保 息哦", "保本保息", "保 本 保 息"),
        ("這檔「保」「本」", "保本", "保」「本"),
        ("It is G u a r a n t e e d!", "guaranteed", "G u a r a n t e e d"),
        ("ＡＢ百分之百安全", "100%安全", "百分之百安全"),
        ("x ze\u00adro risk y", "zero risk", "ze\u00adro risk"),
    ],
)
def test_spans_map_back_to_the_original(raw: str, needle: str, original: str) -> None:
    nt = normalize_for_match(raw)
    i = nt.text.index(needle)
    a, b = nt.span(i, i + len(needle))
    assert raw[a:b] == original


def test_span_rejects_a_bad_range() -> None:
    with pytest.raises(ValueError, match="bad normalised span"):
        normalize_for_match("abc").span(2, 1)


@pytest.mark.parametrize(("s", "v"), [("五", 5), ("十五", 15), ("五十", 50), ("一百", 100), ("百", 100), ("x", None)])
def test_cn_number(s: str, v: int | None) -> None:
    assert cn_number(s) == v
