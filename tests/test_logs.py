"""assist.logs: one handler on stderr, text or JSON lines, the `extra` fields kept, every field redacted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from assist.logs import configure_logging

CARD = "4111 1111 1111 1111"
OTP_TURN = "验证码是123456"


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in _lines(capsys)]  # every line is one JSON object


def test_json_lines_parse_and_carry_the_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    log = logging.getLogger("assist.calls.engine")
    timings = {"guard": 0.4, "retrieve": 12.5, "compose": 1.25}
    log.info("turn done", extra={"call_id": "c-42", "turn": 3, "timings": timings, "rules": ["r1", "r2"]})
    log.debug("not at info")
    [entry] = _json_lines(capsys)
    assert entry["level"] == "INFO" and entry["logger"] == "assist.calls.engine" and entry["message"] == "turn done"
    assert entry["call_id"] == "c-42" and entry["turn"] == 3
    assert entry["timings"] == timings and entry["rules"] == ["r1", "r2"]
    assert str(entry["time"]).endswith("+00:00")


def test_an_extra_named_like_a_json_field_is_kept_beside_it(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    logging.getLogger("assist.test").warning("slow", extra={"level": "deep", "time": 3})
    [entry] = _json_lines(capsys)
    assert entry["level"] == "WARNING" and entry["extra_level"] == "deep" and entry["extra_time"] == 3


def test_text_lines_carry_the_extras_as_key_value_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "text")
    logging.getLogger("assist.calls.engine").info(
        "call ended", extra={"call_id": "c-42", "turns": 7, "reason": "two\nlines", "timings": {"guard": 0.4}}
    )
    [line] = _lines(capsys)
    assert " INFO assist.calls.engine: call ended call_id=c-42 turns=7 " in line
    assert 'reason="two\\nlines"' in line and 'timings={"guard": 0.4}' in line


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    ("extra", "raw", "token"),
    [
        ({"utterance": f"my card number is {CARD}"}, "4111", "[CARD]"),
        ({"utterance": OTP_TURN}, "123456", "[OTP]"),
        ({"context": ["hello", {"said": OTP_TURN}]}, "123456", "[OTP]"),  # nested in a list and a dict
    ],
)
def test_a_card_number_or_otp_in_an_extra_is_redacted(
    capsys: pytest.CaptureFixture[str], fmt: str, extra: dict[str, object], raw: str, token: str
) -> None:
    configure_logging("info", fmt)  # type: ignore[arg-type]
    logging.getLogger("assist.calls.engine").info("turn", extra={"call_id": "c-1", **extra})
    [line] = _lines(capsys)
    assert raw not in line and token in line and "c-1" in line, line
    if fmt == "json":
        json.loads(line)


def test_message_arguments_and_traceback_are_redacted_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        raise ValueError(f"bad card number {CARD} for li.si@example.com")
    except ValueError:
        logging.getLogger("assist.routes.calls").exception("turn failed: %s", OTP_TURN, extra={"call_id": "c-9"})
    [entry] = _json_lines(capsys)
    assert entry["message"] == "turn failed: 验证码是[OTP]" and entry["call_id"] == "c-9"
    assert "ValueError: bad card number [CARD] for [EMAIL]" in str(entry["exception"])
    assert "4111" not in json.dumps(entry) and "li.si" not in json.dumps(entry)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_uvicorn_access_lines_go_through_the_same_handler_redacted(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    # what uvicorn's own logging configuration would have done: a handler of its own, not propagating
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.StreamHandler())
    access.propagate = False
    configure_logging("info", fmt)  # type: ignore[arg-type]
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/healthz?q=4111+1111+1111+1111", "1.1", 200)
    [line] = _lines(capsys)  # once: uvicorn's own handler is gone
    assert "4111" not in line and "[CARD]" in line and "GET /healthz?q=" in line
    if fmt == "json":
        assert json.loads(line)["logger"] == "uvicorn.access"


def test_configuring_again_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "text")
    configure_logging("info", "json")
    logging.getLogger("assist.test").info("once")
    assert [e["message"] for e in _json_lines(capsys)] == ["once"]
    assert len(logging.getLogger().handlers) == 1


def test_a_wrong_level_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging("loud")


def test_an_extra_json_cannot_encode_as_is_still_gives_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    counts = {("en", "bm25"): 3, 7: "li.si@example.com"}
    logging.getLogger("assist.test").info("fusion", extra={"counts": counts, "path": Path("/data/index")})
    [entry] = _json_lines(capsys)
    assert entry["counts"] == {"('en', 'bm25')": 3, "7": "[EMAIL]"} and entry["path"] == "/data/index"
