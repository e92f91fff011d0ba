"""The hub's order: a call's turns reach its sockets in number order whichever thread (or replica) published
them, a missing turn holds the next one only for a while, and a resumed socket skips what it was replayed."""

from __future__ import annotations

import asyncio
import json

import pytest

from assist.calls.hub import CallHub, Hub, Sequencer, Subscriber
from assist.calls.messages import AckMessage, ChecklistMessage, ServerMessage
from assist.calls.pg_hub import MAX_PAYLOAD, turn_payload
from assist.models.calls import ComplianceAlert


def _alert(turn: int) -> ComplianceAlert:
    return ComplianceAlert(call_id="c", turn=turn, speaker="agent", action="block", advice=f"turn {turn}")


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _recorder() -> tuple[list[int], Sequencer, _Clock]:
    got: list[int] = []
    clock = _Clock()

    def deliver(_call: str, messages: list[ServerMessage], _exclude: Subscriber | None) -> None:
        got.extend(int(getattr(m, "turn", 0)) for m in messages)

    return got, Sequencer(deliver, gap_s=1.0, clock=clock), clock


def test_turns_that_arrive_out_of_order_are_delivered_in_order() -> None:
    got, seq, _ = _recorder()
    seq.push("c", 1, [_alert(1)], None)
    seq.push("c", 3, [_alert(3)], None)  # turn 2 is still on its way
    assert got == [1]
    seq.push("c", 2, [], None)  # a quiet turn: nothing to show, but it releases turn 3
    assert got == [1, 3]
    seq.push("c", 4, [_alert(4)], None)
    assert got == [1, 3, 4]


def test_a_turn_that_never_comes_holds_the_next_one_only_until_the_gap_expires() -> None:
    got, seq, clock = _recorder()
    seq.push("c", 1, [_alert(1)], None)
    seq.push("c", 3, [_alert(3)], None)
    seq.push("c", 4, [_alert(4)], None)
    seq.expire()
    assert got == [1]
    assert seq.next_deadline() == pytest.approx(101.0)
    clock.now = 101.5
    seq.expire()
    assert got == [1, 3, 4] and seq.next_deadline() is None
    seq.push("c", 2, [_alert(2)], None)  # very late: delivered rather than lost
    assert got == [1, 3, 4, 2]
    seq.push("c", 2, [_alert(2)], None)  # but only once
    assert got == [1, 3, 4, 2]


def test_a_turn_published_twice_is_handed_on_once() -> None:
    got, seq, _ = _recorder()
    seq.push("c", 1, [_alert(1)], None)
    seq.push("c", 2, [_alert(2)], None)
    seq.push("c", 1, [_alert(1)], None)  # replayed by another replica for a retried POST
    seq.push("c", 4, [_alert(4)], None)
    seq.push("c", 4, [_alert(4)], None)  # held, twice
    seq.push("c", 3, [_alert(3)], None)
    assert got == [1, 2, 3, 4]


def test_calls_are_ordered_independently() -> None:
    got, seq, _ = _recorder()
    seq.push("a", 5, [_alert(5)], None)
    seq.push("b", 1, [_alert(1)], None)
    seq.push("b", 3, [_alert(3)], None)
    seq.push("a", 6, [_alert(6)], None)
    assert got == [5, 1, 6]


def test_the_in_process_hub_is_a_hub_and_orders_concurrent_publishes() -> None:
    async def run() -> list[int]:
        hub = CallHub(gap_s=5.0)
        assert isinstance(hub, Hub)
        sub = hub.subscribe("c")
        hub.publish("c", [_alert(1)], turn=1)
        hub.publish("c", [_alert(3)], turn=3)  # the thread with turn 2 has not published yet
        hub.publish("c", [ChecklistMessage(call_id="c", turn=2, next_steps=[])], turn=2)
        await asyncio.sleep(0)  # let the loop run the deliveries
        out = []
        while not sub.queue.empty():
            out.append(int(sub.queue.get_nowait().turn))  # type: ignore[union-attr]
        hub.unsubscribe("c", sub)
        hub.close()
        return out

    assert asyncio.run(run()) == [1, 2, 3]


def test_a_resumed_socket_skips_turns_its_replay_covered() -> None:
    async def run() -> Subscriber:
        return Subscriber(loop=asyncio.get_running_loop(), through=4)

    sub = asyncio.run(run())
    assert not sub.wants(_alert(4))
    assert sub.wants(_alert(5))
    assert sub.wants(AckMessage(call_id="c", turn=5))


def test_a_notice_too_large_for_postgres_becomes_a_pointer() -> None:
    small = turn_payload("me", "c", 2, [_alert(2)], 1.5)
    assert json.loads(small)["m"][0]["advice"] == "turn 2"
    big_alert = ComplianceAlert(call_id="c", turn=3, speaker="agent", action="block", advice="很长" * 3000)
    big = turn_payload("me", "c", 3, [big_alert, ChecklistMessage(call_id="c", turn=3, next_steps=[])], 1.5)
    assert len(big.encode("utf-8")) <= MAX_PAYLOAD
    data = json.loads(big)
    assert "m" not in data and data["r"] == ["compliance_alert", "checklist"] and data["n"] == 3


def test_a_new_socket_gets_its_first_turns_in_order_too() -> None:
    got, seq, _ = _recorder()
    seq.start("c", 4)  # turns 1-4 were stored before the socket subscribed
    seq.push("c", 6, [_alert(6)], None)  # turn 5 is still on its way from another replica
    assert got == []
    seq.push("c", 5, [_alert(5)], None)
    assert got == [5, 6]
    seq.start("c", 1)  # a second socket on the call: the order in force stays
    seq.push("c", 7, [_alert(7)], None)
    assert got == [5, 6, 7]
