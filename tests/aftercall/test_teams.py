"""Agents' teams: a key's team is stored with each call it starts, and QA scores, scorecards and first-contact
resolution are grouped by it (`GET /v1/qa/summary?group=team`, the scorecards list, the CSV, /metrics)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.errors import InvalidInputError, NotFoundError
from assist.models.keys import Role
from assist.security.keys import create_key, hash_key, lookup_key, set_team
from tests.utils.api import bearer
from tests.utils.metrics import parse, value

LOSS = [("agent", "您好，海港银行。"), ("customer", "我的信用卡丢了"), ("agent", "请问还有其他问题吗？再见。")]
UNCORRECTED = [
    ("agent", "Hello, Harbor Bank."),
    ("customer", "Is the fund a good investment?"),
    ("agent", "It is a guaranteed return, do not worry."),
    ("agent", "Goodbye."),
]


def _key(client: TestClient, name: str, team: str | None) -> dict[str, str]:
    with Session(client.app.state.db_engine) as session:  # type: ignore[attr-defined]
        _, key = create_key(session, role=Role.agent, name=name, team=team)
    return bearer(key)


def _play(client: TestClient, headers: dict[str, str], turns: list[tuple[str, str]], **start: str) -> str:
    r = client.post("/v1/calls", headers=headers, json=start or None)
    assert r.status_code == 201, r.text
    call_id = str(r.json()["call_id"])
    for speaker, text in turns:
        r = client.post(f"/v1/calls/{call_id}/utterances", headers=headers, json={"speaker": speaker, "text": text})
        assert r.status_code == 200, r.text
    assert client.post(f"/v1/calls/{call_id}/end", headers=headers).status_code == 200
    r = client.get(f"/v1/calls/{call_id}/scorecard", headers=headers)  # scored (and repeat contacts linked)
    assert r.status_code == 200, r.text
    return call_id


@pytest.fixture
def teams(client: TestClient) -> dict[str, dict[str, str]]:
    return {
        "ann": _key(client, "ann", "Cards North"),
        "bob": _key(client, "bob", "Cards North"),
        "cat": _key(client, "cat", "Wealth"),
        "dan": _key(client, "dan", None),
    }


def test_scores_are_grouped_by_the_agents_team(client: TestClient, keys: dict, teams: dict) -> None:
    _play(client, teams["ann"], LOSS)
    _play(client, teams["bob"], UNCORRECTED)  # a critical failure: 0
    _play(client, teams["cat"], LOSS)
    _play(client, teams["dan"], LOSS)
    summary = client.get("/v1/qa/summary?group=team", headers=keys["compliance"]).json()
    assert summary["group"] == "team"
    per = {r["group"]: r for r in summary["scores"]}
    assert set(per) == {"Cards North", "Wealth", "(no team)"}
    assert per["Cards North"]["calls"] == 2 and per["Cards North"]["lowest"] == 0.0
    assert per["Wealth"]["calls"] == 1 and per["Wealth"]["average_score"] > 0
    assert {"group", "week", "calls", "average_score", "lowest"} <= set(per["Wealth"])  # the shape kept


def test_scorecards_and_csv_carry_the_team_and_agents_still_see_only_their_own(
    client: TestClient, keys: dict, teams: dict
) -> None:
    ann = _play(client, teams["ann"], LOSS)
    cat = _play(client, teams["cat"], LOSS)
    listed = {c["call_id"]: c["team"] for c in client.get("/v1/qa/scorecards", headers=keys["compliance"]).json()}
    assert listed == {ann: "Cards North", cat: "Wealth"}
    own = client.get("/v1/qa/scorecards", headers=teams["ann"]).json()
    assert [c["call_id"] for c in own] == [ann]  # not a teammate's or another team's
    assert client.get("/v1/qa/summary?group=team", headers=teams["ann"]).status_code == 403
    rows = list(csv.DictReader(io.StringIO(client.get("/v1/qa/export", headers=keys["compliance"]).text)))
    assert {(r["call_id"], r["team"]) for r in rows} == {(ann, "Cards North"), (cat, "Wealth")}


def test_a_call_keeps_the_team_it_was_started_in(client: TestClient, keys: dict, teams: dict) -> None:
    before = _play(client, teams["dan"], LOSS)
    plaintext = teams["dan"]["Authorization"].removeprefix("Bearer ")
    with Session(client.app.state.db_engine) as session:  # type: ignore[attr-defined]
        dan = lookup_key(session, plaintext)
        assert dan is not None
        set_team(session, key_id=dan.id, team="Wealth")
    client.app.state.security.keys.fetch(hash_key(plaintext))  # what the gate does within ASSIST_KEY_RECHECK_S
    after = _play(client, teams["dan"], LOSS)
    listed = {c["call_id"]: c["team"] for c in client.get("/v1/qa/scorecards", headers=keys["compliance"]).json()}
    assert listed[before] is None
    assert listed[after] == "Wealth"
    audit = client.get("/v1/audit?action=key.team", headers=keys["admin"]).json()
    assert audit[-1]["before"]["team"] is None and audit[-1]["after"]["team"] == "Wealth"


def test_first_contact_resolution_per_team_in_the_summary_and_metrics(
    client: TestClient, keys: dict, teams: dict
) -> None:
    _play(client, teams["ann"], LOSS, customer_ref="CUST-1")
    _play(client, teams["cat"], LOSS, customer_ref="CUST-1")  # the same matter again: ann's call not resolved
    _play(client, teams["bob"], LOSS, customer_ref="CUST-2")
    fcr = {r["group"]: r for r in client.get("/v1/qa/summary?group=team", headers=keys["compliance"]).json()["fcr"]}
    assert (fcr["Cards North"]["calls"], fcr["Cards North"]["resolved"]) == (2, 1)
    assert (fcr["Wealth"]["calls"], fcr["Wealth"]["resolved"]) == (1, 1)
    samples = parse(client.get("/metrics").text)
    assert value(samples, "assist_fcr_team_calls", team="Cards North") == 2
    assert value(samples, "assist_fcr_team_ratio", team="Cards North") == 0.5
    assert value(samples, "assist_fcr_team_ratio", team="Wealth") == 1.0
    assert value(samples, "assist_fcr_ratio", topic="card_loss") == round(2 / 3, 4)  # per topic as before


def test_a_team_name_is_checked(client: TestClient) -> None:
    with Session(client.app.state.db_engine) as session:  # type: ignore[attr-defined]
        for bad in ("", "   ", "x" * 65, "north\nsouth"):
            with pytest.raises(InvalidInputError, match="team"):
                create_key(session, role=Role.agent, name="eve", team=bad)
        row, _ = create_key(session, role=Role.agent, name="eve", team="  Cards   South ")
        assert row.team == "Cards South"
        with pytest.raises(NotFoundError):
            set_team(session, key_id="nope", team="x")
        assert set_team(session, key_id=row.id, team=None).team is None


def test_keys_cli_creates_lists_and_changes_teams() -> None:
    from typer.testing import CliRunner

    from assist.cli import _register, app

    _register()
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--role", "agent", "--name", "ann", "--team", "Cards North"])
    assert r.exit_code == 0, r.output
    line = next(x for x in runner.invoke(app, ["keys", "list"]).output.splitlines() if " ann " in x)
    assert "Cards North" in line
    key_id = line.split()[0]
    r = runner.invoke(app, ["keys", "team", key_id, "Wealth"])
    assert r.exit_code == 0 and "team Wealth" in r.output, r.output
    r = runner.invoke(app, ["keys", "team", key_id, "--none"])
    assert r.exit_code == 0 and "team -" in r.output, r.output
    bad = runner.invoke(app, ["keys", "create", "--role", "agent", "--name", "bo", "--team", " "])
    assert bad.exit_code == 2 and "team must be 1 to 64 characters" in bad.output
    assert runner.invoke(app, ["keys", "team", key_id]).exit_code == 2  # neither a team nor --none
    missing = runner.invoke(app, ["keys", "team", "nope", "x"])
    assert missing.exit_code == 1 and "nope" in missing.output
