"""The document router: which policy a turn is about, from its e5 vector, the previous turn's, the agent's last
turn's and the region.

Its file is validated (a bad one leaves the ranking alone, with a log line), the setting turns it off, the choice
needs a document the router knows and the retrieval found, and the engine puts the routed document first without
showing the same passage twice in a row. Sentences here are written for these tests; none comes from a natural-call
set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO

import numpy as np
import pytest

from assist.calls.doc_route import (
    GATE_BONUS,
    MIN_PROBABILITY,
    MORE_PIN_PROBABILITY,
    PIN_PROBABILITY,
    REGIONS,
    ROUTER_FILE,
    DocumentRouter,
    PreviousTurns,
    TitledPassages,
    choose,
    features,
    load_router,
    pinned,
    sure,
)
from assist.calls.engine import CallEngine
from assist.calls.rank import Ranking
from assist.calls.state import CallState
from assist.config import Settings
from tests.fakes import search_result

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "kb_docs" / "playbooks" / ROUTER_FILE
DIM = 4


def _router(prefer: dict[str, np.ndarray], bias: dict[str, float] | None = None) -> DocumentRouter:
    """A router whose logit for a title is its direction · the turn's vector (+ bias)."""
    titles = tuple(prefer)
    w = np.zeros((len(titles), 3 * DIM + len(REGIONS)), np.float32)
    for i, t in enumerate(titles):
        w[i, :DIM] = prefer[t]
    b = np.array([(bias or {}).get(t, 0.0) for t in titles], np.float32)
    return DocumentRouter(titles, w, b)


E1, E2, E3 = (np.eye(DIM, dtype=np.float32)[i] for i in range(3))


def test_features_are_the_turn_half_the_previous_turn_half_the_agents_turn_and_the_region() -> None:
    x = features(E1, E2, "HK", E3)
    assert x.shape == (3 * DIM + len(REGIONS),)
    assert x[:DIM].tolist() == E1.tolist()
    assert x[DIM : 2 * DIM].tolist() == (0.5 * E2).tolist()
    assert x[2 * DIM : 3 * DIM].tolist() == (0.5 * E3).tolist()
    assert x[3 * DIM :].tolist() == [0.0, 1.0, 0.0]
    first = features(E1, None, None)
    assert not first[DIM : 3 * DIM].any(), "no previous turn, no agent turn: zeros"
    assert first[3 * DIM :].tolist() == [1.0, 0.0, 0.0]
    assert features(E1, None, "MO")[3 * DIM :].tolist() == [1.0, 0.0, 0.0], "an unknown region is served as mainland"


def test_what_the_agent_just_said_moves_an_elliptical_reply() -> None:
    # a reply that says little on its own ("how much?") leans on the agent's turn before it
    w = np.zeros((2, 3 * DIM + len(REGIONS)), np.float32)
    w[0, 2 * DIM : 3 * DIM] = 8 * E1  # "Card loss" when the agent talked about card loss
    w[1, 2 * DIM : 3 * DIM] = 8 * E2
    router = DocumentRouter(("Card loss", "Transfers"), w, np.zeros(2, np.float32))
    assert router.probabilities(E3, None, None, agent=E1)["Card loss"] > 0.9
    assert router.probabilities(E3, None, None, agent=E2)["Transfers"] > 0.9
    assert router.probabilities(E3, None, None)["Card loss"] == pytest.approx(0.5), "no agent turn: no lean"
    assert router.probabilities(E3, None, None, agent=np.ones(DIM + 1, np.float32)) == {}, "another encoder's"


def test_probabilities_follow_the_turn_and_sum_to_one() -> None:
    router = _router({"Card loss": 5 * E1, "Cooling-off": 5 * E2})
    p = router.probabilities(E2, None, None)
    assert set(p) == {"Card loss", "Cooling-off"}
    assert sum(p.values()) == pytest.approx(1.0)
    assert p["Cooling-off"] > 0.9
    assert router.dim == DIM
    assert router.probabilities(np.ones(DIM + 1, np.float32), None, None) == {}, "another encoder's vector"


def test_choose_keeps_the_gated_document_unless_the_router_is_clearly_surer_of_another_found_one() -> None:
    # the gate bonus is worth a factor e in probability
    route = {"A": 0.3, "B": 0.7}
    assert choose(route, passed=["A"], found=["A", "B"]) == "A", "0.7 < 0.3·e: the gated document stays"
    route = {"A": 0.05, "B": 0.95}
    assert choose(route, passed=["A"], found=["A", "B"]) == "B"
    assert choose(route, passed=["A"], found=["A"]) == "A", "a document the retrieval did not find is never chosen"
    assert choose({"X": 1.0}, passed=["A"], found=["A", "B"]) is None, "the router knows none of them"
    unsure = {"A": 0.01, "B": 0.2, "C": 0.79}
    assert choose(unsure, passed=["A"], found=["A", "B"]) is None, f"B is below {MIN_PROBABILITY}: the ranking stays"
    assert GATE_BONUS > 0


def test_the_file_round_trips_and_keeps_its_metadata(tmp_path: Path) -> None:
    router = _router({"A": E1, "B": E2}, {"A": 0.5})
    router = DocumentRouter(router.titles, router.weights, router.bias, {"trained_on": ["set1"]})
    path = tmp_path / ROUTER_FILE
    router.save(path)
    back = load_router(path)
    assert back is not None
    assert back.titles == ("A", "B")
    assert np.array_equal(back.weights, router.weights)
    assert back.meta == {"trained_on": ["set1"]}


@pytest.mark.parametrize(
    ("write", "reason"),
    [
        (lambda fh: fh.write(b"not an npz"), "not a document router file"),
        (lambda p: np.savez(p, header=np.array('{"format": "other", "version": 1}')), "not a assist-document-router"),
        (
            lambda p: np.savez(
                p,
                header=np.array('{"format": "assist-document-router", "version": 2, "titles": ["A", "B"]}'),
                weights=np.zeros((3, 11), np.float32),
                bias=np.zeros(3, np.float32),
            ),
            "do not match",
        ),
        (  # a router of version 1 (trained without the agent's turn) is retrained, not misread
            lambda p: np.savez(
                p,
                header=np.array('{"format": "assist-document-router", "version": 1, "titles": ["A", "B"]}'),
                weights=np.zeros((2, 2 * DIM + len(REGIONS)), np.float32),
                bias=np.zeros(2, np.float32),
            ),
            "not a assist-document-router v2",
        ),
    ],
)
def test_a_corrupt_or_mismatched_file_leaves_the_ranking_alone_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, write: Callable[[BinaryIO], object], reason: str
) -> None:
    path = tmp_path / ROUTER_FILE
    with path.open("wb") as fh:
        write(fh)
    with caplog.at_level(logging.WARNING, logger="assist.calls.doc_route"):
        assert load_router(path) is None
    assert any(reason in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_the_shipped_router_loads_and_knows_the_sample_policies() -> None:
    router = load_router(SHIPPED)
    assert router is not None
    assert router.dim == 384, "the e5 vector the engine computes every turn"
    assert router.meta.get("trained_on"), "the file says what it was trained on"
    assert len(router.titles) >= 15


def test_the_engine_routes_by_default_and_not_when_the_setting_is_off(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    assert make_call_engine(settings=Settings(data_dir=tmp_path)).suggester.router is not None
    off = make_call_engine(settings=Settings(data_dir=tmp_path, document_router="off"))
    assert off.suggester.router is None
    gone = make_call_engine(settings=Settings(data_dir=tmp_path, document_router_path=tmp_path / "gone.npz"))
    assert gone.suggester.router is None


DISPUTE = search_result("dispute", "A dispute is raised within 60 days.", section="Time limits", score=1.0)
COOLING = search_result("cooling", "You may cancel within 21 days.", section="Cooling-off", score=0.4)
COOLING_2 = search_result("cooling", "The premium is refunded in full.", section="Refund", score=0.3)


def _titles(ranking: Ranking) -> list[str]:
    return [r.title for r in ranking.results]


def test_the_engine_puts_the_routed_document_first_with_its_retrieved_passages(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    stage = make_call_engine(settings=Settings(data_dir=tmp_path)).suggester
    stage.router = _router({DISPUTE.title: 8 * E1, COOLING.title: 8 * E2})
    state = CallState(call_id="c1")
    gated = Ranking([DISPUTE])
    retrieved = [DISPUTE, COOLING, COOLING_2]
    routed = stage._routed(state, gated, retrieved, E2)
    assert _titles(routed) == [COOLING.title, COOLING.title, DISPUTE.title]
    # the turn about disputes keeps its document; the previous turn (E2) is read at half weight
    assert _titles(stage._routed(state, gated, retrieved, E1)) == [DISPUTE.title]
    # the passage shown last is not shown first again
    state.last_top_chunk = COOLING.chunk_id
    assert [r.chunk_id for r in stage._routed(state, gated, retrieved, E2).results][0] == COOLING_2.chunk_id
    # without the turn's vector (keywords only) nothing changes
    assert stage._routed(state, gated, retrieved, None) is gated


def test_previous_turns_are_kept_per_call_bounded_and_forgotten() -> None:
    prev = PreviousTurns(max_calls=2)
    prev.put("a", E1)
    prev.put("b", E2)
    prev.put("c", E3)
    assert prev.get("a") is None, "the oldest call is dropped"
    assert prev.get("c") is E3
    prev.put_agent("c", E1)
    assert prev.agent("c") is E1
    prev.put_agent("c", None)
    assert prev.agent("c") is None, "an agent turn not read by meaning leaves no context"
    prev.put_agent("c", E2)
    prev.forget("c")
    assert prev.get("c") is None
    assert prev.agent("c") is None
    with pytest.raises(ValueError, match="positive"):
        PreviousTurns(0)


class _Dense:
    def __init__(self, vectors: dict[int, np.ndarray]) -> None:
        self.vectors = vectors

    def vectors_for(self, ids: list[int]) -> np.ndarray:
        return np.stack([self.vectors[i] for i in ids])


def _index() -> SimpleNamespace:
    from ingest.indexes import ChunkMeta

    def meta(cid: int, title: str, section: str, tags: list[str] | None = None) -> ChunkMeta:
        return ChunkMeta(cid, title, title, section, 1, f"{section} text", "en", tags=tags or [])

    chunks = {
        1: meta(1, "Cooling-off", "Scope"),
        2: meta(2, "Cooling-off", "How to cancel"),
        3: meta(3, "HK cooling-off", "Cancel", ["region_hk"]),
    }
    return SimpleNamespace(chunks=chunks, dense={"e5": _Dense({1: E1, 2: E2, 3: E2})})


def test_a_document_the_router_is_sure_of_comes_first_with_its_closest_passages_though_not_retrieved(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    stage = make_call_engine(settings=Settings(data_dir=tmp_path)).suggester
    index = _index()
    stage.retrieval = SimpleNamespace(retriever=SimpleNamespace(index=index))  # type: ignore[assignment]
    stage.router = _router({DISPUTE.title: 8 * E1, "Cooling-off": 8 * E2, "HK cooling-off": 7 * E2})
    gated = Ranking([DISPUTE])
    routed = stage._routed(CallState(call_id="c2"), gated, [DISPUTE], E2)
    assert [(r.title, r.section) for r in routed.results][:2] == [
        ("Cooling-off", "How to cancel"),
        ("Cooling-off", "Scope"),
    ]
    assert routed.results[-1] is DISPUTE
    assert TitledPassages().branch_of(index, "HK cooling-off", None), "another branch's policy for a mainland caller"
    assert not TitledPassages().branch_of(index, "HK cooling-off", "HK")
    assert sure({"A": 0.4, "B": 0.6}, lambda t: t != "B") is None, "only a title the caller's region allows"
    assert sure({"A": 0.4, "B": 0.6}, lambda t: True) == "B"


def test_a_need_the_gate_left_empty_is_answered_from_a_document_the_router_is_sure_of_and_a_social_turn_is_not(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    stage = make_call_engine(settings=Settings(data_dir=tmp_path)).suggester
    stage.retrieval = SimpleNamespace(retriever=SimpleNamespace(index=_index()))  # type: ignore[assignment]
    stage.router = _router({DISPUTE.title: 8 * E1, "Cooling-off": 8 * E2, "Other": 8 * E3})
    empty = Ranking([])
    assert stage._routed(CallState(call_id="c3"), empty, [DISPUTE], E2) is empty, "not a need: nothing"
    routed = stage._routed(CallState(call_id="c4"), empty, [DISPUTE], E2, need=True)
    assert [r.title for r in routed.results] == ["Cooling-off", "Cooling-off"]
    unsure = stage._routed(CallState(call_id="c5"), empty, [DISPUTE], 0.3 * (E1 + E2), need=True)
    assert unsure is empty, "a router unsure of the turn adds nothing"


def test_the_sentence_router_pins_its_sentences_only_when_sure_and_in_the_document_cited_first(tmp_path: Path) -> None:
    router = DocumentRouter(
        ("Cancel within 21 days.", "Fees are HK$50.", "Premiums are refunded.", "Write to the insurer."),
        np.zeros((4, 3 * DIM + len(REGIONS)), np.float32),
        np.zeros(4, np.float32),
        documents=("Cooling-off", "Card loss", "Cooling-off", "Cooling-off"),
    )
    route = {"Cancel within 21 days.": 0.6, "Fees are HK$50.": 0.3, "Premiums are refunded.": 0.08}
    route["Write to the insurer."] = MORE_PIN_PROBABILITY / 2
    assert pinned(router, route, "Cooling-off") == ("Cancel within 21 days.", "Premiums are refunded."), (
        "the next best sentence of the same document joins it, another document's does not, an unsure one does not"
    )
    assert pinned(router, route, "Card loss") == (), "its best sentence is another document's"
    assert pinned(router, {"Cancel within 21 days.": PIN_PROBABILITY / 2}, "Cooling-off") == (), "unsure"
    path = tmp_path / "sentence_router.npz"
    router.save(path)
    back = load_router(path)
    assert back is not None and back.documents == router.documents
    with pytest.raises(ValueError, match="documents do not match"):
        DocumentRouter(router.titles, router.weights, router.bias, documents=("only one",))


def test_the_previous_turn_of_the_turn_being_answered_is_kept() -> None:
    prev = PreviousTurns(max_calls=4)
    prev.put("a", E1)
    assert prev.before("a") is None, "the first turn has none"
    prev.put("a", E2)
    assert prev.before("a") is E1
    prev.forget("a")
    assert prev.before("a") is None


def test_a_pinned_sentence_is_in_the_extractive_answer() -> None:
    from assist.calls.compose import ExtractiveComposer

    passage = search_result(
        "cooling",
        "The policy can be cancelled in writing. You may cancel within 21 days and get the premium back.",
        section="Cooling-off",
        language="en",
    )
    composer = ExtractiveComposer()
    pin = "You may cancel within 21 days and get the premium back."
    plain = composer.run(query="policy cancelled in writing", results=[passage], language="en")
    assert pin not in plain.answer, "shares no word with the question"
    led = composer.run(query="policy cancelled in writing", results=[passage], language="en", pins=(pin,))
    assert pin in led.answer


def test_a_pinned_sentence_is_found_in_a_passage_written_with_markdown() -> None:
    from assist.calls.doc_route import holds

    raw = "冷靜期為緊接**保單或冷靜期通知書**交付後起計的 **21 個曆日**，以較早者為準；\n- 取消須書面通知。"
    assert holds(raw, "冷靜期為緊接保單或冷靜期通知書交付後起計的 21 個曆日，以較早者為準；"), "bold removed"
    assert holds(raw, "取消須書面通知。"), "a list item"
    assert not holds(raw, "冷靜期為 14 日。")


def test_the_sentences_pinned_are_fetched_with_their_passages_when_the_retrieval_did_not_find_them(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    stage = make_call_engine(settings=Settings(data_dir=tmp_path)).suggester
    index = _index()
    stage.retrieval = SimpleNamespace(retriever=SimpleNamespace(index=index))  # type: ignore[assignment]
    # the index's passages of "Cooling-off" read "Scope text" and "How to cancel text"
    sentences = _router({"How to cancel text": 8 * E1, "Scope text": 7 * E1, "Cancel text": 2 * E1 + 9 * E2})
    stage.sentence_router = DocumentRouter(
        sentences.titles, sentences.weights, sentences.bias, documents=("Cooling-off", "Cooling-off", "HK cooling-off")
    )
    top = search_result("top", "Another sentence of the policy.", section="Fees", score=1.0)
    top = replace(top, title="Cooling-off")
    pins, passages = stage._pinned(CallState(call_id="p1"), [top], E1)
    assert pins == ("How to cancel text", "Scope text"), "its two best, both of the document cited first"
    assert [p.section for p in passages] == ["Fees", "How to cancel", "Scope"], "each fetched, after the first"
    assert stage._pinned(CallState(call_id="p2"), [top], E2)[0] == (), "its best sentence is another document's"


def _dated_index() -> SimpleNamespace:
    """A campaign that ended last year (its notice, its terms), one that starts next year, and a policy in force."""
    from datetime import date, timedelta

    from ingest.indexes import ChunkMeta

    past = (date.today() - timedelta(days=400)).isoformat()
    later = (date.today() + timedelta(days=30)).isoformat()

    def meta(cid: int, title: str, section: str, text: str, **dates: str) -> ChunkMeta:
        return ChunkMeta(cid, title, title, section, 1, text, "en", **dates)

    chunks = {
        1: meta(1, "Old cashback", "", "This campaign has ended. Kept for questions about it.", effective_to=past),
        2: meta(2, "Old cashback", "Terms", "Spend 500 abroad and get 8% back.", effective_to=past),
        3: meta(3, "Next cashback", "Terms", "Spend 300 abroad and get 5% back.", effective_from=later),
        4: meta(4, "Card fees", "Fees", "A replacement card costs 20.", effective_to=later),
    }
    vectors = {1: E1, 2: E2, 3: E2, 4: E3}
    return SimpleNamespace(chunks=chunks, dense={"e5": _Dense(vectors)}, past=past)


def test_a_document_that_has_ended_is_served_only_marked_with_its_last_day_and_one_not_yet_in_force_never() -> None:
    index = _dated_index()
    ended = TitledPassages().run(index, "Old cashback", E2, n=3, score=0.5)
    assert [(r.section, r.ended) for r in ended] == [("Terms", index.past), ("", index.past)]
    assert ended[0].citation()["ended"] == index.past, "the citation tells the panel it ended"
    assert TitledPassages().end_statements(index, "Old cashback") == ("This campaign has ended.",)
    assert TitledPassages().run(index, "Next cashback", E2, n=3, score=0.5) == [], "not yet in force: nothing"
    in_force = TitledPassages().run(index, "Card fees", E3, n=3, score=0.5)
    assert [r.ended for r in in_force] == [None] and "ended" not in in_force[0].citation()
    assert TitledPassages().end_statements(index, "Card fees") == (), "a document in force has no end to tell"
    assert TitledPassages(ended_documents=False).run(index, "Old cashback", E2, n=3, score=0.5) == []
    held = TitledPassages().holding(index, "Old cashback", "This campaign has ended.", score=0.5)
    assert held is not None and held.ended == index.past


def test_a_turn_the_router_is_sure_is_about_an_ended_document_gets_it_under_the_ended_notice(
    make_call_engine: Callable[..., CallEngine], tmp_path: Path
) -> None:
    from assist.calls.answer import ended_notice

    stage = make_call_engine(settings=Settings(data_dir=tmp_path)).suggester
    index = _dated_index()
    stage.retrieval = SimpleNamespace(retriever=SimpleNamespace(index=index))  # type: ignore[assignment]
    stage.router = _router({"Old cashback": 9 * E2, "Card fees": 9 * E3})
    fees = replace(DISPUTE, title="Card fees", chunk_id="4")
    routed = stage._routed(CallState(call_id="e1"), Ranking([fees]), [fees], E2, need=True)
    assert [(r.title, r.ended) for r in routed.results][:2] == [("Old cashback", index.past)] * 2
    assert routed.results[-1] is fees
    pins, _ = stage._pinned(CallState(call_id="e1"), routed.results, E2)
    assert pins[0] == "This campaign has ended.", "the document's own word that it ended leads the answer"
    assert ended_notice("zh-Hant", "2024-12-31").startswith("【已結束")
    assert "2024-12-31" in ended_notice("en", "2024-12-31")
