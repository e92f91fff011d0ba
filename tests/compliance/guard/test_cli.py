"""`assist guard check` and `assist eval guard` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.cli import _register, app

from .conftest import CASES

_register()
runner = CliRunner()


def _lines(*items: object) -> str:
    return "\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items) + "\n"


def test_check_json_one_verdict_per_line_in_order() -> None:
    stdin = _lines(
        {"text": "这款产品保 本 保 息", "speaker": "agent"},
        {"text": "你们保本吗？", "speaker": "customer"},
        {"text": "This product is not principal protected.", "speaker": "agent"},
    )
    result = runner.invoke(app, ["guard", "check", "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [v["action"] for v in out] == ["block", "allow", "allow"]
    m = out[0]["matches"][0]
    assert (m["rule_id"], m["category"], m["severity"], m["text"]) == (
        "guaranteed_return",
        "guaranteed_return",
        "block",
        "保 本 保 息",
    )
    assert "这款产品保 本 保 息"[m["start"] : m["end"]] == m["text"]
    assert out[0]["advice"]


def test_check_bad_lines_get_an_error_line_and_a_non_zero_exit() -> None:
    stdin = _lines("not json", {"text": "稳赚不赔"}, {"speaker": "agent"}, {"text": "hi", "speaker": "boss"})
    result = runner.invoke(app, ["guard", "check", "--json"], input=stdin)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert "error" in out[0] and out[0]["line"] == 1
    assert out[1]["action"] == "block"  # speaker defaults to agent
    assert "error" in out[2] and "error" in out[3] and "boss" in out[3]["error"]
    assert "Traceback" not in result.output


def test_check_readable_output() -> None:
    result = runner.invoke(app, ["guard", "check"], input=_lines({"text": "It's r-i-s-k free."}))
    assert result.exit_code == 0
    assert result.stdout.startswith("BLOCK")
    assert "no_risk" in result.stdout and "advice:" in result.stdout


def test_check_uses_the_configured_rules_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assist.config import get_settings

    (tmp_path / "r.yaml").write_text(
        "rules:\n  - {id: r1, category: c, severity: warn, languages: [en], phrases: [frobnicate],"
        " advice: a, source: s}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ASSIST_RULES_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = runner.invoke(app, ["guard", "check", "--json"], input=_lines({"text": "we frobnicate"}))
    assert json.loads(result.stdout)["action"] == "warn"


def test_check_reports_a_broken_pack_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - {id: r1, category: c, severity: fatal, languages: [en], phrases: [x], advice: a, source: s}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["guard", "check", "--rules", str(bad)], input="")
    assert result.exit_code == 2
    assert "r1" in result.output and "fatal" in result.output and "Traceback" not in result.output


def test_eval_guard_prints_recall_fpr_and_misses() -> None:
    result = runner.invoke(app, ["eval", "guard", "--cases", str(CASES)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] >= 150 and report["recall"] >= 0.97 and report["false_positive_rate"] <= 0.03
    assert isinstance(report["misses"], list) and set(report["by_lang"]) == {"zh-Hans", "zh-Hant", "en"}


def test_eval_guard_counts_a_miss(tmp_path: Path) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text(
        _lines(
            {"text": "hello", "speaker": "agent", "expect": "block"},
            {"text": "这款保本", "speaker": "agent", "expect": "allow"},
        ),
        encoding="utf-8",
    )
    report = json.loads(runner.invoke(app, ["eval", "guard", "--cases", str(cases)]).stdout)
    assert report["recall"] == 0.0 and report["false_positive_rate"] == 1.0 and len(report["misses"]) == 2


def test_eval_guard_missing_file() -> None:
    result = runner.invoke(app, ["eval", "guard", "--cases", "/nonexistent.jsonl"])
    assert result.exit_code == 2 and "no such cases file" in result.output
