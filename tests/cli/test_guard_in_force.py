"""`assist ingest` and `assist guard check` use the rules in force in the database (the ones compliance staff
edit, seeded from the pack on first use), and refuse to run with no rules rather than let anything through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.compliance import packs, store
from assist.config import get_settings
from assist.db import make_engine
from assist.models.documents import Document
from tests.factories import write

runner = CliRunner()
_register()

ROOT = Path(__file__).resolve().parents[2]
DRAFT = ROOT / "kb_docs" / "drafts" / "marketing_draft_flagged.md"
# A claim no rule of the shipped pack knows, which compliance staff then forbid in the database.
HOUSE_CLAIM = "本行承诺年年有余计划每年派发红包"
HOUSE_RULE = {
    "id": "house_bonus_promise",
    "category": "guaranteed_return",
    "severity": "block",
    "languages": ["zh-Hans"],
    "phrases": ["年年有余计划每年派发红包"],
    "advice": "不得承诺派发。",
    "source": "合规部 2025-01",
}


@pytest.fixture(autouse=True)
def _hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    get_settings.cache_clear()


@pytest.fixture
def no_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    empty = tmp_path / "no_rules"
    empty.mkdir()
    monkeypatch.setenv("ASSIST_RULES_DIR", str(empty))
    get_settings.cache_clear()
    return empty


def _documents() -> int:
    with Session(make_engine(get_settings())) as s:
        return int(s.exec(select(func.count()).select_from(Document)).one())


def _add_house_rule() -> None:
    settings = get_settings()
    with Session(make_engine(settings)) as s:
        packs.ensure_seeded(session=s, rules_path=settings.rules_path)
        store.create_rule(session=s, body=dict(HOUSE_RULE), actor=None)
        s.commit()


def test_ingest_flags_the_marketing_draft_and_publishes_nothing_that_blocks(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "draft.md", DRAFT.read_text(encoding="utf-8"))
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 0, r.output
    assert "flagged: 1" in r.stdout and "flagged (needs_review)" in r.stdout


def test_ingest_refuses_to_run_without_rules_and_stores_nothing(no_rules: Path, tmp_path: Path) -> None:
    write(tmp_path / "kb" / "draft.md", DRAFT.read_text(encoding="utf-8"))
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 2, r.output
    assert "compliance check unavailable" in r.output and str(no_rules) in r.output
    assert "Traceback" not in r.output
    assert _documents() == 0


def test_ingest_scans_with_the_rules_in_force_in_the_database(tmp_path: Path) -> None:
    _add_house_rule()
    write(tmp_path / "kb" / "promo.md", f"# 年年有余\n\n{HOUSE_CLAIM}，欢迎办理。\n")
    r = runner.invoke(app, ["ingest", str(tmp_path / "kb")])
    assert r.exit_code == 0, r.output
    assert "flagged: 1" in r.stdout and "house_bonus_promise" in r.stdout


def test_guard_check_uses_the_rules_in_force_and_a_pack_only_when_asked(tmp_path: Path) -> None:
    _add_house_rule()
    line = json.dumps({"text": HOUSE_CLAIM, "speaker": "agent"}, ensure_ascii=False) + "\n"
    r = runner.invoke(app, ["guard", "check", "--json"], input=line)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["action"] == "block"
    r = runner.invoke(app, ["guard", "check", "--json", "--rules", str(ROOT / "kb_docs" / "rules")], input=line)
    assert r.exit_code == 0 and json.loads(r.stdout)["action"] == "allow"


def test_guard_check_and_eval_refuse_to_run_without_rules(no_rules: Path, tmp_path: Path) -> None:
    line = json.dumps({"text": "这款产品保本保收益", "speaker": "agent"}, ensure_ascii=False) + "\n"
    r = runner.invoke(app, ["guard", "check", "--json"], input=line)
    assert r.exit_code == 2 and "compliance check unavailable" in r.output
    assert r.stdout.strip() == ""  # no verdict printed: nothing was checked
    empty_pack = write(tmp_path / "pack.yaml", "rules: []\n")
    r = runner.invoke(app, ["guard", "check", "--json", "--rules", str(empty_pack)], input=line)
    assert r.exit_code == 2 and "no rules in force" in r.output
    cases = write(tmp_path / "cases.jsonl", json.dumps({"text": "保本", "expect": "block"}, ensure_ascii=False))
    r = runner.invoke(app, ["eval", "guard", "--cases", str(cases)])
    assert r.exit_code == 2 and "compliance check unavailable" in r.output
