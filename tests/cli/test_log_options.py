"""`assist --log-level` and ASSIST_LOG_LEVEL / ASSIST_LOG_FORMAT: the level a command logs at, JSON lines with
their extras on stderr, and a clear refusal of a wrong value."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.cli import _register, app, main
from assist.config import get_settings
from tests.factories import write

runner = CliRunner()
_register()

DOC = "---\nproduct: credit_card\n---\n# 信用卡挂失\n\n## 补卡\n\n挂失后可以补卡，补卡费二十元。\n"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_EMBEDDERS", "hash")
    monkeypatch.delenv("ASSIST_LOG_LEVEL", raising=False)
    monkeypatch.delenv("ASSIST_LOG_FORMAT", raising=False)
    get_settings.cache_clear()


def _set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"ASSIST_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """`assist serve` up to the point where uvicorn would start listening; the configs it was given."""
    import uvicorn

    configs: list[object] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: configs.append(self.config))
    return configs


@pytest.mark.parametrize(
    ("args", "env", "level"),
    [
        (["keys", "list"], {}, logging.WARNING),  # the default of a command other than serve
        (["--log-level", "debug", "keys", "list"], {}, logging.DEBUG),
        (["--log-level", "INFO", "keys", "list"], {}, logging.INFO),
        (["keys", "list"], {"log_level": "error"}, logging.ERROR),
        (["--log-level", "info", "keys", "list"], {"log_level": "error"}, logging.INFO),  # the flag wins
    ],
)
def test_the_level_comes_from_the_flag_then_the_env(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], level: int
) -> None:
    _set_env(monkeypatch, **env)
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert logging.getLogger().getEffectiveLevel() == level


def test_serve_logs_at_info_by_default_with_uvicorn_through_the_same_handler(served: list[object]) -> None:
    r = runner.invoke(app, ["serve", "--port", "8999"])
    assert r.exit_code == 0, r.output
    assert logging.getLogger().level == logging.INFO
    [config] = served
    assert config.log_config is None  # type: ignore[attr-defined]
    access = logging.getLogger("uvicorn.access")
    assert access.propagate and not access.handlers and access.getEffectiveLevel() == logging.INFO


@pytest.mark.parametrize("args", [["--log-level", "warning", "serve"], ["serve", "--log-level", "warning"]])
def test_serve_takes_the_level_from_either_option(served: list[object], args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert logging.getLogger().level == logging.WARNING and len(served) == 1


def test_ingest_at_info_writes_json_lines_with_their_extras(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path / "kb" / "card.md", DOC)
    _set_env(monkeypatch, log_format="json")
    r = runner.invoke(app, ["--log-level", "info", "ingest", str(tmp_path / "kb")])
    assert r.exit_code == 0, r.output
    entries = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    [ingested] = [e for e in entries if e["message"] == "ingested"]
    assert ingested["level"] == "INFO" and ingested["logger"] == "ingest.pipeline"
    assert ingested["version"] == 1 and ingested["chunks"] >= 1 and ingested["source"].endswith("card.md")


@pytest.mark.parametrize("args", [["--log-level", "verbose", "keys", "list"], ["serve", "--log-level", "verbose"]])
def test_a_wrong_level_flag_is_a_usage_error_naming_it(served: list[object], args: list[str]) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert "unknown log level 'verbose'" in r.output and "debug, info, warning, error, critical" in r.output
    assert "Traceback" not in r.output and served == []


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [("log_level", "loud", "unknown log level 'loud'"), ("log_format", "xml", "'text' or 'json'")],
)
def test_a_wrong_log_setting_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, reason: str
) -> None:
    _set_env(monkeypatch, **{name: value})
    monkeypatch.setattr(sys, "argv", ["assist", "keys", "list"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"ASSIST_{name.upper()}" in err and reason in err and "Traceback" not in err
