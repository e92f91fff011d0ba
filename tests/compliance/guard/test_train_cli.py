"""`assist guard train` and `assist eval guard --data` with a fake encoder (no weights): review decisions
feed training, a worse model is refused, the installation is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from assist.cli import _register, app
from assist.compliance.guard import encoding, retrain
from assist.compliance.guard.model import ClaimModel
from assist.config import get_settings
from assist.db import make_engine
from assist.models.audit import AuditEntry
from assist.models.guard import GuardEvent
from tests.compliance.guard.claim_fakes import NEGATIVES, POSITIVES, FakeEncoder

_register()
runner = CliRunner()
RULES = Path(__file__).resolve().parents[3] / "kb_docs" / "rules"
#: A pack that knows none of the fake corpus's claims, so that the model alone decides the comparison.
OTHER_RULES = """rules:
  - id: house_bonus_promise
    category: house_bonus
    severity: block
    languages: [en]
    phrases: [house bonus]
    advice: Do not promise the house bonus.
    source: test
"""


def _corpus(path: Path, *, flip_train: bool = False) -> Path:
    rows = []
    for i, t in enumerate(POSITIVES * 4 + NEGATIVES * 4):
        claim = t in POSITIVES
        split = "val" if i % 5 == 0 else "train"
        label = claim != (flip_train and split == "train")
        cat = "guaranteed_return" if label else "none"
        rows.append({"id": f"w-{i}", "text": t, "speaker": "agent", "category": cat, "lang": "x", "split": split})
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fake_training(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    shared = FakeEncoder()
    monkeypatch.setattr(encoding, "shared_encoder", lambda: shared)
    monkeypatch.setattr(retrain, "kb_sentences", lambda kb_dir: ["营业时间是九点到五点"])
    # The shipped ordinary-speech lines are for the real encoder; the tests that want the check pass a file.
    monkeypatch.setattr(retrain, "service_speech_path", lambda kb_dir: tmp_path / "no-service.jsonl")
    get_settings.cache_clear()
    return tmp_path


def _train(tmp: Path, corpus: Path, *extra: str) -> object:
    args = ["guard", "train", "--rules", str(RULES), "--corpus", str(corpus), "--out", str(tmp / "m.npz"), *extra]
    return runner.invoke(app, args)


def test_train_learns_from_reviews_installs_and_audits(fake_training: Path) -> None:
    tmp = fake_training
    with Session(make_engine(get_settings())) as s:
        s.add(GuardEvent(action="block", text="包你赚钱翻倍", categories=["guaranteed_return"], status="confirmed"))
        fp = GuardEvent(action="block", text="不保证收益", categories=["guaranteed_return"], status="false_positive")
        s.add(fp)
        s.add(GuardEvent(action="block", text="pending one", categories=["guaranteed_return"]))
        s.commit()
    result = _train(tmp, _corpus(tmp / "c.jsonl"))
    assert result.exit_code == 0, result.output
    assert "candidate: combined" in result.output and "2 review decisions" in result.output
    model = ClaimModel.load(tmp / "m.npz")
    assert "包你赚钱翻倍" in model.example_texts and "pending one" not in model.example_texts
    assert model.meta["version"].endswith("-r2") and model.meta["rules_hash"]
    with Session(make_engine(get_settings())) as s:
        (entry,) = s.exec(select(AuditEntry).where(AuditEntry.action == "guard_model.install")).all()
        assert entry.after["version"] == model.meta["version"]


def test_a_worse_model_is_refused_unless_forced(fake_training: Path) -> None:
    tmp = fake_training
    (tmp / "rules.yaml").write_text(OTHER_RULES, encoding="utf-8")
    rules = ("--rules", str(tmp / "rules.yaml"), "--no-reviews")
    assert _train(tmp, _corpus(tmp / "good.jsonl"), *rules).exit_code == 0
    before = (tmp / "m.npz").read_bytes()
    result = _train(tmp, _corpus(tmp / "bad.jsonl", flip_train=True), *rules)
    assert result.exit_code == 1 and "worse than the model in force" in result.output, result.output
    assert (tmp / "m.npz").read_bytes() == before
    assert _train(tmp, _corpus(tmp / "bad.jsonl", flip_train=True), *rules, "--force").exit_code == 0
    assert (tmp / "m.npz").read_bytes() != before


def test_eval_guard_reports_each_layer_per_language(fake_training: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = fake_training
    assert _train(tmp, _corpus(tmp / "c.jsonl"), "--no-reviews").exit_code == 0
    monkeypatch.setenv("ASSIST_GUARD_MODEL", "true")
    monkeypatch.setenv("ASSIST_GUARD_MODEL_PATH", str(tmp / "m.npz"))
    get_settings.cache_clear()
    args = ["eval", "guard", "--rules", str(RULES), "--data", str(tmp / "c.jsonl"), "--split", "val"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["overall"]) == {"rules", "model", "combined"}
    assert report["by_language"]["x"]["combined"]["claims"] == report["overall"]["combined"]["claims"] > 0
    get_settings.cache_clear()


def test_train_refuses_a_missing_corpus(fake_training: Path) -> None:
    result = _train(fake_training, fake_training / "nope.jsonl")
    assert result.exit_code == 2 and "no such corpus" in result.output


def test_train_switches_simplify_and_bad_negative_pool(fake_training: Path) -> None:
    tmp = fake_training
    corpus = _corpus(tmp / "c.jsonl")
    bad = _train(tmp, corpus, "--calibrate-negatives", "written", "--no-reviews")
    assert bad.exit_code == 2 and "must be all or third_party" in bad.output
    # The fake corpus has no third-party negative: the pool is refused with a reason, not a traceback.
    none = _train(tmp, corpus, "--calibrate-negatives", "third_party", "--no-reviews")
    assert none.exit_code == 2 and "no negative statement has a source address" in none.output
    # The pool of other writers' statements only is a known pool, refused here for the same reason.
    also = _train(tmp, corpus, "--calibrate-negatives", "third_party_all", "--no-reviews")
    assert also.exit_code == 2 and "third_party_all, but no negative statement" in also.output
    ok = _train(tmp, corpus, "--simplify", "--calibrate-negatives", "all", "--no-reviews")
    assert ok.exit_code == 0, ok.output
    model = ClaimModel.load(tmp / "m.npz")
    assert model.simplify and model.meta["config"]["simplify"] is True


def _service(path: Path, texts: list[str]) -> Path:
    rows = [{"text": t, "speaker": "agent", "expect": "allow", "lang": "x", "kind": "service"} for t in texts]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_model_that_flags_ordinary_service_speech_is_refused(fake_training: Path) -> None:
    tmp = fake_training
    (tmp / "rules.yaml").write_text(OTHER_RULES, encoding="utf-8")
    service = _service(tmp / "service.jsonl", NEGATIVES)
    args = ("--rules", str(tmp / "rules.yaml"), "--no-reviews", "--service-speech", str(service))
    # No model in force, so nothing to be worse than: only the ordinary-speech check can refuse it.
    result = _train(tmp, _corpus(tmp / "bad.jsonl", flip_train=True), *args)
    assert result.exit_code == 1, result.output
    assert "flags ordinary service speech" in result.output and "ordinary service lines" in result.output
    assert "Thanks for calling today" in result.output  # the flagged lines are listed
    assert not (tmp / "m.npz").exists()
    forced = _train(tmp, _corpus(tmp / "bad.jsonl", flip_train=True), *args, "--force")
    assert forced.exit_code == 0 and (tmp / "m.npz").exists()
    assert "installed with --force although it blocks" in forced.output


def test_a_model_quiet_on_ordinary_service_speech_is_installed(fake_training: Path) -> None:
    tmp = fake_training
    (tmp / "rules.yaml").write_text(OTHER_RULES, encoding="utf-8")
    service = _service(tmp / "service.jsonl", NEGATIVES)
    args = ("--rules", str(tmp / "rules.yaml"), "--no-reviews", "--service-speech", str(service))
    result = _train(tmp, _corpus(tmp / "good.jsonl"), *args)
    assert result.exit_code == 0, result.output
    assert f"ordinary service speech ({len(NEGATIVES)} lines of service.jsonl" in result.output
    assert "candidate:" in result.output and "flags 0 (0.0), blocks 0" in result.output


def test_train_refuses_a_missing_service_speech_file(fake_training: Path) -> None:
    result = _train(fake_training, _corpus(fake_training / "c.jsonl"), "--service-speech", "/nope/s.jsonl")
    assert result.exit_code == 2 and "no such ordinary-speech file" in result.output


def test_train_switches_the_ordinary_talk_budget_and_weight(fake_training: Path) -> None:
    tmp = fake_training
    args = ("--ordinary-flag", "0.02", "--ordinary-weight", "3", "--ordinary-veto", "0.01", "--no-reviews")
    ok = _train(tmp, _corpus(tmp / "c.jsonl"), *args)
    assert ok.exit_code == 0, ok.output
    meta = ClaimModel.load(tmp / "m.npz").meta
    assert meta["config"]["ordinary_flag_fpr"] == 0.02 and meta["config"]["ordinary_weight"] == 3.0
    assert meta["ordinary_veto"] == {"margin": 0.01, "examples": []}  # the fake corpus has no ordinary line
    bad = _train(tmp, _corpus(tmp / "c.jsonl"), "--ordinary-flag", "2")
    assert bad.exit_code == 2


def test_train_switches_per_script_thresholds_and_the_credential_mode(fake_training: Path) -> None:
    tmp = fake_training
    args = ("--per-script", "--credential-without-secret", "warn_at_block", "--no-reviews")
    ok = _train(tmp, _corpus(tmp / "c.jsonl"), *args)
    assert ok.exit_code == 0, ok.output
    model = ClaimModel.load(tmp / "m.npz")
    assert model.meta["config"]["per_script"] is True and model.script_thresholds is not None
    assert model.meta["policy"]["credential_without_secret"] == "warn_at_block"
    bad = _train(tmp, _corpus(tmp / "c.jsonl"), "--credential-without-secret", "never", "--no-reviews")
    assert bad.exit_code == 2 and "must be one of block, warn, warn_at_block" in bad.output
