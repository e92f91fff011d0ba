"""Live calls: start, turns over HTTP or a WebSocket, end with a summary, read back."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from anyio import CancelScope
from fastapi import APIRouter, Depends, Header, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from assist.calls.hub import Hub, Subscriber
from assist.calls.messages import (
    AckMessage,
    ErrorMessage,
    PingMessage,
    PongMessage,
    ResumedMessage,
    ServerMessage,
    encode,
    parse_client_message,
    turn_messages,
)
from assist.calls.replay import stored_turn_result
from assist.deps import (
    AgentKey,
    CallActor,
    CallEngineDep,
    CallReader,
    IdempotencyDep,
    SecurityDep,
    SessionDep,
    SettingsDep,
    get_call_hub,
    key_from_socket,
)
from assist.errors import AssistError, AuthError, InvalidMessageError, NotFoundError, RateLimitedError
from assist.idempotency import HEADER, StoredTurn, fingerprint
from assist.models.calls import CallCreated, CallPublic, CallStart, CallSummary, TurnResult, UtteranceIn
from assist.models.keys import ApiKey, CallAccess, Role
from assist.security.gate import Security, TokenBucket
from assist.security.keys import hash_key

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/calls", tags=["calls"])

CLOSE_BAD_KEY = 4401  # missing, unknown or revoked key (also when revoked while the socket is open)
CLOSE_FORBIDDEN = 4403  # a role that may not stream, or access to the call withdrawn while open
CLOSE_UNKNOWN_CALL = 4404  # no such call, or one this key may not know of
CLOSE_RATE_LIMITED = 4429  # too many failed authentications from this address, or requests with this key
CLOSE_INTERNAL = 1011  # the key could not be re-checked: fail closed
CLOSE_NOT_READY = 1013  # the app is still starting (no engine or security yet)
CLOSE_BAD_REQUEST = 4400  # a query parameter the stream cannot take (`after` that is not a whole number >= 0)

CallHubDep = Annotated[Hub, Depends(get_call_hub)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Makes a retry safe: the same key and body get the first answer (header Idempotent-Replayed) "
        "instead of running again; the same key with another body gets 409. Kept ASSIST_IDEMPOTENCY_TTL_HOURS.",
        max_length=255,
    ),
]
_IDEMPOTENCY_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "the Idempotency-Key was used with another request, or is still running"}
}


@router.post("", response_model=CallCreated, status_code=201, responses=_IDEMPOTENCY_409)
def start_call(
    request: Request,
    engine: CallEngineDep,
    key: AgentKey,
    security: SecurityDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
    body: CallStart | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Open a call; stream its turns to /v1/calls/{call_id}/stream or post them to /utterances.
    An optional `customer_ref` is stored only as a keyed hash, to link repeat contacts."""
    from assist.aftercall.fcr import hash_customer_ref, record_customer

    security.count_call_start(key)  # 429 past ASSIST_CALLS_PER_MINUTE
    customer = hash_customer_ref(body.customer_ref, settings) if body and body.customer_ref is not None else None

    def start() -> CallCreated:
        call_id = engine.start_call(agent=key)
        if customer is not None:
            record_customer(session, call_id=call_id, customer_hash=customer, agent_key_id=key.id)
        return CallCreated(call_id=call_id)

    return idempotency.run(
        owner=key.id,
        key=idempotency_key,
        fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json") if body else {}),
        status_code=201,
        call=start,
    )


@router.post("/{call_id}/utterances", response_model=TurnResult, responses=_IDEMPOTENCY_409)
def post_utterance(
    request: Request,
    call_id: str,
    body: UtteranceIn,
    engine: CallEngineDep,
    hub: CallHubDep,
    key: CallActor,
    idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """One turn without a socket (e.g. from the ASR connector): returns that turn's suggestion, alerts and
    checklist, and pushes them to every panel streaming the call. With an `Idempotency-Key`, a retry returns the
    first answer and never adds a second turn."""
    result = idempotency.run(
        owner=key.id,
        key=idempotency_key,
        fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        status_code=200,
        call=lambda: engine.handle_turn(call_id, speaker=body.speaker, text=body.text, final=body.final),
    )
    if isinstance(result, StoredTurn):  # its first run stored the turn, and its server died before answering
        result = stored_turn_result(engine.db_engine, result.call_id, result.turn)
        hub.publish(call_id, turn_messages(result), turn=result.turn)  # the hubs drop a turn handed on already
        return JSONResponse(jsonable_encoder(result), headers={"Idempotent-Replayed": "true"})
    if isinstance(result, TurnResult):
        hub.publish(call_id, turn_messages(result), turn=result.turn)
    elif isinstance(result, JSONResponse) and result.status_code == 200:
        # a replay: published again, in case the replica that ran the turn died before it published; the
        # hubs drop a turn they handed on already, so no socket sees it twice
        replayed = TurnResult.model_validate_json(bytes(result.body))
        hub.publish(call_id, turn_messages(replayed), turn=replayed.turn)
    return result


@router.post("/{call_id}/end", response_model=CallSummary)
def end_call(call_id: str, engine: CallEngineDep, _key: CallActor) -> CallSummary:
    """Close the call and return the after-call summary."""
    return engine.end_call(call_id)


@router.get("/{call_id}", response_model=CallPublic)
def get_call(call_id: str, engine: CallEngineDep, _key: CallReader) -> CallPublic:
    """The redacted transcript, suggestions, checklist and alerts of a call."""
    return engine.store.get_call(call_id)


class _Socket:
    """A watched socket: one send at a time, from the turn handler, the hub's forwarder and the key watch."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self.closed = False

    async def send(self, message: ServerMessage) -> None:
        async with self._lock:
            if self.closed:
                return
            await self.ws.send_text(encode(message))

    async def error(self, detail: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        await self.send(ErrorMessage(detail=detail, status=status, retry_after=retry_after))

    async def close(self, code: int, reason: str) -> None:
        """Close once, with a code and reason (later sends are dropped)."""
        async with self._lock:
            if self.closed:
                return
            self.closed = True
            if self.ws.application_state == WebSocketState.CONNECTED:
                try:
                    await self.ws.close(code=code, reason=reason[:120])
                except RuntimeError:  # the client went first
                    pass


class KeyWatch:
    """An open socket's key and its access to the call, re-checked at most every `security.recheck_s`.

    `check()` runs before each client message (cheap: the key store caches for the same interval) and from
    a background task while the socket is idle, so a revoked key or a removed grant closes the socket
    within a second, whether or not the client is sending.
    """

    def __init__(
        self,
        *,
        security: Security,
        engine: Any,
        key: ApiKey,
        key_hash: str,
        call_id: str,
        access: CallAccess,
        from_grant: bool,
    ) -> None:
        self.security, self.engine, self.key, self.key_hash = security, engine, key, key_hash
        self.call_id, self.access = call_id, access
        # the owner's and admin's access never changes (a call's owner and a key's role are fixed); a grant's
        # can be removed, so only then is the access itself re-checked, not just the key
        self.from_grant = from_grant
        self.next_at = security.now() + security.recheck_s

    def due_in(self) -> float:
        """Seconds until the next check is due."""
        return max(0.0, self.next_at - self.security.now())

    async def check(self) -> tuple[int, str] | None:
        """(close code, reason) when the socket must close; None when it may go on (or no check was due).

        Fails closed: when the key cannot be re-checked (the database is down), the socket closes (1011).
        """
        now = self.security.now()
        if now < self.next_at:
            return None
        self.next_at = now + self.security.recheck_s
        try:
            return await self._verdict()
        except Exception:
            logger.exception("could not re-check a stream's key; closing it", extra={"call_id": self.call_id})
            return CLOSE_INTERNAL, "could not re-check the API key"

    async def _verdict(self) -> tuple[int, str] | None:
        if not await self.security.still_active(self.key_hash):
            logger.info("closing a stream: key revoked", extra={"call_id": self.call_id, "key_id": self.key.id})
            return CLOSE_BAD_KEY, "API key revoked"
        if self.from_grant:
            try:
                self.access = await run_in_threadpool(self.engine.store.access, self.call_id, self.key)
            except NotFoundError:
                self.access = CallAccess.none
            if self.access < CallAccess.listen:
                logger.info("closing a stream: access withdrawn", extra={"call_id": self.call_id})
                return CLOSE_FORBIDDEN, "access to this call was withdrawn"
        return None


async def watch_key(
    sock: _Socket, watch: KeyWatch, scope: CancelScope, sleep: Callable[[float], Awaitable[None]] = anyio.sleep
) -> None:
    """Background check of an idle socket: close it (and stop its other tasks) once its key or access goes."""
    while not sock.closed:
        await sleep(max(watch.due_in(), 0.01))
        verdict = await watch.check()
        if verdict is not None:
            await sock.close(*verdict)
            scope.cancel()
            return


async def _turn(
    sock: _Socket, engine: Any, hub: Hub, sub: Subscriber, call_id: str, raw: str | bytes, *, can_act: bool = True
) -> None:
    """Handle one client message; every problem becomes an `error` message, the socket stays open."""
    try:
        msg = parse_client_message(raw)
    except InvalidMessageError as exc:
        if exc.message_type == "utterance" and not can_act:  # who may not add turns is told so first
            await sock.error(f"this key may listen to call {call_id!r} but not add turns to it")
        else:
            await sock.error(str(exc))
        return
    if isinstance(msg, PingMessage):
        await sock.send(PongMessage())
        return
    if not can_act:
        await sock.error(f"this key may listen to call {call_id!r} but not add turns to it")
        return
    try:
        result: TurnResult = await run_in_threadpool(
            engine.handle_turn, call_id, speaker=msg.speaker, text=msg.text, final=msg.final
        )
    except AssistError as exc:
        await sock.error(str(exc))
        return
    except Exception:
        logger.exception("turn failed", extra={"call_id": call_id})
        await sock.error("internal error while handling this turn; the call continues")
        return
    messages = turn_messages(result)
    hub.publish(call_id, messages, turn=result.turn, exclude=sub)  # the other panels, here and on other replicas
    for m in messages:  # alerts first: the agent must see them at once
        await sock.send(m)
    if result.turn is not None and not messages:
        # every final turn gets an answer, so a client can tell a quiet turn from a lost one
        await sock.send(AckMessage(call_id=call_id, turn=result.turn))


def resume_point(raw: str | None) -> int | None:
    """The stream's `?after=N` (the last turn the panel has), or None for a socket that starts live.

    Raises:
        ValueError: with the reason, when it is not a whole number >= 0.
    """
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(f"after must be the last turn number the panel has (a whole number >= 0), got {raw!r}")
    return int(raw)


async def _resume(sock: _Socket, engine: Any, sub: Subscriber, call_id: str, after: int) -> None:
    """Send what the turns after `after` produced (stored, whichever replica handled them), then `resumed`.

    The socket is subscribed before the database is read, so a turn stored meanwhile arrives live; the live
    copies of turns the replay covered are skipped (`Subscriber.through`).
    """
    replay = await run_in_threadpool(engine.store.stored_since, call_id, after=after)
    sub.through = replay.last_turn
    for m in replay.messages:
        await sock.send(m)
    await sock.send(ResumedMessage(call_id=call_id, after=after, through=replay.last_turn))
    logger.info("stream resumed", extra={"call_id": call_id, "after": after, "through": replay.last_turn})


async def _forward(sock: _Socket, sub: Subscriber) -> None:
    """Send this socket what turns from elsewhere (HTTP, another socket) produced for its call."""
    try:
        while True:
            message = await sub.queue.get()
            if sub.wants(message):  # not a turn the resume's replay sent already
                await sock.send(message)
    except (WebSocketDisconnect, RuntimeError, OSError):  # the socket is going away; the reader ends it
        return


async def _read(
    websocket: WebSocket,
    sock: _Socket,
    *,
    engine: Any,
    hub: Hub,
    sub: Subscriber,
    call_id: str,
    watch: KeyWatch,
    bucket: TokenBucket | None,
) -> None:
    """Client messages, until the client leaves or the key (or access) goes."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        verdict = await watch.check()  # before the message is handled: a revoked key gets no answer
        if verdict is not None:
            await sock.close(*verdict)
            return
        if bucket is not None:
            wait = bucket.take(watch.security.now())
            if wait:
                await sock.error(
                    f"too many messages on this socket: the limit is {int(bucket.capacity)} a second; message "
                    f"dropped, retry in {wait:.2f} s",
                    status=429,
                    retry_after=math.ceil(wait * 1000) / 1000,
                )
                continue
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes")  # a binary frame: UTF-8 JSON too
        await _turn(sock, engine, hub, sub, call_id, raw or "", can_act=watch.access >= CallAccess.act)


# long function: the socket's life in order (accept, authenticate, check access, subscribe, read, close)
@router.websocket("/{call_id}/stream")
async def stream(websocket: WebSocket, call_id: str) -> None:
    """Live turns in; suggestions, compliance alerts, checklist updates, acks and errors out.

    Every final turn gets, after any `compliance_alert`s, exactly one of: a `suggestion`, a `checklist`
    (when the turn changed it) or an `ack` (when it did not, and nothing else was sent). Alerts,
    suggestions and checklist updates of turns sent by anyone else on the call (the ASR connector over
    HTTP, another socket, on this replica or any other) arrive as well, in turn order; acks, pongs and
    errors go only to the sender. `?after=N` resumes: first the stored results of the turns after N, then a
    `resumed` message, then live turns (a panel whose replica went away reconnects anywhere without a gap).
    """
    await websocket.accept()
    state = websocket.app.state
    engine = getattr(state, "call_engine", None)
    security: Security | None = getattr(state, "security", None)
    if engine is None or security is None:
        await websocket.close(code=CLOSE_NOT_READY, reason="service not ready")
        return
    credential = key_from_socket(websocket)
    try:
        key = await security.authenticate(credential, client=security.client_address(websocket.scope))
    except AuthError as exc:
        await websocket.close(code=CLOSE_BAD_KEY, reason=str(exc)[:120])
        return
    except RateLimitedError as exc:
        await websocket.close(code=CLOSE_RATE_LIMITED, reason=str(exc)[:120])
        return
    if Role(key.role) not in (Role.agent, Role.admin):
        await websocket.close(code=CLOSE_FORBIDDEN, reason=f"role {key.role!r} may not stream calls")
        return
    try:
        access = await run_in_threadpool(engine.store.access, call_id, key)
    except NotFoundError:
        access = CallAccess.none
    if access < CallAccess.listen:  # unknown, or not this key's to know of: the same answer
        await websocket.close(code=CLOSE_UNKNOWN_CALL, reason=f"call {call_id!r} not found"[:120])
        return
    try:
        after = resume_point(websocket.query_params.get("after"))
    except ValueError as exc:
        await websocket.close(code=CLOSE_BAD_REQUEST, reason=str(exc)[:120])
        return
    owner = await run_in_threadpool(engine.store.owner_of, call_id)
    watch = KeyWatch(
        security=security,
        engine=engine,
        key=key,
        key_hash=hash_key(credential or ""),
        call_id=call_id,
        access=access,
        from_grant=not (Role(key.role) == Role.admin or owner == key.id),
    )
    logger.info("stream opened", extra={"call_id": call_id, "key_id": key.id, "access": access.name})
    hub: Hub = state.call_hub
    sock = _Socket(websocket)
    sub = hub.subscribe(call_id)
    try:
        if after is not None:
            await _resume(sock, engine, sub, call_id, after)
        hub.sequence_from(call_id, sub.through or await run_in_threadpool(engine.store.last_turn, call_id))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_forward, sock, sub)
            tg.start_soon(watch_key, sock, watch, tg.cancel_scope)
            try:
                await _read(
                    websocket,
                    sock,
                    engine=engine,
                    hub=hub,
                    sub=sub,
                    call_id=call_id,
                    watch=watch,
                    bucket=security.socket_bucket(),
                )
            except WebSocketDisconnect:
                pass
            finally:
                tg.cancel_scope.cancel()
    finally:
        hub.unsubscribe(call_id, sub)
        if websocket.application_state == WebSocketState.CONNECTED:
            try:
                await websocket.close()
            except (RuntimeError, WebSocketDisconnect):  # the client went first: nothing left to close
                pass
        logger.info("stream closed", extra={"call_id": call_id})
