"""assist.client against a real server (uvicorn on a free port, the app over fakes): typed replies and refusals."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from assist.calls.messages import AckMessage, ChecklistMessage, ErrorMessage, PongMessage
from assist.client import ApiError, AssistClient, AsyncAssistClient, ClientError, stream_url
from assist.models.calls import ComplianceAlert, SuggestionMessage
from assist.models.keys import Role
from tests.utils.api import new_key

LOST_CARD = "我的信用卡丢了怎么办"
CLAIM = "这个理财产品保本，稳赚不赔"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Live:
    url: str
    app: FastAPI

    def key(self, role: Role = Role.agent) -> str:
        return new_key(self.app, role)


@pytest.fixture
def live(make_app: Callable[..., FastAPI]) -> Iterator[Live]:
    app = make_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(600):  # bounded: up to 60 s for the lifespan on a busy machine
        if server.started or not thread.is_alive():
            break
        started.wait(0.1)
    assert server.started, "the server did not start"
    try:
        yield Live(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_stream_url_carries_the_key_and_keeps_a_path_prefix() -> None:
    assert (
        stream_url("https://h.example/assist/", "c 1", "ak/x")
        == "wss://h.example/assist/v1/calls/c%201/stream?token=ak%2Fx"
    )


def test_a_call_over_http_returns_the_servers_models(live: Live) -> None:
    with AssistClient(live.url, live.key()) as api:
        call_id = api.create_call()
        result = api.post_utterance(call_id, "customer", LOST_CARD)
        assert isinstance(result.suggestion, SuggestionMessage) and result.turn == 1
        assert result.suggestion.citations[0]["document_id"] == "doc-loss-zh"
        assert [t.text for t in api.get_call(call_id).turns] == [LOST_CARD]
        summary = api.end_call(call_id)
        assert summary.call_id == call_id and summary.status == "ended" and summary.suggestions == 1
        assert api.guard_check(CLAIM).action == "block"


def test_http_refusals_are_api_errors_with_the_servers_detail(live: Live) -> None:
    with AssistClient(live.url, "ak_agent_wrong") as api, pytest.raises(ApiError) as exc:
        api.create_call()
    assert exc.value.status_code == 401 and exc.value.detail
    with AssistClient(live.url, live.key()) as api, pytest.raises(ApiError) as exc:
        api.end_call("no-such-call")
    assert exc.value.status_code == 404 and "no-such-call" in str(exc.value)


def test_the_socket_yields_typed_messages(live: Live) -> None:
    key = live.key()
    with AssistClient(live.url, key) as api:
        call_id = api.create_call()
        with api.stream(call_id) as panel, api.stream(call_id) as connector:
            (suggestion,) = connector.say("customer", LOST_CARD)
            assert isinstance(suggestion, SuggestionMessage) and suggestion.next_steps[0].id == "verify_identity"
            alert, checklist = connector.say("agent", CLAIM)
            assert isinstance(alert, ComplianceAlert) and alert.action == "block" and alert.turn == 2
            assert isinstance(checklist, ChecklistMessage)
            assert isinstance(connector.say("customer", "好的")[-1], AckMessage)
            # the other panel got the turns' suggestion, alert and checklist, not the ack
            seen = [panel.receive(timeout=10) for _ in range(3)]
            assert [m.type for m in seen] == ["suggestion", "compliance_alert", "checklist"]
            assert isinstance(panel.ping(), PongMessage)
            # a turn posted over HTTP reaches the socket too
            posted = api.post_utterance(call_id, "customer", "补卡要收费吗")
            pushed = panel.receive(timeout=10)
            assert isinstance(pushed, SuggestionMessage) and posted.suggestion and pushed.id == posted.suggestion.id
            # what the server refuses is an error message; the socket stays open
            (error,) = panel.say("customer", "   ")
            assert isinstance(error, ErrorMessage) and "empty" in error.detail
            assert isinstance(panel.ping(), PongMessage)


def test_resume_picks_up_after_the_last_turn_the_socket_saw(live: Live) -> None:
    with AssistClient(live.url, live.key()) as api:
        call_id = api.create_call()
        panel = api.connect(call_id)
        api.post_utterance(call_id, "customer", LOST_CARD)
        assert panel.receive(timeout=10).type == "suggestion" and panel.last_turn == 1
        panel.close()  # its server went away; meanwhile the connector goes on posting elsewhere
        api.post_utterance(call_id, "agent", CLAIM)
        posted = api.post_utterance(call_id, "customer", "补卡要收费吗")
        with api.resume(panel) as again:
            got = [again.receive(timeout=10) for _ in range(3)]
            assert [m.type for m in got] == ["compliance_alert", "suggestion", "resumed"]
            assert posted.suggestion is not None and got[1].id == posted.suggestion.id  # type: ignore[union-attr]
            assert again.last_turn == 3


def test_stream_url_carries_a_resume_point() -> None:
    assert stream_url("http://h", "c", "k", after=7) == "ws://h/v1/calls/c/stream?token=k&after=7"


@pytest.mark.parametrize(
    ("key", "call", "status", "code"),
    [("ak_agent_wrong", "own", 401, 4401), ("agent", "no-such-call", 404, 4404), ("editor", "own", 403, 4403)],
)
def test_a_refused_socket_is_an_api_error_at_connect(live: Live, key: str, call: str, status: int, code: int) -> None:
    owner = live.key()
    with AssistClient(live.url, owner) as api:
        call_id = api.create_call() if call == "own" else call
    credential = {"agent": owner, "editor": live.key(Role.editor)}.get(key, key)
    with AssistClient(live.url, credential, timeout=10) as api, pytest.raises(ApiError) as exc:
        api.connect(call_id)
    assert exc.value.status_code == status and exc.value.close_code == code


def test_an_unreachable_server_is_a_client_error() -> None:
    with AssistClient("http://127.0.0.1:9", "ak_x", timeout=5) as api:
        with pytest.raises(ClientError, match="POST /v1/calls"):
            api.create_call()
        with pytest.raises(ClientError, match="cannot connect"):
            api.connect("c1")


def test_the_async_client_does_the_same(live: Live) -> None:
    key = live.key()

    async def call() -> list[str]:
        async with AsyncAssistClient(live.url, key) as api:
            call_id = await api.create_call()
            async with api.stream(call_id) as stream:
                got = [m.type for m in await stream.say("customer", LOST_CARD)]
                got += [m.type for m in await stream.say("agent", CLAIM)]
                assert isinstance(await stream.ping(), PongMessage)
            result = await api.post_utterance(call_id, "customer", "好的")
            assert result.suggestion is None and result.turn == 3
            summary = await api.end_call(call_id)
            assert summary.status == "ended" and len(summary.alerts) == 1
            return got

    assert asyncio.run(call()) == ["suggestion", "compliance_alert", "checklist"]


def test_replay_url_plays_a_call_through_the_client(live: Live) -> None:
    from typer.testing import CliRunner

    from assist.cli import _register, app

    _register()
    call = ROOT / "kb_docs/calls/zh_card_loss_and_wealth.jsonl"
    r = CliRunner().invoke(app, ["replay", str(call), "--url", live.url, "--key", live.key(), "--json"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.output.splitlines()]
    turns, summary = lines[:-1], lines[-1]["summary"]
    assert len(turns) == sum(1 for line in call.read_text(encoding="utf-8").splitlines() if line.strip())
    assert any(t["result"]["suggestion"] for t in turns)
    assert any(a["action"] == "block" for t in turns for a in t["result"]["alerts"])
    assert summary["status"] == "ended"
    r = CliRunner().invoke(app, ["replay", str(call), "--url", live.url, "--key", "ak_agent_wrong"])
    assert r.exit_code == 1 and "error: POST /v1/calls: HTTP 401" in r.output  # the server, in this process, logs too


def test_the_call_benchmark_drives_its_calls_through_the_client(live: Live) -> None:
    from benchmarks.bench_calls import run_calls

    keys = [live.key(), live.key()]  # one agent key per call, as the benchmark runs them
    clients = asyncio.run(run_calls(live.url, keys, n=2, turns=2, duration=None, interval=0.0, timeout=30.0))
    assert [c.failed for c in clients] == ["", ""]
    assert [c.sent for c in clients] == [2, 2]
    assert [c.suggested + c.other for c in clients] == [2, 2] and sum(c.errors + c.lost for c in clients) == 0
    assert all(len(c.latencies) == c.suggested for c in clients)
