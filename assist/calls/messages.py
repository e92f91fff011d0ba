"""The messages of a call's WebSocket (`/v1/calls/{call_id}/stream`), one pydantic model each.

Every message is a JSON object whose `type` names it (docs/asyncapi.yaml, docs/schemas/ws-messages.json):

- client to server (`ClientMessage`): `utterance`, `ping`;
- server to client (`ServerMessage`): `suggestion`, `compliance_alert`, `checklist`, `ack`, `pong`, `error`,
  `resumed`.

The server builds and parses messages only through these models; `assist.client` parses them with the
same models. `SuggestionMessage`, `ComplianceAlert` and `NextStep` live in assist/models/calls.py because
the HTTP responses (`TurnResult`, `CallPublic`, `CallSummary`) carry them too and the engine builds them;
this module adds the rest and the two unions.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, TypeAdapter, ValidationError, model_serializer
from pydantic.json_schema import SkipJsonSchema

from assist.errors import InvalidMessageError
from assist.models.calls import ComplianceAlert, NextStep, SuggestionMessage, TurnResult, UtteranceIn

logger = logging.getLogger(__name__)


# --- client to server --------------------------------------------------------------------------
class UtteranceMessage(UtteranceIn):
    """A turn: what the customer or the agent said. Interim ASR text has `final: false`."""

    type: Literal["utterance"] = "utterance"


class PingMessage(BaseModel):
    """A liveness check; the server answers `pong` to the sender only."""

    type: Literal["ping"] = "ping"


ClientMessage = Annotated[UtteranceMessage | PingMessage, Field(discriminator="type")]


# --- server to client --------------------------------------------------------------------------
class ChecklistMessage(BaseModel):
    """The checklist after a turn that changed it but brought no suggestion (a suggestion carries it)."""

    type: Literal["checklist"] = "checklist"
    call_id: str
    turn: int
    next_steps: list[NextStep]


class AckMessage(BaseModel):
    """A final turn that produced nothing to show, so the sender can tell a quiet turn from a lost one."""

    type: Literal["ack"] = "ack"
    call_id: str
    turn: int


class ResumedMessage(BaseModel):
    """Sent once to a socket opened with `?after=N`, after the stored alerts and suggestions of the turns
    after N (and the current checklist): the replay is complete up to `through`; live turns follow."""

    type: Literal["resumed"] = "resumed"
    call_id: str
    after: int
    through: int


class PongMessage(BaseModel):
    """The answer to `ping`."""

    type: Literal["pong"] = "pong"


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent on the wire, not null


class ErrorMessage(BaseModel):
    """A message the server could not handle; the socket stays open. Only the sender gets it.

    `status` and `retry_after` (seconds) are present only when a rate limit dropped the message (429).
    """

    type: Literal["error"] = "error"
    detail: str
    # absent, never null, on the wire: the schema shows them as a number when present
    status: int | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    retry_after: float | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # on the wire since before these models: {"type", "detail"}, plus status/retry_after when set
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k not in ("status", "retry_after")}


ServerMessage = Annotated[
    SuggestionMessage | ComplianceAlert | ChecklistMessage | AckMessage | PongMessage | ErrorMessage | ResumedMessage,
    Field(discriminator="type"),
]

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def message_types(union: Any) -> list[str]:
    """The `type` tags of a message union, in declaration order (e.g. ["utterance", "ping"])."""
    members = get_args(get_args(union)[0])
    return [get_args(m.model_fields["type"].annotation)[0] for m in members]


CLIENT_TYPES = message_types(ClientMessage)
SERVER_TYPES = message_types(ServerMessage)


def _expected(types: list[str]) -> str:
    return " or ".join(repr(t) for t in types)


def validation_detail(exc: ValidationError, *, tag: str | None = None) -> str:
    """A ValidationError as one line, `field: problem; ...` (the union's tag left out of the path)."""
    parts = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        if tag is not None and loc[:1] == [tag]:
            loc = loc[1:]
        parts.append(f"{'.'.join(loc) or 'message'}: {e.get('msg')}")
    return "; ".join(parts)


def _decode(raw: str | bytes, types: list[str]) -> tuple[dict[str, Any], str]:
    """The JSON object of a message and its tag; InvalidMessageError says what is wrong with it."""
    if isinstance(raw, bytes):  # a binary frame
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidMessageError("binary messages must be UTF-8 JSON") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidMessageError(f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise InvalidMessageError("a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind is None:
        raise InvalidMessageError(f"a message needs a 'type': {_expected(types)}")
    if not isinstance(kind, str) or kind not in types:
        raise InvalidMessageError(f"unknown message type {kind!r}: expected {_expected(types)}")
    return data, kind


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """A client's message, validated.

    Raises:
        InvalidMessageError: not JSON, not an object, an unknown `type`, or fields that do not validate
            (then `message_type` is the message's type). The detail is what the `error` message says.
    """
    data, kind = _decode(raw, CLIENT_TYPES)
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        raise InvalidMessageError(validation_detail(exc, tag=kind), message_type=kind) from exc


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """A server's message, validated (for clients: assist.client).

    Raises:
        InvalidMessageError: as parse_client_message, with the server's message types.
    """
    data, kind = _decode(raw, SERVER_TYPES)
    try:
        return _server_adapter.validate_python(data)
    except ValidationError as exc:
        raise InvalidMessageError(validation_detail(exc, tag=kind), message_type=kind) from exc


def encode(message: BaseModel) -> str:
    """A message as the JSON text sent on the socket."""
    return message.model_dump_json()


def turn_messages(result: TurnResult) -> list[ServerMessage]:
    """What every socket watching the call is sent for a turn: alerts first, then the suggestion or,
    when only the checklist changed, a `checklist` message. Empty for an interim or quiet turn."""
    out: list[ServerMessage] = list(result.alerts)
    if result.suggestion is not None:
        out.append(result.suggestion)
    elif result.turn is not None and result.checklist_changed:
        out.append(ChecklistMessage(call_id=result.call_id, turn=result.turn, next_steps=result.next_steps))
    return out


def _require_type(schema: dict[str, Any]) -> None:
    # Every message carries its `type` on the wire; the models default it only for convenience in Python.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


def message_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of every message, as written to docs/schemas/ws-messages.json.

    `$defs` holds one schema per message (referenced from docs/asyncapi.yaml) and the two unions,
    `ClientMessage` and `ServerMessage`.
    """
    defs: dict[str, Any] = {}
    unions: dict[str, Any] = {}
    for name, adapter in (("ClientMessage", _client_adapter), ("ServerMessage", _server_adapter)):
        schema = adapter.json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        unions[name] = {"description": f"Any message the {name[:6].lower()} sends.", **schema}
    for name, union in unions.items():
        for ref in union["discriminator"]["mapping"].values():
            _require_type(defs[ref.rsplit("/", 1)[-1]])
        defs[name] = union
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Agent-assist call WebSocket messages",
        "description": "Messages of WS /v1/calls/{call_id}/stream; see docs/asyncapi.yaml.",
        "$defs": dict(sorted(defs.items())),
    }


def message_schema_text() -> str:
    """message_schema() as the committed file's text (stable: sorted keys, two-space indent, final newline)."""
    return json.dumps(message_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


SCHEMA_PATH = "docs/schemas/ws-messages.json"


def main(argv: list[str] | None = None) -> int:
    """`python -m assist.calls.messages [PATH]` (`make schemas`): write the messages' JSON Schema.

    PATH defaults to docs/schemas/ws-messages.json (run from the project's root); a test checks that the
    committed file equals what this writes.
    """
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else SCHEMA_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message_schema_text(), encoding="utf-8")
    logger.info("wrote the WebSocket message schema", extra={"path": str(path)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
