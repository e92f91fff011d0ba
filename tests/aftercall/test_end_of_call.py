"""Every ended call is scored without anyone asking, off the end-of-call response; a ticket submitted after
the call ended counts; a failed scoring never fails the end of the call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.aftercall.hooks import EndOfCallScoring
from assist.models.aftercall import Scorecard
from tests.utils.metrics import parse, value

COMPLAINT = [("agent", "您好，海港银行"), ("customer", "我要投诉，你们的服务太差了，昨天在网点等了两个小时")]


def _stored(client: TestClient, call_id: str) -> Scorecard | None:
    with Session(client.app.state.db_engine) as session:  # type: ignore[attr-defined]
        return session.get(Scorecard, call_id)


def _scoring(client: TestClient) -> EndOfCallScoring:
    hook = client.app.state.call_engine.on_call_ended  # type: ignore[attr-defined]
    assert isinstance(hook, EndOfCallScoring)
    return hook


def test_an_ended_call_is_scored_and_stored_without_being_asked(client: TestClient, play: Callable[..., str]) -> None:
    call_id = play(COMPLAINT, end=True)
    assert _scoring(client).drain(timeout_s=30)
    card = _stored(client, call_id)
    assert card is not None, "the call ended but no scorecard was stored"
    verdicts = {c["id"]: c["passed"] for c in card.criteria}
    assert verdicts["ticket_submitted"] is False and verdicts["greeting"] is True


def test_the_end_of_call_response_does_not_wait_for_scoring(
    client: TestClient, keys: dict[str, dict[str, str]], play: Callable[..., str], monkeypatch: Any
) -> None:
    hook = _scoring(client)
    release = threading.Event()
    original = hook.score

    def held(call_id: str) -> None:
        release.wait(timeout=30)
        original(call_id)

    monkeypatch.setattr(hook, "score", held)
    call_id = play(COMPLAINT)
    r = client.post(f"/v1/calls/{call_id}/end", headers=keys["agent"])
    assert r.status_code == 200 and r.json()["status"] == "ended"  # answered while the scoring is held
    assert _stored(client, call_id) is None
    release.set()
    assert hook.drain(timeout_s=30)
    assert _stored(client, call_id) is not None


def test_a_ticket_submitted_after_the_call_ended_counts_in_its_scorecard(
    client: TestClient, keys: dict[str, dict[str, str]], play: Callable[..., str]
) -> None:
    call_id = play(COMPLAINT, end=True)
    assert _scoring(client).drain(timeout_s=30)
    body = {
        "call_id": call_id,
        "template": "complaint",
        "fields": {"channel": "branch", "date": "2024-03-05", "description": "等候太久"},
    }
    assert client.post("/v1/tickets", headers=keys["agent"], json=body).status_code == 201
    card = client.get(f"/v1/calls/{call_id}/scorecard", headers=keys["agent"]).json()
    assert {c["id"]: c["passed"] for c in card["criteria"]}["ticket_submitted"] is True


def test_a_failed_scoring_does_not_fail_the_end_of_the_call(
    client: TestClient, keys: dict[str, dict[str, str]], play: Callable[..., str]
) -> None:
    class BrokenRubric:
        @property
        def rubric(self) -> Any:
            raise RuntimeError("rubric unreadable")

        playbooks = None

    engine = client.app.state.call_engine  # type: ignore[attr-defined]
    engine.on_call_ended = hook = EndOfCallScoring(
        db_engine=client.app.state.db_engine,  # type: ignore[attr-defined]
        aftercall=BrokenRubric(),
        background=False,
    )
    call_id = play(COMPLAINT)
    assert client.post(f"/v1/calls/{call_id}/end", headers=keys["agent"]).status_code == 200
    assert hook.failed == 1 and _stored(client, call_id) is None
    # the scorecard is still made when asked for, from the app's own rubric
    assert client.get(f"/v1/calls/{call_id}/scorecard", headers=keys["agent"]).status_code == 200


def test_a_repeat_contact_is_linked_when_the_call_ends(
    client: TestClient, keys: dict[str, dict[str, str]], play: Callable[..., str]
) -> None:
    loss = [("customer", "我的信用卡丢了")]
    play(loss, end=True, customer_ref="CUST-9")
    play(loss, end=True, customer_ref="CUST-9")
    assert _scoring(client).drain(timeout_s=30)
    fcr = client.get("/v1/qa/summary?group=topic", headers=keys["compliance"]).json()["fcr"]
    row = next(r for r in fcr if r["group"] == "card_loss")
    assert (row["calls"], row["resolved"]) == (2, 1)  # no scorecard was asked for: the end of the call did it


def test_metrics_show_first_contact_resolution_per_topic(
    client: TestClient, keys: dict[str, dict[str, str]], play: Callable[..., str]
) -> None:
    loss = [("customer", "我的信用卡丢了")]
    play(loss, end=True, customer_ref="CUST-7")
    play(loss, end=True, customer_ref="CUST-7")
    play([("customer", "我想问一下房贷提前还款")], end=True, customer_ref="CUST-8")
    play(loss, end=True)  # no customer reference: not counted
    assert _scoring(client).drain(timeout_s=30)
    text = client.get("/metrics").text
    samples = parse(text)
    assert value(samples, "assist_fcr_calls", topic="card_loss") == 2
    assert value(samples, "assist_fcr_resolved", topic="card_loss") == 1
    assert value(samples, "assist_fcr_ratio", topic="card_loss") == 0.5
    assert "# TYPE assist_fcr_ratio gauge" in text
