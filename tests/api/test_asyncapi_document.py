"""docs/asyncapi.yaml describes the call socket as the server runs it: its messages, auth and close codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from assist.calls import messages
from assist.routes import calls as call_routes

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "asyncapi.yaml"


def _doc() -> dict[str, Any]:
    data = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_message_of_the_socket_is_described_by_its_schema() -> None:
    doc = _doc()
    schema = json.loads((ROOT / messages.SCHEMA_PATH).read_text(encoding="utf-8"))
    described = doc["components"]["messages"]
    assert sorted(described) == sorted(messages.CLIENT_TYPES + messages.SERVER_TYPES)
    unions = schema["$defs"]
    for union in ("ClientMessage", "ServerMessage"):
        for tag, ref in unions[union]["discriminator"]["mapping"].items():
            model = ref.rsplit("/", 1)[-1]
            assert described[tag]["payload"]["$ref"] == f"schemas/ws-messages.json#/$defs/{model}"
            assert model in unions
    ops = doc["operations"]
    received = [r["$ref"].rsplit("/", 1)[-1] for r in ops["receiveClientMessage"]["messages"]]
    sent = [r["$ref"].rsplit("/", 1)[-1] for r in ops["sendServerMessage"]["messages"]]
    assert received == messages.CLIENT_TYPES and sent == messages.SERVER_TYPES


def test_the_channel_auth_and_close_codes_match_the_server() -> None:
    doc = _doc()
    assert "/v1/calls/{call_id}/stream" in [c["address"] for c in doc["channels"].values()]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["token"] == {**schemes["token"], "type": "httpApiKey", "in": "query", "name": "token"}
    codes = {v for k, v in vars(call_routes).items() if k.startswith("CLOSE_")}
    assert {4401, 4403, 4404, 4429, 1011, 1013} <= codes
    table = doc["info"]["description"]
    for code in codes:
        assert f"| {code} |" in table, f"close code {code} is not described"
