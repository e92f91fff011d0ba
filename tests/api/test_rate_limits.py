"""Rate limits: 429 with Retry-After and a JSON detail (assist/security/gate.py).

Time is a fake clock injected into the app's Security object, so refills are exact and nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from assist.config import Settings, get_settings
from assist.models.keys import Role
from tests.utils.api import bearer, new_key


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(make_app, monkeypatch, clock) -> Callable[..., Any]:
    """A started app with the given ASSIST_* settings and the fake clock: `with limited(X=1, ...) as client:`."""
    stack: list[TestClient] = []

    def _make(client_addr: tuple[str, int] = ("testclient", 50000), **env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(f"ASSIST_{name.upper()}", str(value))
        get_settings.cache_clear()
        client = TestClient(make_app(), client=client_addr)
        client.__enter__()
        client.app.state.security.set_clock(clock)  # type: ignore[attr-defined]
        stack.append(client)
        return client

    yield _make
    for c in stack:
        c.__exit__(None, None, None)


def assert_429(r, *words: str) -> int:
    assert r.status_code == 429, r.text
    retry = int(r.headers["Retry-After"])
    assert retry >= 1
    detail = r.json()["detail"]
    assert isinstance(detail, str) and f"retry in {retry} s" in detail
    for w in words:
        assert w in detail
    return retry


def test_failed_authentications_from_one_address_get_429_and_the_address_stops_guessing(limited, clock) -> None:
    client = limited(auth_failures_per_minute=5)
    good = new_key(client.app, Role.agent)
    for i in range(5):
        assert client.post("/v1/calls", headers=bearer(f"ak_agent_guess{i}")).status_code == 401
    r = client.post("/v1/calls", headers=bearer("ak_agent_guess5"))
    retry = assert_429(r, "failed authentications")
    # blocked means blocked: even a right key from this address waits, and no key is looked up meanwhile
    lookups = client.app.state.security.keys.lookups
    assert client.post("/v1/calls", headers=bearer(good)).status_code == 429
    assert client.app.state.security.keys.lookups == lookups
    # requests without a key cost nothing to refuse and are not counted as guesses
    assert client.get("/v1/documents").status_code == 401
    clock.advance(retry)
    assert client.post("/v1/calls", headers=bearer(good)).status_code == 201


def test_the_websocket_handshake_counts_failures_too(limited) -> None:
    from starlette.websockets import WebSocketDisconnect

    client = limited(auth_failures_per_minute=2)
    agent = new_key(client.app, Role.agent)
    call_id = client.post("/v1/calls", headers=bearer(agent)).json()["call_id"]
    codes = []
    for i in range(3):
        with (
            pytest.raises(WebSocketDisconnect) as exc,
            client.websocket_connect(f"/v1/calls/{call_id}/stream?token=ak_agent_guess{i}") as ws,
        ):
            ws.receive_json()
        codes.append(exc.value.code)
    assert codes == [4401, 4401, 4429]


def test_addresses_behind_a_trusted_proxy(limited) -> None:
    client = limited(client_addr=("10.0.0.2", 4000), auth_failures_per_minute=2, trusted_proxies="10.0.0.0/8")
    one, two = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
    for _ in range(2):
        assert client.get("/v1/documents", headers={**one, **bearer("ak_x_wrong")}).status_code == 401
    assert client.get("/v1/documents", headers={**one, **bearer("ak_x_wrong")}).status_code == 429
    # another client behind the same proxy is not blocked
    assert client.get("/v1/documents", headers={**two, **bearer("ak_x_wrong")}).status_code == 401
    # a client cannot escape by prepending a made-up address: the proxy appends the real one on the right
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert client.get("/v1/documents", headers={**forged, **bearer("ak_x_wrong")}).status_code == 429


def test_forwarded_for_is_ignored_from_an_untrusted_peer(limited) -> None:
    client = limited(client_addr=("192.0.2.9", 4000), auth_failures_per_minute=2)
    for i in range(2):
        h = {"X-Forwarded-For": f"203.0.113.{i}", **bearer("ak_x_wrong")}
        assert client.get("/v1/documents", headers=h).status_code == 401
    h = {"X-Forwarded-For": "203.0.113.99", **bearer("ak_x_wrong")}
    assert client.get("/v1/documents", headers=h).status_code == 429  # all counted against the peer itself


def test_client_address_unit() -> None:
    from assist.security.gate import Security

    s = Security(Settings(trusted_proxies=["10.0.0.0/8", "127.0.0.1"]), db_engine=None)  # type: ignore[arg-type]

    def scope(peer: str, xff: str | None = None) -> dict[str, Any]:
        headers = [(b"x-forwarded-for", xff.encode())] if xff else []
        return {"client": (peer, 1), "headers": headers}

    assert s.client_address(scope("192.0.2.1", "203.0.113.5")) == "192.0.2.1"  # untrusted peer: header ignored
    assert s.client_address(scope("10.1.1.1", "203.0.113.5")) == "203.0.113.5"
    assert s.client_address(scope("127.0.0.1", "203.0.113.5, 10.2.2.2")) == "203.0.113.5"  # two proxies
    assert s.client_address(scope("10.1.1.1", "1.2.3.4, 203.0.113.5")) == "203.0.113.5"
    assert s.client_address(scope("10.1.1.1")) == "10.1.1.1"
    untrusting = Security(Settings(), db_engine=None)  # type: ignore[arg-type]
    assert untrusting.client_address(scope("10.1.1.1", "203.0.113.5")) == "10.1.1.1"


def test_requests_per_key(limited, clock) -> None:
    client = limited(requests_per_minute=3)
    a, b = bearer(new_key(client.app, Role.compliance)), bearer(new_key(client.app, Role.compliance))
    for _ in range(3):
        assert client.get("/v1/documents", headers=a).status_code == 200
    retry = assert_429(client.get("/v1/documents", headers=a), "too many requests", "3 a minute")
    assert client.get("/v1/documents", headers=b).status_code == 200  # per key
    clock.advance(retry)
    assert client.get("/v1/documents", headers=a).status_code == 200


def test_call_creation_per_key(limited, clock) -> None:
    # the reproducer: one key created 300 calls in about a second
    client = limited(calls_per_minute=30)
    a, b = bearer(new_key(client.app, Role.agent)), bearer(new_key(client.app, Role.agent))
    created = [client.post("/v1/calls", headers=a).status_code for _ in range(40)]
    assert created[:30] == [201] * 30 and set(created[30:]) == {429}
    retry = assert_429(client.post("/v1/calls", headers=a), "calls started", "30 a minute")
    assert client.post("/v1/calls", headers=b).status_code == 201
    clock.advance(retry)
    assert client.post("/v1/calls", headers=a).status_code == 201


def test_websocket_messages_per_socket(limited, clock) -> None:
    client = limited(ws_messages_per_second=2)
    key = new_key(client.app, Role.agent)
    call_id = client.post("/v1/calls", headers=bearer(key)).json()["call_id"]
    with client.websocket_connect(f"/v1/calls/{call_id}/stream?token={key}") as ws:
        for _ in range(2):
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "utterance", "speaker": "customer", "text": "我的信用卡丢了怎么办"})
        err = ws.receive_json()
        assert err["type"] == "error" and err["status"] == 429 and err["retry_after"] > 0
        assert "too many messages" in err["detail"]
        clock.advance(1.0)  # the socket stayed open; a second later it is answered again
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert client.get(f"/v1/calls/{call_id}", headers=bearer(key)).json()["turns"] == []  # the dropped turn


def test_limits_can_be_turned_off_for_benchmarks(limited) -> None:
    client = limited(rate_limits="false", auth_failures_per_minute=1, calls_per_minute=1)
    for i in range(30):
        assert client.get("/v1/documents", headers=bearer(f"ak_x_{i}")).status_code == 401
    key = bearer(new_key(client.app, Role.agent))
    assert {client.post("/v1/calls", headers=key).status_code for _ in range(5)} == {201}


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ASSIST_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "proxy.local"),
        ({"ASSIST_KEY_RECHECK_S": "2"}, "key_recheck_s"),
        ({"ASSIST_CALLS_PER_MINUTE": "0"}, "calls_per_minute"),
        ({"ASSIST_MAX_BODY_KB": "0"}, "max_body_kb"),
    ],
)
def test_unsafe_security_settings_are_refused(monkeypatch, env, words) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert words in str(exc.value)


def test_limiter_maps_are_bounded() -> None:
    from assist.security.gate import RateLimiter

    limiter = RateLimiter(capacity=1, window_s=60, clock=lambda: 0.0, max_keys=100)
    for i in range(10_000):
        limiter.hit(f"203.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.wait("never-seen") == 0 and len(limiter) == 100  # asking does not add


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()
