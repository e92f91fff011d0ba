"""/metrics: Prometheus text the official parser reads, named by the rules (assist_ prefix, base units, counters
in _total), with guard verdicts by action and layer, HTTP requests by route template, open sockets, calls in
progress and the notify lag the fan-out reports."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assist.compliance.guard import Guard
from assist.models.keys import Role
from assist.observability.metrics import observe_notify_lag
from tests.utils.api import bearer, new_key
from tests.utils.metrics import parse, value

RULES = Path(__file__).resolve().parents[2] / "kb_docs" / "rules"
NAME = re.compile(r"^assist_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NOT_BASE_UNITS = re.compile(r"_(ms|milliseconds|microseconds|minutes|hours|days|kilobytes|megabytes|percent)(_|$)")

EXPECTED = {
    "assist_calls_started": "counter",
    "assist_turns": "counter",
    "assist_suggestions": "counter",
    "assist_alerts": "counter",
    "assist_turn_errors": "counter",
    "assist_suggestion_latency_seconds": "histogram",
    "assist_turn_duration_seconds": "histogram",
    "assist_call_stage_duration_seconds": "histogram",
    "assist_guard_verdicts": "counter",
    "assist_http_requests": "counter",
    "assist_open_sockets": "gauge",
    "assist_notify_lag_seconds": "histogram",
    "assist_active_calls": "gauge",
    "assist_fcr_calls": "gauge",
    "assist_fcr_resolved": "gauge",
    "assist_fcr_ratio": "gauge",
}


def test_every_series_parses_and_follows_the_naming_rules(client, agent, call_id) -> None:
    client.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "customer", "text": "信用卡丢了"})
    client.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "agent", "text": "这款理财保本"})
    observe_notify_lag(0.01)
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text) if f.name.startswith("assist_")}
    assert {n: f.type for n, f in families.items() if n in EXPECTED} == EXPECTED
    for name, family in families.items():
        assert NAME.match(name), name
        assert family.documentation, f"{name} has no HELP"
        assert not NOT_BASE_UNITS.search(name), f"{name}: use base units (seconds, bytes, ratios)"
        samples = {s.name for s in family.samples}
        if family.type == "counter":
            assert samples <= {f"{name}_total"}, f"{name}: a counter's samples end in _total, got {samples}"
        else:
            assert not name.endswith("_total"), f"{name}: _total is for counters"
        if family.type == "histogram":
            assert name.endswith("_seconds"), f"{name}: the histograms here measure time, in seconds"


def test_guard_verdicts_are_counted_by_action_layer_and_speaker(make_app) -> None:
    with TestClient(make_app(guard=Guard.from_path(RULES))) as client:
        hdrs = bearer(new_key(client.app, Role.agent))  # type: ignore[arg-type]
        before = parse(client.get("/metrics").text)
        for text in ("这款理财保本保息", "这款理财保本保息", "您好，请问有什么可以帮您"):
            r = client.post("/v1/guard/check", headers=hdrs, json={"text": text, "speaker": "agent"})
            assert r.status_code == 200, r.text
        r = client.post("/v1/guard/check", headers=hdrs, json={"text": "是保本的吗", "speaker": "customer"})
        after = parse(client.get("/metrics").text)

    def moved(**labels: str) -> float:
        return value(after, "assist_guard_verdicts_total", **labels) - value(
            before, "assist_guard_verdicts_total", **labels
        )

    assert moved(action="block", layer="phrase", speaker="agent") == 2
    assert moved(action="allow", layer="none", speaker="agent") == 1
    assert moved(action="allow", layer="none", speaker="customer") == 1


def test_http_requests_are_counted_by_route_template_and_status(client, agent, call_id) -> None:
    before = parse(client.get("/metrics").text)
    assert client.post(f"/v1/calls/{call_id}/end", headers=agent).status_code == 200
    assert client.post("/v1/calls/another-call/end").status_code == 401  # refused before routing: still its route
    assert client.get("/v1/no/such/thing").status_code in (401, 404)
    after = parse(client.get("/metrics").text)

    def moved(**labels: str) -> float:
        return value(after, "assist_http_requests_total", **labels) - value(
            before, "assist_http_requests_total", **labels
        )

    end = "/v1/calls/{call_id}/end"
    assert moved(method="POST", route=end, status="200") == 1
    assert moved(method="POST", route=end, status="401") == 1
    assert not any(call_id in dict(labels).get("route", "") for _n, labels in after)  # never a concrete path
    assert sum(v for (n, labels), v in after.items() if dict(labels).get("route") == "(unmatched)") >= 1


def test_open_sockets_and_active_calls(client, agent) -> None:
    started = [client.post("/v1/calls", headers=agent).json()["call_id"] for _ in range(3)]
    client.post(f"/v1/calls/{started[0]}/end", headers=agent)
    samples = parse(client.get("/metrics").text)
    assert value(samples, "assist_active_calls") == 2  # from the database: the same on every replica
    sockets = value(samples, "assist_open_sockets")
    token = agent["Authorization"].split()[1]
    with client.websocket_connect(f"/v1/calls/{started[1]}/stream?token={token}"):
        assert value(parse(client.get("/metrics").text), "assist_open_sockets") == sockets + 1
    assert value(parse(client.get("/metrics").text), "assist_open_sockets") == sockets


def test_notify_lag_is_a_histogram_in_seconds(client) -> None:
    before = parse(client.get("/metrics").text)
    observe_notify_lag(0.2)
    observe_notify_lag(-0.003)  # two hosts' clocks a little apart: counted as no lag
    observe_notify_lag(float("nan"))  # ignored
    after = parse(client.get("/metrics").text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("assist_notify_lag_seconds_count") == 2
    assert moved("assist_notify_lag_seconds_bucket", le="0.001") == 1  # the negative one, as 0
    assert moved("assist_notify_lag_seconds_bucket", le="0.25") == 2
    assert abs(moved("assist_notify_lag_seconds_sum") - 0.2) < 1e-9


def test_metrics_need_no_key_and_show_no_database_figures_before_start(make_app) -> None:
    cold = TestClient(make_app())  # the lifespan has not run: no database, no indexes
    r = cold.get("/metrics")
    assert r.status_code == 200
    names = {f.name for f in text_string_to_metric_families(r.text)}
    assert "assist_turns" in names and "assist_active_calls" not in names
