"""The WebSocket messages: one model each, parsed with reasons, encoded as on the wire, and the committed schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.calls import messages as m
from assist.errors import InvalidMessageError
from assist.models.calls import ComplianceAlert, NextStep, SuggestionMessage, TurnResult

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = ROOT / m.SCHEMA_PATH
    assert committed.is_file(), "run `make schemas` and commit docs/schemas/ws-messages.json"
    assert committed.read_text(encoding="utf-8") == m.message_schema_text(), "stale: run `make schemas`"


def test_main_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "s" / "ws.json"
    assert m.main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == m.message_schema_text()


def test_the_schema_names_every_message_of_the_contract() -> None:
    defs = m.message_schema()["$defs"]
    client = defs["ClientMessage"]["discriminator"]["mapping"]
    server = defs["ServerMessage"]["discriminator"]["mapping"]
    assert sorted(client) == ["ping", "utterance"]
    assert sorted(server) == ["ack", "checklist", "compliance_alert", "error", "pong", "resumed", "suggestion"]
    for ref in [*client.values(), *server.values()]:
        model = defs[ref.rsplit("/", 1)[-1]]
        assert model["required"][0] == "type" and "type" in model["properties"]
    # status and retry_after are absent, never null, on the wire
    assert "default" not in defs["ErrorMessage"]["properties"]["status"]


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "a JSON object with a 'type'"),
        ('{"speaker": "customer"}', "needs a 'type'"),
        ('{"type": "hello"}', "unknown message type 'hello': expected 'utterance' or 'ping'"),
        ('{"type": 3}', "unknown message type 3"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_malformed_client_messages_say_what_is_wrong(raw: str | bytes, detail: str) -> None:
    with pytest.raises(InvalidMessageError) as exc:
        m.parse_client_message(raw)
    assert detail in str(exc.value)
    assert exc.value.message_type is None


def test_bad_fields_name_the_field_and_keep_the_type() -> None:
    with pytest.raises(InvalidMessageError) as exc:
        m.parse_client_message('{"type": "utterance", "speaker": "bot", "text": "hi"}')
    assert exc.value.message_type == "utterance"
    assert str(exc.value).startswith("speaker: ")


def test_client_messages_parse_to_their_models() -> None:
    u = m.parse_client_message(b'{"type": "utterance", "speaker": "customer", "text": "\xe4\xbd\xa0\xe5\xa5\xbd"}')
    assert isinstance(u, m.UtteranceMessage) and u.text == "你好" and u.final is True
    assert isinstance(m.parse_client_message('{"type": "ping"}'), m.PingMessage)


def test_an_error_message_carries_the_rate_limit_fields_only_when_set() -> None:
    assert json.loads(m.encode(m.ErrorMessage(detail="bad"))) == {"type": "error", "detail": "bad"}
    limited = json.loads(m.encode(m.ErrorMessage(detail="slow down", status=429, retry_after=0.25)))
    assert limited == {"type": "error", "detail": "slow down", "status": 429, "retry_after": 0.25}


def _result(**kw: object) -> TurnResult:
    return TurnResult.model_validate({"call_id": "c1", "turn": 2, **kw})


def test_turn_messages_send_alerts_first_then_the_suggestion() -> None:
    alert = ComplianceAlert(call_id="c1", turn=2, speaker="agent", action="block")
    sug = SuggestionMessage(id="s1", call_id="c1", turn=2, query="q", answer="a")
    out = m.turn_messages(_result(alerts=[alert], suggestion=sug, checklist_changed=True))
    assert [x.type for x in out] == ["compliance_alert", "suggestion"]


def test_turn_messages_send_the_checklist_when_only_it_changed() -> None:
    steps = [NextStep(id="verify_identity", label="Verify", done=True)]
    (msg,) = m.turn_messages(_result(next_steps=steps, checklist_changed=True))
    assert isinstance(msg, m.ChecklistMessage) and msg.call_id == "c1" and msg.turn == 2
    assert json.loads(m.encode(msg))["next_steps"][0]["id"] == "verify_identity"


def test_turn_messages_are_empty_for_a_quiet_or_interim_turn() -> None:
    assert m.turn_messages(_result()) == []
    assert m.turn_messages(_result(turn=None, checklist_changed=True)) == []


@pytest.mark.parametrize(
    "message",
    [
        SuggestionMessage(
            id="s1", call_id="c1", turn=1, query="q", answer="a", next_steps=[NextStep(id="x", label="")]
        ),
        ComplianceAlert(call_id="c1", turn=1, speaker="agent", action="warn"),
        m.ChecklistMessage(call_id="c1", turn=1, next_steps=[]),
        m.AckMessage(call_id="c1", turn=1),
        m.PongMessage(),
        m.ErrorMessage(detail="x", status=429, retry_after=1.0),
    ],
)
def test_server_messages_round_trip(message: m.ServerMessage) -> None:
    assert m.parse_server_message(m.encode(message)) == message


def test_a_server_message_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(InvalidMessageError, match="unknown message type 'utterance'"):
        m.parse_server_message('{"type": "utterance", "speaker": "customer", "text": "x"}')
