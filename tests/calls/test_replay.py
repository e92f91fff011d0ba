"""`assist replay`: bad files fail clearly; a sample call prints suggestions, checklists and alerts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.config import get_settings

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no turns"),
        ("{not json}\n", ":1: not JSON"),
        ('{"speaker": "bot", "text": "hi"}\n', ":1: expected"),
        ('{"speaker": "customer", "text": ""}\n', "non-empty"),
    ],
)
def test_bad_call_files(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "call.jsonl"
    f.write_text(content, encoding="utf-8")
    r = runner.invoke(app, ["replay", str(f)])
    assert r.exit_code == 2
    assert message in r.output


def test_missing_file_and_url_without_key(tmp_path: Path) -> None:
    r = runner.invoke(app, ["replay", str(tmp_path / "nope.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output
    r = runner.invoke(app, ["replay", str(ROOT / "kb_docs/calls/zh_card_loss_and_wealth.jsonl"), "--url", "http://x"])
    assert r.exit_code == 2 and "--key" in r.output


def test_unreachable_server_is_a_message_not_a_traceback() -> None:
    call = ROOT / "kb_docs/calls/zh_card_loss_and_wealth.jsonl"
    r = runner.invoke(app, ["replay", str(call), "--url", "http://127.0.0.1:9", "--key", "ak_agent_x"])
    assert r.exit_code == 1 and r.output.startswith("error:")


def test_local_replay_of_the_chinese_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("assist.knowledge.base")
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    get_settings.cache_clear()
    r = runner.invoke(app, ["replay", str(ROOT / "kb_docs/calls/zh_card_loss_and_wealth.jsonl")])
    assert r.exit_code == 0, r.output
    out = r.output
    assert ">> suggestion" in out and "信用卡挂失、冻结与补卡" in out
    assert "!! BLOCK" in out
    assert "[x] 宣读风险提示" in out
    assert "== summary" in out
