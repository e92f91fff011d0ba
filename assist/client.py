"""A small client of the agent-assist HTTP API and of a call's WebSocket, sync and async.

    with AssistClient("http://127.0.0.1:8000", key) as api:
        call_id = api.create_call()
        with api.stream(call_id) as stream:
            for message in stream.say("customer", "我的信用卡丢了怎么办"):
                print(message.type)  # compliance_alert..., then suggestion, checklist or ack
        summary = api.end_call(call_id)

`AsyncAssistClient` has the same methods, to be awaited (`async with api.stream(call_id) as stream`).
HTTP requests carry `Authorization: Bearer <key>`, the socket `?token=<key>`. Replies are the server's own
models (assist.models, assist.calls.messages). Failures raise `ApiError` (the HTTP status and the
server's `detail`; also a socket the server refused or closed with a 44xx code, as 4xx), `StreamClosed`
(the socket ended otherwise) or their base `ClientError` (the server could not be reached, or answered
with something that is not the API's).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pydantic
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect
from websockets.typing import Origin

from assist.calls.messages import (
    AckMessage,
    ChecklistMessage,
    ClientMessage,
    ErrorMessage,
    PingMessage,
    PongMessage,
    ServerMessage,
    UtteranceMessage,
    encode,
    parse_server_message,
)
from assist.errors import InvalidMessageError
from assist.models.calls import CallCreated, CallPublic, CallSummary, SuggestionMessage, TurnResult
from assist.models.guard import VerdictPublic

logger = logging.getLogger(__name__)

Model = TypeVar("Model", bound=pydantic.BaseModel)
JsonBody = dict[str, str | bool] | None
Headers = dict[str, str] | None
Speaker = Literal["customer", "agent"]  # who said a turn
GuardSpeaker = Literal["agent", "customer", "suggestion"]  # whose text the guard checks

# the message that answers a final turn (after any compliance_alert): exactly one of these
TURN_ANSWERS = (SuggestionMessage, ChecklistMessage, AckMessage, ErrorMessage)


# --- errors ------------------------------------------------------------------------------------
class ClientError(Exception):
    """The server could not be reached, or answered with something that is not the API's."""


class ApiError(ClientError):
    """The server refused a request: `status_code` (HTTP) and its `detail`.

    A socket the server refused at the handshake, or closed with a 44xx code (4401 bad key, 4403 role
    or access, 4404 unknown call, 4429 rate limit), is reported the same way, with the HTTP status
    (401, 403, 404, 429) and the close reason as `detail`; `close_code` is then the socket's code.
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        request: str,
        retry_after: float | None = None,
        close_code: int | None = None,
    ) -> None:
        super().__init__(f"{request}: HTTP {status_code}: {detail}")
        self.status_code, self.detail, self.request = status_code, detail, request
        self.retry_after, self.close_code = retry_after, close_code


class StreamClosed(ClientError):
    """The call's socket closed (not as a refusal): `code` and `reason` of its close frame, if any."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"the call's socket closed ({code}): {reason or 'no reason given'}")
        self.code, self.reason = code, reason


# --- shared helpers ----------------------------------------------------------------------------
def stream_url(base_url: str, call_id: str, key: str, *, after: int | None = None) -> str:
    """The WebSocket URL of a call: ws(s)://host/v1/calls/{call_id}/stream?token=<key>[&after=<turn>]."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = f"{parts.path.rstrip('/')}/v1/calls/{quote(call_id, safe='')}/stream"
    query = f"token={quote(key, safe='')}" + (f"&after={int(after)}" if after is not None else "")
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def _last_turn(last: int, message: ServerMessage) -> int:
    """The last turn a socket has seen, after `message` (a resume's `through` counts too)."""
    turn = getattr(message, "through" if message.type == "resumed" else "turn", None)
    return max(last, turn) if isinstance(turn, int) else last


def _origin(origin: str | None) -> Origin | None:
    return Origin(origin) if origin is not None else None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _reply(response: httpx.Response, model: type[Model]) -> Model:
    """The reply as `model`; ApiError for a status the API refuses with, ClientError for a stranger's."""
    request = f"{response.request.method} {response.request.url.path}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        try:
            return model.model_validate(body)
        except pydantic.ValidationError as exc:
            raise ClientError(f"{request}: not the API's reply: {exc.error_count()} problem(s): {exc}") from exc
    detail = body.get("detail") if isinstance(body, dict) else None
    if detail is None:
        detail = response.text[:500] or response.reason_phrase
    raise ApiError(response.status_code, str(detail), request=request, retry_after=_retry_after(response))


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _utterance_body(speaker: Speaker, text: str, final: bool) -> dict[str, str | bool]:
    return {"speaker": speaker, "text": text, "final": final}


def _headers(idempotency_key: str | None) -> dict[str, str]:
    # DESIGN.md: with an Idempotency-Key, a retry returns the first answer instead of adding a turn
    return {"Idempotency-Key": idempotency_key} if idempotency_key else {}


def _closed(exc: ConnectionClosed, call_id: str) -> ClientError:
    """The exception for a socket that closed: ApiError for a 44xx refusal, else StreamClosed."""
    frame = exc.rcvd
    code, reason = (frame.code, frame.reason) if frame is not None else (None, "")
    if code is not None and 4400 <= code < 4500:
        request = f"WS /v1/calls/{call_id}/stream"
        return ApiError(code - 4000, reason or "refused", request=request, close_code=code)
    return StreamClosed(code, reason)


def _refused(exc: Exception, call_id: str) -> ClientError:
    """The exception for a handshake that failed."""
    request = f"WS /v1/calls/{call_id}/stream"
    if isinstance(exc, InvalidStatus):
        body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        return ApiError(exc.response.status_code, body[:500] or exc.response.reason_phrase, request=request)
    return ClientError(f"{request}: cannot connect: {type(exc).__name__}: {exc}")


def _parse(raw: str | bytes) -> ServerMessage:
    try:
        return parse_server_message(raw)
    except InvalidMessageError as exc:
        raise ClientError(f"not a message of the call's socket: {exc}") from exc


# --- sync --------------------------------------------------------------------------------------
class CallStream:
    """A call's WebSocket: send turns, receive typed messages. Iterating yields messages until it closes."""

    def __init__(self, ws: SyncConnection, call_id: str, *, after: int = 0) -> None:
        self.ws, self.call_id = ws, call_id
        self._pending: deque[ServerMessage] = deque()  # received while waiting for a pong
        self.last_turn = after  # the last turn seen: where `AssistClient.resume` picks up

    def send(self, message: ClientMessage) -> None:
        """Send one message (an UtteranceMessage or a PingMessage)."""
        try:
            self.ws.send(encode(message))
        except ConnectionClosed as exc:
            raise _closed(exc, self.call_id) from exc

    def send_utterance(self, speaker: Speaker, text: str, *, final: bool = True) -> None:
        """Send a turn; interim ASR text has final=False (the server answers only final turns)."""
        self.send(UtteranceMessage.model_validate(_utterance_body(speaker, text, final)))

    def receive(self, timeout: float | None = None) -> ServerMessage:
        """The next message; TimeoutError after `timeout` seconds, StreamClosed/ApiError when it closed."""
        if self._pending:
            return self._pending.popleft()
        try:
            raw = self.ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            raise _closed(exc, self.call_id) from exc
        message = _parse(raw)
        self.last_turn = _last_turn(self.last_turn, message)
        return message

    def say(self, speaker: Speaker, text: str, *, timeout: float | None = 30.0) -> list[ServerMessage]:
        """Send a final turn and return what answered it: any alerts, then a suggestion, checklist, ack or error.

        With other senders on the call, their turns' messages may arrive in between and are returned too.
        """
        self.send_utterance(speaker, text)
        out = [self.receive(timeout)]
        while not isinstance(out[-1], TURN_ANSWERS):
            out.append(self.receive(timeout))
        return out

    def ping(self, timeout: float | None = 10.0) -> PongMessage:
        """Round trip a ping; messages that arrive before the pong are kept for receive()."""
        self.send(PingMessage())
        early: list[ServerMessage] = []
        while not isinstance(msg := self.receive(timeout), PongMessage):
            early.append(msg)
        self._pending.extend(early)
        return msg

    def __iter__(self) -> Iterator[ServerMessage]:
        while True:
            try:
                yield self.receive()
            except StreamClosed:
                return

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()

    def __enter__(self) -> CallStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AssistClient:
    """The HTTP API and the call WebSocket, blocking. Use as a context manager, or close() it."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 30.0) -> None:
        """Args:
        base_url: the server, e.g. "http://127.0.0.1:8000".
        key: an API key (agent for calls; any role for the guard check).
        timeout: seconds for each HTTP request, and to open a socket.
        """
        self.base_url, self.key, self.timeout = base_url.rstrip("/"), key, timeout
        self.http = httpx.Client(base_url=self.base_url, headers=_auth(key), timeout=timeout)

    def _request(
        self, method: str, path: str, model: type[Model], *, json: JsonBody = None, headers: Headers = None
    ) -> Model:
        try:
            response = self.http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        return _reply(response, model)

    def create_call(self) -> str:
        """Open a call; returns its id."""
        return self._request("POST", "/v1/calls", CallCreated).call_id

    def post_utterance(
        self, call_id: str, speaker: Speaker, text: str, *, final: bool = True, idempotency_key: str | None = None
    ) -> TurnResult:
        """One turn over HTTP: its suggestion, alerts and checklist (also pushed to the call's sockets)."""
        path = f"/v1/calls/{quote(call_id, safe='')}/utterances"
        body = _utterance_body(speaker, text, final)
        return self._request("POST", path, TurnResult, json=body, headers=_headers(idempotency_key))

    def end_call(self, call_id: str) -> CallSummary:
        """Close the call; returns the after-call summary."""
        return self._request("POST", f"/v1/calls/{quote(call_id, safe='')}/end", CallSummary)

    def get_call(self, call_id: str) -> CallPublic:
        """The call's redacted transcript, suggestions, checklist and alerts."""
        return self._request("GET", f"/v1/calls/{quote(call_id, safe='')}", CallPublic)

    def guard_check(self, text: str, speaker: GuardSpeaker = "agent") -> VerdictPublic:
        """The guard's verdict on one text."""
        return self._request("POST", "/v1/guard/check", VerdictPublic, json={"text": text, "speaker": speaker})

    def connect(
        self, call_id: str, *, max_size: int | None = 2**20, origin: str | None = None, after: int | None = None
    ) -> CallStream:
        """Open the call's socket (close it when done); ApiError at once for a bad key or an unknown call.

        `origin` sends an Origin header, as a browser page would (the server refuses foreign origins).
        `after`: resume after that turn: the stored results of later turns come first, then `resumed`.
        """
        try:
            url = stream_url(self.base_url, call_id, self.key, after=after)
            # entered here, exited by CallStream.close(): websockets >= 17.1 warns about a connection that
            # is used without entering it (its __exit__ is close())
            ws = sync_connect(url, open_timeout=self.timeout, max_size=max_size, origin=_origin(origin)).__enter__()
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise _refused(exc, call_id) from exc
        stream = CallStream(ws, call_id, after=after or 0)
        try:
            stream.ping(self.timeout)  # the server closes a refused socket right after accepting it
        except BaseException:
            stream.close()
            raise
        return stream

    def resume(self, stream: CallStream, *, origin: str | None = None) -> CallStream:
        """A new socket that picks up, gap-free, after the last turn `stream` saw (closed, e.g. its server died)."""
        stream.close()  # a no-op when it is closed already
        return self.connect(stream.call_id, origin=origin, after=stream.last_turn)

    @contextmanager
    def stream(self, call_id: str, *, max_size: int | None = 2**20, origin: str | None = None) -> Iterator[CallStream]:
        """The call's socket for a `with` block."""
        stream = self.connect(call_id, max_size=max_size, origin=origin)
        try:
            yield stream
        finally:
            stream.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def __enter__(self) -> AssistClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- async -------------------------------------------------------------------------------------
class AsyncCallStream:
    """CallStream for asyncio: the same methods, awaited; `async for` yields messages until it closes."""

    def __init__(self, ws: AsyncConnection, call_id: str, *, after: int = 0) -> None:
        self.ws, self.call_id = ws, call_id
        self._pending: deque[ServerMessage] = deque()
        self.last_turn = after  # the last turn seen: where `AsyncAssistClient.resume` picks up

    async def send(self, message: ClientMessage) -> None:
        """Send one message (an UtteranceMessage or a PingMessage)."""
        try:
            await self.ws.send(encode(message))
        except ConnectionClosed as exc:
            raise _closed(exc, self.call_id) from exc

    async def send_utterance(self, speaker: Speaker, text: str, *, final: bool = True) -> None:
        """Send a turn; interim ASR text has final=False (the server answers only final turns)."""
        await self.send(UtteranceMessage.model_validate(_utterance_body(speaker, text, final)))

    async def receive(self, timeout: float | None = None) -> ServerMessage:
        """The next message; TimeoutError after `timeout` seconds, StreamClosed/ApiError when it closed."""
        if self._pending:
            return self._pending.popleft()
        try:
            async with asyncio.timeout(timeout):
                raw = await self.ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc, self.call_id) from exc
        message = _parse(raw)
        self.last_turn = _last_turn(self.last_turn, message)
        return message

    async def say(self, speaker: Speaker, text: str, *, timeout: float | None = 30.0) -> list[ServerMessage]:
        """Send a final turn and return what answered it (as CallStream.say)."""
        await self.send_utterance(speaker, text)
        out = [await self.receive(timeout)]
        while not isinstance(out[-1], TURN_ANSWERS):
            out.append(await self.receive(timeout))
        return out

    async def ping(self, timeout: float | None = 10.0) -> PongMessage:
        """Round trip a ping; messages that arrive before the pong are kept for receive()."""
        await self.send(PingMessage())
        early: list[ServerMessage] = []
        while not isinstance(msg := await self.receive(timeout), PongMessage):
            early.append(msg)
        self._pending.extend(early)
        return msg

    async def __aiter__(self) -> AsyncIterator[ServerMessage]:
        while True:
            try:
                yield await self.receive()
            except StreamClosed:
                return

    async def close(self) -> None:
        """Close the socket."""
        await self.ws.close()

    async def __aenter__(self) -> AsyncCallStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncAssistClient:
    """AssistClient for asyncio: the same methods, awaited. Use with `async with`, or aclose() it."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 30.0) -> None:
        """Args: as AssistClient."""
        self.base_url, self.key, self.timeout = base_url.rstrip("/"), key, timeout
        self.http = httpx.AsyncClient(base_url=self.base_url, headers=_auth(key), timeout=timeout)

    async def _request(
        self, method: str, path: str, model: type[Model], *, json: JsonBody = None, headers: Headers = None
    ) -> Model:
        try:
            response = await self.http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        return _reply(response, model)

    async def create_call(self) -> str:
        """Open a call; returns its id."""
        return (await self._request("POST", "/v1/calls", CallCreated)).call_id

    async def post_utterance(
        self, call_id: str, speaker: Speaker, text: str, *, final: bool = True, idempotency_key: str | None = None
    ) -> TurnResult:
        """One turn over HTTP: its suggestion, alerts and checklist (also pushed to the call's sockets)."""
        path = f"/v1/calls/{quote(call_id, safe='')}/utterances"
        body = _utterance_body(speaker, text, final)
        return await self._request("POST", path, TurnResult, json=body, headers=_headers(idempotency_key))

    async def end_call(self, call_id: str) -> CallSummary:
        """Close the call; returns the after-call summary."""
        return await self._request("POST", f"/v1/calls/{quote(call_id, safe='')}/end", CallSummary)

    async def get_call(self, call_id: str) -> CallPublic:
        """The call's redacted transcript, suggestions, checklist and alerts."""
        return await self._request("GET", f"/v1/calls/{quote(call_id, safe='')}", CallPublic)

    async def guard_check(self, text: str, speaker: GuardSpeaker = "agent") -> VerdictPublic:
        """The guard's verdict on one text."""
        return await self._request("POST", "/v1/guard/check", VerdictPublic, json={"text": text, "speaker": speaker})

    async def connect(
        self, call_id: str, *, max_size: int | None = 2**20, origin: str | None = None, after: int | None = None
    ) -> AsyncCallStream:
        """Open the call's socket (close it when done); ApiError at once for a bad key or an unknown call.

        `origin` sends an Origin header, as a browser page would; `after` resumes (as AssistClient.connect).
        """
        url = stream_url(self.base_url, call_id, self.key, after=after)
        try:
            ws = await async_connect(url, open_timeout=self.timeout, max_size=max_size, origin=_origin(origin))
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise _refused(exc, call_id) from exc
        stream = AsyncCallStream(ws, call_id, after=after or 0)
        try:
            await stream.ping(self.timeout)  # the server closes a refused socket right after accepting it
        except BaseException:
            await stream.close()
            raise
        return stream

    async def resume(self, stream: AsyncCallStream, *, origin: str | None = None) -> AsyncCallStream:
        """As AssistClient.resume: a new socket that picks up after the last turn `stream` saw."""
        await stream.close()  # a no-op when it is closed already
        return await self.connect(stream.call_id, origin=origin, after=stream.last_turn)

    @asynccontextmanager
    async def stream(
        self, call_id: str, *, max_size: int | None = 2**20, origin: str | None = None
    ) -> AsyncIterator[AsyncCallStream]:
        """The call's socket for an `async with` block."""
        stream = await self.connect(call_id, max_size=max_size, origin=origin)
        try:
            yield stream
        finally:
            await stream.close()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncAssistClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
