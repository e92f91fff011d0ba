"""Many replicas, one truth (issue #18): real calls through nginx to three replicas on one PostgreSQL database,
one replica SIGKILLed in the middle of the run (the layout: tests/cluster/conftest.py).

20 calls at once, 26 turns each (520 turns): the connector's POSTs and the panel's socket land on whichever
replica the balancer picks. Then: no turn lost or stored twice, every panel shown every turn's messages in
order, the calls carried on by the survivors, and a rule change and a document retirement in force on every
replica still running.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import create_engine, text

from benchmarks.cluster import LocalCluster
from tests.cluster.conftest import CALLS, Keys
from tests.cluster.drive import DEADLINE_S, TURNS_PER_CALL, Run, drive, marker

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

KILLED = 2  # the replica SIGKILLed in the middle of the run
QUESTION = "我的信用卡丢了怎么办？"


@pytest.fixture(scope="module")
def run(cluster: tuple[LocalCluster, Keys]) -> Run:
    """The 20 calls, with replica 2 killed once 40% of the turns were answered."""
    lc, keys = cluster
    return asyncio.run(drive(lc.base_url, keys.agents[:CALLS], lc.replicas[KILLED].kill))


def stored_turns(lc: LocalCluster, call_ids: list[str]) -> dict[str, list[tuple[int, str]]]:
    """(turn, text) of each call, as the database holds them, in turn order."""
    engine = create_engine(lc.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT call_id, turn, text FROM turn WHERE call_id = ANY(:ids) ORDER BY call_id, turn"),
                {"ids": call_ids},
            ).all()
    finally:
        engine.dispose()
    out: dict[str, list[tuple[int, str]]] = {c: [] for c in call_ids}
    for call_id, turn, said in rows:
        out[call_id].append((int(turn), str(said)))
    return out


def test_every_call_ran_to_the_end_through_the_kill(run: Run) -> None:
    assert [(c.index, c.error) for c in run.calls if c.error] == []
    assert all(c.posted_all and c.ended for c in run.calls)
    assert run.answered() == CALLS * TURNS_PER_CALL >= 500
    assert 0 < run.answered_before_kill < run.answered()  # the kill fell in the middle of the run


def test_no_turn_is_lost_or_stored_twice(cluster: tuple[LocalCluster, Keys], run: Run) -> None:
    lc, _ = cluster
    stored = stored_turns(lc, [c.call_id for c in run.calls])
    for c in run.calls:
        turns = stored[c.call_id]
        assert [t for t, _ in turns] == list(range(1, TURNS_PER_CALL + 1)), f"call {c.index}: turn numbers"
        tags = Counter(w for _, said in turns for w in said.split() if w.startswith("ref"))
        assert tags == Counter(marker(c.index, i) for i in range(TURNS_PER_CALL)), f"call {c.index}: utterances"
        # in the order the connector said them (it waits for each answer): turn n is its n-th utterance
        assert all(marker(c.index, t - 1) in said for t, said in turns), f"call {c.index}: order"


def test_the_connector_was_answered_once_per_turn_in_order(run: Run) -> None:
    for c in run.calls:
        assert [r.turn for r in c.answers] == list(range(1, TURNS_PER_CALL + 1)), f"call {c.index}"
    assert sum(c.retries for c in run.calls) > 0, "no POST was cut off by the kill: the retries were not exercised"


def test_posts_and_sockets_landed_on_different_replicas(cluster: tuple[LocalCluster, Keys], run: Run) -> None:
    lc, _ = cluster
    log = lc.upstream_log()
    for c in run.calls:
        mine = [x for x in log if c.call_id in x.path and x.upstreams]
        posts = {x.upstreams[-1] for x in mine if x.method == "POST" and x.path.endswith("/utterances")}
        sockets = {x.upstreams[-1] for x in mine if x.method == "GET" and x.path.endswith("/stream")}
        assert len(posts) >= 2, f"call {c.index}: every POST on one replica {posts}"
        assert sockets and posts - sockets, f"call {c.index}: no POST on another replica than its socket"


def test_the_calls_carried_on_on_the_survivors(cluster: tuple[LocalCluster, Keys], run: Run) -> None:
    lc, _ = cluster
    dead = lc.replicas[KILLED]
    assert not dead.alive()
    survivors = {r.address for r in lc.replicas if r is not dead}
    for c in run.calls:
        assert any(t > run.killed_at for t in c.answered_at), f"call {c.index}: no turn after the kill"
    # the balancer's log: every turn answered once the kill was a second old came from a survivor
    late = [
        x.upstreams[-1]
        for x in lc.upstream_log()
        if x.method == "POST" and x.status == 200 and x.path.endswith("/utterances") and x.at > run.killed_at + 1
    ]
    assert late and set(late) <= survivors
    assert sum(c.reconnects for c in run.calls) > 0, "no panel was on the killed replica"


def test_every_panel_got_every_message_in_order(run: Run) -> None:
    for c in run.calls:
        # a replay's checklist is the one as of the last turn the replay covers
        assert all(turn == through for turn, through in c.snapshots), f"call {c.index}: {c.snapshots}"
        expected = c.expected()
        assert expected, f"call {c.index}: nothing to show"
        assert c.received == expected, (
            f"call {c.index}: missing {sorted(set(expected) - set(c.received))[:10]}, "
            f"duplicated {[k for k, n in Counter(c.received).items() if n > 1][:10]}, reconnects {c.reconnects}"
        )


# --- changes reach every replica ------------------------------------------------------------------------------
def survivors(lc: LocalCluster) -> list[str]:
    return [r.url for r in lc.replicas if r.alive()]


def wait_on_every(urls: list[str], check: Callable[[str], bool], what: str) -> dict[str, float]:
    """Poll `check(url)` on each replica until true (deadline DEADLINE_S); seconds it took, per replica."""
    t0 = time.monotonic()
    took: dict[str, float] = {}
    pending = list(urls)
    while pending:
        for url in list(pending):
            if check(url):
                took[url] = round(time.monotonic() - t0, 2)
                pending.remove(url)
        if pending and time.monotonic() - t0 > DEADLINE_S:
            raise AssertionError(f"{what}: not on {pending} after {DEADLINE_S:g} s")
        if pending:
            time.sleep(0.1)  # polling a condition, with a deadline
    return took


def test_a_rule_added_through_the_balancer_blocks_on_every_replica(cluster: tuple[LocalCluster, Keys]) -> None:
    lc, keys = cluster
    phrase = "moon guaranteed tomorrow"
    said = f"This stock will go to the {phrase}."
    urls = survivors(lc)
    assert len(urls) >= 2

    def verdict(url: str) -> str:
        r = httpx.post(
            f"{url}/v1/guard/check",
            json={"text": said, "speaker": "agent"},
            headers={"Authorization": f"Bearer {keys.compliance}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["action"])

    assert {verdict(u) for u in urls} == {"allow"}
    rule = {
        "id": "cluster_moon",
        "category": "performance_prediction",
        "severity": "block",
        "languages": ["en"],
        "phrases": [phrase],
        "advice": "Do not predict prices.",
        "source": "cluster test",
    }
    r = httpx.post(
        f"{lc.base_url}/v1/rules", json=rule, headers={"Authorization": f"Bearer {keys.compliance}"}, timeout=60
    )
    assert r.status_code == 201, r.text
    wait_on_every(urls, lambda u: verdict(u) == "block", "the new rule")


def test_a_document_retired_through_the_balancer_is_cited_by_no_replica(cluster: tuple[LocalCluster, Keys]) -> None:
    lc, keys = cluster
    urls = survivors(lc)
    agent = {"Authorization": f"Bearer {keys.agents[-1]}"}

    def cited(url: str) -> set[str]:
        with httpx.Client(base_url=url, headers=agent, timeout=60) as http:
            call_id = http.post("/v1/calls").json()["call_id"]
            r = http.post(f"/v1/calls/{call_id}/utterances", json={"speaker": "customer", "text": QUESTION})
            assert r.status_code == 200, r.text
            suggestion = r.json().get("suggestion") or {}
            return {str(c["document_id"]) for c in suggestion.get("citations", [])}

    before = [cited(u) for u in urls]
    assert all(before), "the question cites a document on every replica"
    document_id = sorted(before[0])[0]
    r = httpx.post(
        f"{lc.base_url}/v1/documents/{document_id}/retire",
        headers={"Authorization": f"Bearer {keys.editor}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    wait_on_every(urls, lambda u: document_id not in cited(u), "the retirement")
