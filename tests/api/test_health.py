"""/healthz is liveness, /readyz readiness; /metrics speaks Prometheus; OpenAPI is served."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.utils.metrics import parse, value


def test_healthz_is_liveness_with_the_guard_status_and_readyz_waits_for_the_lifespan(make_app) -> None:
    app = make_app()
    cold = TestClient(app)  # not entered: the lifespan has not run
    r = cold.get("/healthz")
    assert r.status_code == 200  # the process runs: alive, though not ready
    assert r.json()["status"] == "starting" and r.json()["guard"]["ready"] is False
    r = cold.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "not ready"
    assert {k for k, c in r.json()["checks"].items() if not c["ok"]} == {"database", "indexes", "guard"}
    with TestClient(app) as warm:
        r = warm.get("/healthz")
        assert r.status_code == 200
        assert r.json()["status"] == "ok" and r.json()["guard"]["ready"] is True
        assert warm.get("/readyz").status_code == 200


def test_metrics_count_turns_suggestions_and_alerts(client, agent, call_id) -> None:
    before = parse(client.get("/metrics").text)
    client.post(
        f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "customer", "text": "我的信用卡丢了怎么办"}
    )
    client.post(f"/v1/calls/{call_id}/utterances", headers=agent, json={"speaker": "agent", "text": "这款理财保本保息"})
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    after = parse(r.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("assist_turns_total", speaker="customer") == 1
    assert moved("assist_turns_total", speaker="agent") == 1
    assert moved("assist_alerts_total", action="block") == 1
    assert moved("assist_suggestions_total", source="extractive") == 1
    assert "# TYPE assist_suggestion_latency_seconds histogram" in r.text  # was assist_suggestion_latency_ms
    assert moved("assist_suggestion_latency_seconds_count") == 1
    assert moved("assist_suggestion_latency_seconds_bucket", le="+Inf") == 1


def test_openapi_describes_the_call_routes(client) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/calls",
        "/v1/calls/{call_id}/utterances",
        "/v1/calls/{call_id}/end",
        "/v1/calls/{call_id}",
        "/v1/suggestions/{suggestion_id}/feedback",
        "/v1/guard/check",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    assert spec["paths"]["/v1/calls"]["post"]["description"]
    assert client.get("/docs").status_code == 200


def test_healthz_says_whether_the_turn_model_runs_and_why_not(make_app) -> None:
    from fastapi.testclient import TestClient as Client

    with Client(make_app()) as c:  # the fake knowledge has no e5 encoder: keywords only, and /healthz says so
        body = c.get("/healthz").json()
    assert body["turn_model"]["ready"] is False and "e5" in body["turn_model"]["reason"]


def test_readyz_names_indexes_not_loaded_alone(client) -> None:
    knowledge = client.app.state.knowledge
    client.app.state.knowledge = None  # a server whose knowledge base is not (yet) there
    try:
        r = client.get("/readyz")
    finally:
        client.app.state.knowledge = knowledge
    assert r.status_code == 503
    assert {k for k, c in r.json()["checks"].items() if not c["ok"]} == {"indexes"}
    assert r.json()["detail"] == "indexes: the indexes are not loaded yet"
    assert client.get("/readyz").status_code == 200


def test_readyz_names_a_guard_without_rules_alone(client) -> None:
    client.app.state.guard_holder.fail("the rules could not be read (test)")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert {k for k, c in r.json()["checks"].items() if not c["ok"]} == {"guard"}
    assert r.json()["detail"] == "guard: the rules could not be read (test)"
