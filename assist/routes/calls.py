"""Live calls: start, turns over HTTP or a WebSocket, end with a summary, read back."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from assist.calls.hub import CallHub, Subscriber
from assist.deps import AgentKey, AgentOrComplianceKey, CallEngineDep, authenticate, get_call_hub
from assist.errors import AssistError, AuthError
from assist.models.calls import CallCreated, CallPublic, CallSummary, TurnResult, UtteranceIn
from assist.models.keys import Role

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/calls", tags=["calls"])

CLOSE_BAD_KEY = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_CALL = 4404

CallHubDep = Annotated[CallHub, Depends(get_call_hub)]


def turn_messages(call_id: str, result: TurnResult) -> list[dict[str, Any]]:
    """What every socket watching the call is sent for a turn: alerts first, then the suggestion or,
    when only the checklist changed, a `checklist` message. Empty for an interim or quiet turn."""
    out: list[dict[str, Any]] = [a.model_dump(mode="json") for a in result.alerts]
    if result.suggestion is not None:
        out.append(result.suggestion.model_dump(mode="json"))
    elif result.turn is not None and result.checklist_changed:
        out.append(
            {
                "type": "checklist",
                "call_id": call_id,
                "turn": result.turn,
                "next_steps": [s.model_dump() for s in result.next_steps],
            }
        )
    return out


@router.post("", response_model=CallCreated, status_code=201)
def start_call(engine: CallEngineDep, key: AgentKey) -> CallCreated:
    """Open a call; stream its turns to /v1/calls/{call_id}/stream or post them to /utterances."""
    return CallCreated(call_id=engine.start_call(agent=key))


@router.post("/{call_id}/utterances", response_model=TurnResult)
def post_utterance(
    call_id: str, body: UtteranceIn, engine: CallEngineDep, hub: CallHubDep, _key: AgentKey
) -> TurnResult:
    """One turn without a socket (e.g. from the ASR connector): returns that turn's suggestion, alerts and
    checklist, and pushes them to every panel streaming the call."""
    result = engine.handle_turn(call_id, speaker=body.speaker, text=body.text, final=body.final)
    hub.publish(call_id, turn_messages(call_id, result))
    return result


@router.post("/{call_id}/end", response_model=CallSummary)
def end_call(call_id: str, engine: CallEngineDep, _key: AgentKey) -> CallSummary:
    """Close the call and return the after-call summary."""
    return engine.end_call(call_id)


@router.get("/{call_id}", response_model=CallPublic)
def get_call(call_id: str, engine: CallEngineDep, _key: AgentOrComplianceKey) -> CallPublic:
    """The redacted transcript, suggestions, checklist and alerts of a call."""
    return engine.get_call(call_id)


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or 'message'}: {e.get('msg')}" for e in exc.errors())


class _Socket:
    """A watched socket: one send at a time, from the turn handler and from the hub's forwarder."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._lock:
            await self.ws.send_text(json.dumps(payload, ensure_ascii=False, default=str))

    async def error(self, detail: str) -> None:
        await self.send({"type": "error", "detail": detail})


async def _turn(sock: _Socket, engine: Any, hub: CallHub, sub: Subscriber, call_id: str, raw: str) -> None:
    """Handle one client message; every problem becomes an `error` message, the socket stays open."""
    try:
        msg = json.loads(raw)
    except json.JSONDecodeError as exc:
        await sock.error(f"malformed JSON: {exc.msg} at position {exc.pos}")
        return
    if not isinstance(msg, dict):
        await sock.error("a message must be a JSON object with a 'type'")
        return
    kind = msg.get("type")
    if kind == "ping":
        await sock.send({"type": "pong"})
        return
    if kind != "utterance":
        await sock.error(f"unknown message type {kind!r}: expected 'utterance'")
        return
    try:
        u = UtteranceIn.model_validate({k: v for k, v in msg.items() if k != "type"})
    except ValidationError as exc:
        await sock.error(_validation_detail(exc))
        return
    try:
        result: TurnResult = await run_in_threadpool(
            engine.handle_turn, call_id, speaker=u.speaker, text=u.text, final=u.final
        )
    except AssistError as exc:
        await sock.error(str(exc))
        return
    except Exception:
        logger.exception("turn failed", extra={"call_id": call_id})
        await sock.error("internal error while handling this turn; the call continues")
        return
    messages = turn_messages(call_id, result)
    hub.publish(call_id, messages, exclude=sub)  # the other panels watching this call
    for m in messages:  # alerts first: the agent must see them at once
        await sock.send(m)
    if result.turn is not None and not messages:
        # every final turn gets an answer, so a client can tell a quiet turn from a lost one
        await sock.send({"type": "ack", "call_id": call_id, "turn": result.turn})


async def _forward(sock: _Socket, sub: Subscriber) -> None:
    """Send this socket what turns from elsewhere (HTTP, another socket) produced for its call."""
    while True:
        await sock.send(await sub.queue.get())


@router.websocket("/{call_id}/stream")
async def stream(websocket: WebSocket, call_id: str) -> None:
    """Live turns in; suggestions, compliance alerts, checklist updates, acks and errors out.

    Every final turn gets, after any `compliance_alert`s, exactly one of: a `suggestion`, a `checklist`
    (when the turn changed it) or an `ack` (when it did not, and nothing else was sent). Alerts,
    suggestions and checklist updates of turns sent by anyone else on the call (the ASR connector over
    HTTP, another socket) arrive as well; acks, pongs and errors go only to the sender.
    """
    await websocket.accept()
    state = websocket.app.state
    engine = getattr(state, "call_engine", None)
    if engine is None:
        await websocket.close(code=1013, reason="service not ready")
        return
    try:
        with Session(state.db_engine) as session:
            key = authenticate(websocket, session)
    except AuthError as exc:
        await websocket.close(code=CLOSE_BAD_KEY, reason=str(exc)[:120])
        return
    if Role(key.role) not in (Role.agent, Role.admin):
        await websocket.close(code=CLOSE_FORBIDDEN, reason=f"role {key.role!r} may not stream calls")
        return
    if not await run_in_threadpool(engine.exists, call_id):
        await websocket.close(code=CLOSE_UNKNOWN_CALL, reason=f"call {call_id!r} not found")
        return
    logger.info("stream opened", extra={"call_id": call_id, "key_id": key.id})
    hub: CallHub = state.call_hub
    sock = _Socket(websocket)
    sub = hub.subscribe(call_id)
    forwarder = asyncio.create_task(_forward(sock, sub))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None and message.get("bytes") is not None:
                try:
                    raw = message["bytes"].decode("utf-8")
                except UnicodeDecodeError:
                    await sock.error("binary messages must be UTF-8 JSON")
                    continue
            await _turn(sock, engine, hub, sub, call_id, raw or "")
    except WebSocketDisconnect:
        pass
    finally:
        forwarder.cancel()
        hub.unsubscribe(call_id, sub)
        if websocket.application_state == WebSocketState.CONNECTED:
            try:
                await websocket.close()
            except RuntimeError:
                pass
        logger.info("stream closed", extra={"call_id": call_id})
