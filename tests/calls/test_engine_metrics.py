"""A turn through the engine moves the per-stage latency histograms of the stages it ran, and the turn's own."""

from __future__ import annotations

from collections.abc import Callable

from assist.calls.engine import CallEngine
from assist.observability.metrics import render
from tests.utils.metrics import Samples, parse, value

STAGE = "assist_call_stage_duration_seconds"


def scrape() -> Samples:
    return parse(render()[0].decode())


def moved(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_customer_turn_and_an_agent_turn_move_their_stages(make_call_engine: Callable[..., CallEngine]) -> None:
    engine = make_call_engine()
    call_id = engine.start_call()
    before = scrape()
    result = engine.handle_turn(call_id, speaker="customer", text="我的信用卡丢了怎么办")
    assert result.suggestion is not None
    mid = scrape()
    for stage in ("reading", "retrieve", "rank", "answer", "next_steps", "store"):
        assert moved(mid, before, f"{STAGE}_count", stage=stage) == 1, stage
        assert moved(mid, before, f"{STAGE}_sum", stage=stage) > 0, stage
    assert moved(mid, before, f"{STAGE}_count", stage="alerts") == 0  # a customer's words are not checked
    assert moved(mid, before, "assist_turn_duration_seconds_count", speaker="customer") == 1
    assert moved(mid, before, "assist_suggestion_latency_seconds_count") == 1

    result = engine.handle_turn(call_id, speaker="agent", text="这款理财保本保息")
    assert [a.action for a in result.alerts] == ["block"]
    after = scrape()
    for stage, n in {"alerts": 1, "reading": 1, "store": 1, "retrieve": 0, "answer": 0}.items():
        assert moved(after, mid, f"{STAGE}_count", stage=stage) == n, stage
    assert moved(after, mid, "assist_turn_duration_seconds_count", speaker="agent") == 1
    assert moved(after, mid, "assist_alerts_total", action="block") == 1


def test_interim_turns_and_refused_turns_observe_no_stage(make_call_engine: Callable[..., CallEngine]) -> None:
    engine = make_call_engine()
    call_id = engine.start_call()
    before = scrape()
    engine.handle_turn(call_id, speaker="customer", text="我的信用卡", final=False)
    after = scrape()
    assert sum(moved(after, before, f"{STAGE}_count", stage=s) for s in ("reading", "store", "retrieve")) == 0
    assert moved(after, before, "assist_turns_total", speaker="customer") == 0
