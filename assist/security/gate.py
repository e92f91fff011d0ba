"""The front door: authentication before a request body is read, body limits while it streams, rate limits.

`AuthGate` is a pure ASGI middleware (Starlette's BaseHTTPMiddleware would wrap the whole request in a task
and a stream of its own; here nothing touches `receive` until the key is known). For every HTTP request:

1. under `/v1` (but the public demo routes), the key must come in `Authorization: Bearer <key>`; a missing,
   unknown, revoked or malformed one gets 401 with `WWW-Authenticate`, a key in the query string gets 401
   saying why. Not one byte of the body is read first.
2. the body is limited: a `Content-Length` over the limit gets 413 at once; a chunked body is counted as it
   streams and cut off at the limit with 413. Uploads (`POST /v1/documents`) may be
   `ASSIST_MAX_UPLOAD_MB`; everything else `ASSIST_MAX_BODY_KB`.
3. rate limits answer 429 with `Retry-After`: failed authentications per client address (checked before the
   key is looked up, so a blocked address cannot go on guessing), requests per key.

Rate limits are token buckets of our own rather than slowapi: slowapi keys its limits on a Request inside
the route (or its BaseHTTPMiddleware), after the body is parsed and after authentication has succeeded or
failed, so it can neither refuse a guessing address before the key lookup nor count WebSocket messages.
A bucket is a few lines; the buckets live in bounded LRU maps.

`KeyStore` caches key lookups for `ASSIST_KEY_RECHECK_S` (0.5 s by default): a revoked key (revoked by the
CLI, in another process) is refused by every HTTP route within that time, and open WebSockets re-check
their key at least that often (assist/routes/calls.py), so it stops working everywhere within 1 s.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assist.config import Settings
from assist.errors import AuthError, RateLimitedError
from assist.models.keys import ApiKey, Role
from assist.security.keys import hash_key

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

# Where the gate puts the authenticated key for the routes (assist.deps.current_key reads it).
SCOPE_KEY = "assist.api_key"
# /v1 routes that need no key: the side panel's demo calls (public samples from kb_docs/calls).
PUBLIC_V1_PREFIXES = ("/v1/demo/",)
PUBLIC_V1_PATHS = frozenset({"/v1/demo/calls"})
UPLOAD_ROUTES = frozenset({("POST", "/v1/documents")})
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the form fields around an uploaded file

MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>'"
BAD_SCHEME = "malformed Authorization header: send 'Authorization: Bearer <key>'"
QUERY_KEY = (
    "API keys are not accepted in the query string on HTTP routes (URLs end up in logs and browser "
    "history): send 'Authorization: Bearer <key>'; ?token= is for the WebSocket handshake only"
)
BAD_KEY = "unknown or revoked API key"


# -- rate limits ----------------------------------------------------------------------------------
class TokenBucket:
    """`capacity` tokens, refilled at `capacity / window_s` per second; a request takes one.

    Not thread-safe on its own (RateLimiter locks around it; a socket's bucket is used by one task).
    """

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, capacity: int, window_s: float, now: float) -> None:
        if capacity < 1 or window_s <= 0:
            raise ValueError(f"a token bucket needs capacity >= 1 and window > 0, got {capacity} per {window_s} s")
        self.capacity = float(capacity)
        self.rate = capacity / window_s
        self.tokens = float(capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0: one is available now); takes nothing."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        wait = self.wait(now)
        if wait == 0:
            self.tokens -= 1
        return wait


class RateLimiter:
    """A token bucket per identity (client address, key id), in an LRU map of at most `max_keys` entries.

    An identity evicted from a full map starts again with a full bucket: the bound keeps memory flat under a
    flood of addresses at the price of forgiving the oldest of them. Thread-safe (sync routes run in threads).
    """

    def __init__(self, *, capacity: int, window_s: float, clock: Clock, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be positive, got {max_keys}")
        TokenBucket(capacity, window_s, 0.0)  # validate now, not on the first request
        self.capacity, self.window_s, self.clock, self.max_keys = capacity, window_s, clock, max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, ident: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(ident)
        if bucket is None:
            bucket = self._buckets[ident] = TokenBucket(self.capacity, self.window_s, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(ident)
        return bucket

    def wait(self, ident: str) -> float:
        """Seconds `ident` must wait before its next request (0: it may go now); counts nothing."""
        with self._lock:
            if ident not in self._buckets:
                return 0.0
            return self._bucket(ident, self.clock()).wait(self.clock())

    def hit(self, ident: str) -> float:
        """Count a request: 0 when allowed, else the seconds until it would be."""
        with self._lock:
            now = self.clock()
            return self._bucket(ident, now).take(now)


def retry_text(seconds: float) -> str:
    return f"retry in {max(1, math.ceil(seconds))} s"


# -- keys -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeySnapshot:
    """An active key as looked up: every request gets its own ApiKey copy of it (never a shared row)."""

    id: str
    name: str
    role: Role
    key_hash: str
    prefix: str
    created_at: datetime
    team: str | None = None  # the agent's team: stored with each call the key starts

    def to_api_key(self) -> ApiKey:
        return ApiKey(
            id=self.id,
            name=self.name,
            role=self.role,
            team=self.team,
            key_hash=self.key_hash,
            prefix=self.prefix,
            created_at=self.created_at,
            revoked_at=None,
        )


class KeyStore:
    """Active keys by hash, each trusted for `ttl_s` after it was read from the database.

    Only active keys are cached (an unknown key costs a lookup each time, which the failed-authentication
    limit bounds). The cache holds at most `max_entries` keys, least recently used out first.
    """

    def __init__(self, db_engine: Engine, *, ttl_s: float, clock: Clock, max_entries: int = 10_000) -> None:
        self.db_engine, self.ttl_s, self.clock, self.max_entries = db_engine, ttl_s, clock, max_entries
        self._cache: OrderedDict[str, tuple[KeySnapshot, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.lookups = 0  # database reads, for tests and metrics

    def __len__(self) -> int:
        return len(self._cache)

    def cached(self, key_hash: str) -> KeySnapshot | None:
        """The key if it was confirmed active less than `ttl_s` ago, else None (look it up)."""
        with self._lock:
            hit = self._cache.get(key_hash)
            if hit is None:
                return None
            snap, read_at = hit
            if self.clock() - read_at >= self.ttl_s:
                return None
            self._cache.move_to_end(key_hash)
            return snap

    def fetch(self, key_hash: str) -> KeySnapshot | None:
        """Read the key from the database (blocking): the snapshot when it exists and is not revoked."""
        self.lookups += 1
        with Session(self.db_engine) as session:
            row = session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
            snap = None
            if row is not None and row.revoked_at is None:
                snap = KeySnapshot(row.id, row.name, Role(row.role), row.key_hash, row.prefix, row.created_at, row.team)
        with self._lock:
            if snap is None:
                self._cache.pop(key_hash, None)
            else:
                self._cache[key_hash] = (snap, self.clock())
                self._cache.move_to_end(key_hash)
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        return snap

    async def get(self, key_hash: str) -> KeySnapshot | None:
        """The active key with this hash, from the cache or (in a worker thread) the database."""
        snap = self.cached(key_hash)
        if snap is not None:
            return snap
        return await anyio.to_thread.run_sync(self.fetch, key_hash)


# -- the service object ---------------------------------------------------------------------------
class Security:
    """Key store, rate limiters and client addresses: one per app, on `app.state.security`.

    Args:
        settings: limits, the key re-check interval, trusted proxies.
        db_engine: where the keys are.
        clock: monotonic seconds; tests inject a fake one to move time deterministically.
    """

    def __init__(self, settings: Settings, db_engine: Engine, *, clock: Clock = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self.recheck_s = settings.key_recheck_s
        self.limits_on = settings.rate_limits
        self.keys = KeyStore(db_engine, ttl_s=settings.key_recheck_s, clock=self.now)
        self.auth_failures = RateLimiter(capacity=settings.auth_failures_per_minute, window_s=60, clock=self.now)
        self.requests = RateLimiter(capacity=settings.requests_per_minute, window_s=60, clock=self.now)
        self.calls = RateLimiter(capacity=settings.calls_per_minute, window_s=60, clock=self.now)
        self.trusted_proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    def now(self) -> float:
        return self._clock()

    def set_clock(self, clock: Clock) -> None:
        """Use another clock from now on (tests)."""
        self._clock = clock

    # -- who is asking --------------------------------------------------------------------------
    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)

    def client_address(self, scope: Scope) -> str:
        """The client's address: the peer's, or, when the peer is a trusted proxy, the last address in
        X-Forwarded-For that is not itself a trusted proxy (the left-most entries are the client's to forge)."""
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if not self.trusted_proxies or not self._trusted(peer):
            return peer
        forwarded = Headers(scope=scope).getlist("x-forwarded-for")
        hops = [h.strip() for line in forwarded for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    # -- authentication -------------------------------------------------------------------------
    async def authenticate(self, credential: str | None, *, client: str, malformed: bool = False) -> ApiKey:
        """The active key for `credential`, counting failures per client address and requests per key.

        Raises:
            AuthError: no key, a malformed header, an unknown or revoked key.
            RateLimitedError: this address failed too often, or this key asked too often.
        """
        if credential is None and not malformed:
            raise AuthError(MISSING_KEY)
        if self.limits_on:
            wait = self.auth_failures.wait(client)
            if wait:
                raise RateLimitedError(
                    f"too many failed authentications from this address; {retry_text(wait)}", retry_after=wait
                )
        snap = None if credential is None else await self.keys.get(hash_key(credential))
        if snap is None:
            if self.limits_on:
                self.auth_failures.hit(client)
            logger.warning("authentication failed", extra={"client": client, "malformed": malformed})
            raise AuthError(BAD_SCHEME if malformed else BAD_KEY)
        if self.limits_on:
            wait = self.requests.hit(snap.id)
            if wait:
                raise RateLimitedError(
                    f"too many requests with key {snap.prefix}…: the limit is {self.requests.capacity} a minute; "
                    f"{retry_text(wait)}",
                    retry_after=wait,
                )
        return snap.to_api_key()

    async def still_active(self, key_hash: str) -> bool:
        """Whether the key is still active (cached for at most `recheck_s`)."""
        return await self.keys.get(key_hash) is not None

    def count_call_start(self, key: ApiKey) -> None:
        """Count a call started with `key`.

        Raises:
            RateLimitedError: over ASSIST_CALLS_PER_MINUTE.
        """
        if not self.limits_on:
            return
        wait = self.calls.hit(key.id)
        if wait:
            raise RateLimitedError(
                f"too many calls started with this key: the limit is {self.calls.capacity} a minute; "
                f"{retry_text(wait)}",
                retry_after=wait,
            )

    def socket_bucket(self) -> TokenBucket | None:
        """A bucket for one WebSocket's client messages (None when limits are off)."""
        if not self.limits_on:
            return None
        rate = self.settings.ws_messages_per_second
        return TokenBucket(rate, 1.0, self.now())

    # -- body limits ----------------------------------------------------------------------------
    def body_limit(self, method: str, path: str) -> int:
        """The most bytes a request to this route may carry."""
        route = (method, path.rstrip("/") or "/")
        if route in UPLOAD_ROUTES:
            return int(self.settings.max_upload_mb * 1024 * 1024) + MULTIPART_OVERHEAD
        limit = self.settings.max_body_kb * 1024
        if route == ("POST", "/v1/rules/import"):
            from assist.routes.rules import MAX_PACK_BYTES  # the route names its own, larger, limit

            limit = max(limit, MAX_PACK_BYTES + 1)
        return limit


# -- the middleware -------------------------------------------------------------------------------
class BodyTooLargeError(HTTPException):
    """Raised from `receive` when the body passes its limit; FastAPI answers it as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_text(limit))
        self.limit = limit


def too_large_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        size = f"{limit / (1024 * 1024):.3g} MB"
    else:
        size = f"{limit / 1024:.3g} KB"
    return f"request body too large: the limit for this route is {size} ({limit} bytes)"


def needs_key(method: str, path: str) -> bool:
    """Whether an HTTP request to this path must carry a key (every /v1 route but the public demo ones)."""
    if method == "OPTIONS":  # CORS preflight: never reaches a handler (no route answers OPTIONS)
        return False
    if not (path == "/v1" or path.startswith("/v1/")):
        return False
    return not (path in PUBLIC_V1_PATHS or path.startswith(PUBLIC_V1_PREFIXES))


def bearer_credential(headers: Headers) -> tuple[str | None, bool]:
    """(key, malformed) from `Authorization: Bearer <key>`: (None, False) when there is no such header."""
    header = headers.get("authorization")
    if header is None:
        return None, False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None, True
    return value.strip(), False


async def send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A complete JSON `{"detail": …}` response, sent without reading the request."""
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _too_large_in(exc: BaseException) -> BodyTooLargeError | None:
    if isinstance(exc, BodyTooLargeError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _too_large_in(inner)
            if found is not None:
                return found
    return None


class AuthGate:
    """Pure ASGI middleware: key check, then body limit, before the app reads a byte (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        security: Security | None = getattr(scope["app"].state, "security", None)
        method, path = scope["method"], scope["path"]
        if security is None:  # still starting: the routes say 503 themselves; nothing to check against yet
            if needs_key(method, path):
                await send_json(send, 503, "service not ready: still loading")
                return
            await self.app(scope, receive, send)
            return
        if needs_key(method, path):
            try:
                scope[SCOPE_KEY] = await self._authenticate(security, scope)
            except AuthError as exc:
                await send_json(send, 401, str(exc), {"WWW-Authenticate": 'Bearer realm="assist"'})
                return
            except RateLimitedError as exc:
                await send_json(send, 429, str(exc), {"Retry-After": exc.retry_after_header})
                return
        await self._limited(security.body_limit(method, path), scope, receive, send)

    @staticmethod
    async def _authenticate(security: Security, scope: Scope) -> ApiKey:
        headers = Headers(scope=scope)
        if "token" in QueryParams(scope.get("query_string", b"")):
            raise AuthError(QUERY_KEY)
        credential, malformed = bearer_credential(headers)
        return await security.authenticate(credential, client=security.client_address(scope), malformed=malformed)

    async def _limited(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await send_json(send, 413, too_large_text(limit))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLargeError(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except Exception as exc:
            too_large = _too_large_in(exc)
            if too_large is None or started:
                raise
            await send_json(send, 413, str(too_large.detail))


def install(app: Any) -> None:
    """Put the gate in front of the app's routes (inside the framework's error middleware)."""
    app.add_middleware(AuthGate)
