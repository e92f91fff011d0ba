"""Loading a rule pack validates it, and errors name the rule and the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assist.compliance.guard import Guard, RulePack, load_rule_pack
from assist.errors import RulePackError

from .conftest import RULES


def _rule(**over: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "promise_yield",
        "category": "guaranteed_return",
        "severity": "block",
        "languages": ["zh-Hans", "en"],
        "phrases": ["包收益", "sure yield"],
        "advice": "Say returns are not guaranteed.",
        "source": "广告法 第二十五条",
        "examples": {"positive": ["这个包收益"], "negative": ["这个不包收益"]},
    }
    rule.update(over)
    return {k: v for k, v in rule.items() if v is not None}


def _write(tmp_path: Path, rules: list[dict[str, Any]], name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return path


def test_default_pack_loads_with_every_category_and_disclosures() -> None:
    pack = load_rule_pack(RULES)
    categories = {r.category for r in pack.rules}
    assert {
        "guaranteed_return",
        "no_risk",
        "performance_prediction",
        "deposit_like",
        "superlative",
        "loan_approval",
        "suitability_inducement",
        "credential_request",
        "private_dealing",
    } <= categories
    for rule in pack.rules:
        assert rule.advice and rule.source and rule.positive and rule.negative, rule.id
        assert set(rule.languages) == {"zh-Hans", "zh-Hant", "en"}, rule.id
    wealth = next(d for d in pack.disclosures if d.id == "wealth_risk_disclosure")
    assert [p.id for p in wealth.parts] == ["not_deposit", "product_risk", "invest_caution"]


def test_bad_regex_names_rule_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rule(regexes=["保证(收益"])])
    with pytest.raises(RulePackError, match=r"promise_yield.*pack\.yaml.*bad regex"):
        load_rule_pack(path)


@pytest.mark.parametrize("field", ["category", "severity", "languages", "advice", "source"])
def test_missing_field_names_rule(tmp_path: Path, field: str) -> None:
    path = _write(tmp_path, [_rule(**{field: None})])
    with pytest.raises(RulePackError, match=rf"promise_yield.*missing field.*{field}"):
        load_rule_pack(path)


def test_unknown_severity(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rule(severity="critical")])
    with pytest.raises(RulePackError, match=r"promise_yield.*unknown severity 'critical'"):
        load_rule_pack(path)


def test_rule_without_phrases_or_regexes(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rule(phrases=[])])
    with pytest.raises(RulePackError, match="needs at least one of phrases or regexes"):
        load_rule_pack(path)


def test_misspelt_field_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rule(phrase=["x"])])
    with pytest.raises(RulePackError, match=r"promise_yield.*unknown field.*phrase"):
        load_rule_pack(path)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    _write(tmp_path, [_rule()], "a.yaml")
    _write(tmp_path, [_rule()], "b.yaml")
    with pytest.raises(RulePackError, match="duplicate rule id 'promise_yield'"):
        load_rule_pack(tmp_path)


def test_invalid_yaml_and_missing_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(RulePackError, match="not valid YAML"):
        load_rule_pack(bad)
    with pytest.raises(RulePackError, match="no such rule file"):
        load_rule_pack(tmp_path / "nope.yaml")


def test_examples_that_misbehave_are_reported_by_rule(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rule(examples={"positive": ["完全无关的一句话"], "negative": ["就是包收益"]})])
    with pytest.raises(RulePackError) as err:
        Guard.from_path(path)
    msg = str(err.value)
    assert "promise_yield" in msg and "misses its positive example" in msg and "fires on its negative" in msg


def test_from_rules_builds_a_working_guard() -> None:
    guard = Guard.from_rules([_rule(version=3)])
    verdict = guard.check("我们这款包收益")
    assert verdict.action == "block"
    assert verdict.matches[0].rule_id == "promise_yield" and verdict.matches[0].version == 3
    assert guard.rules[0].version == 3
    assert guard.check("我们这款不包收益").action == "allow"


def test_from_rules_validates_too() -> None:
    with pytest.raises(RulePackError, match="<db>"):
        Guard.from_rules([_rule(severity="nope")])


def test_rule_dict_round_trips() -> None:
    pack = RulePack.from_dicts([_rule()])
    again = RulePack.from_dicts([pack.rules[0].to_dict()])
    assert again.rules[0] == pack.rules[0]


def test_disabled_rule_does_not_fire() -> None:
    guard = Guard.from_rules([_rule(enabled=False, examples=None)])
    assert guard.check("就是包收益").action == "allow"


def test_disclosure_needs_parts() -> None:
    with pytest.raises(RulePackError, match="disclosure 'd1'.*parts"):
        RulePack.from_dicts([_rule()], [{"id": "d1", "label": "x", "parts": []}])


def test_phrases_written_in_traditional_or_upper_case_match_every_script() -> None:
    guard = Guard.from_rules([_rule(phrases=["穩賺", "SURE YIELD"], examples=None)])
    assert guard.check("这个稳赚").action == "block"
    assert guard.check("這個穩賺").action == "block"
    assert guard.check("It's a sure yield.").action == "block"
