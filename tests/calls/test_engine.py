"""The engine: multi-turn context, no repeats, prefetch, state in the database, redaction, bad input."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from assist.calls.engine import CallEngine
from assist.db import make_engine
from assist.errors import ConflictError, InvalidInputError, NotFoundError
from assist.models.calls import Suggestion, Turn
from assist.privacy import redact
from tests.fakes import FakeKnowledge, FakeRetriever


def top_doc(result) -> str:
    return result.suggestion.citations[0]["document_id"]


def test_elliptical_chinese_turn_finds_card_replacement(make_call_engine) -> None:
    e: CallEngine = make_call_engine()
    cid = e.start_call()
    first = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
    assert first.suggestion.citations[0]["chunk_id"] == "c1"
    second = e.handle_turn(cid, speaker="customer", text="那补卡要钱吗?")
    assert second.suggestion.citations[0]["chunk_id"] == "c2"
    assert "20 元" in second.suggestion.answer
    assert second.suggestion.query.startswith("我的信用卡丢了怎么办")


def test_what_about_the_fee_after_a_mortgage_question(make_call_engine) -> None:
    e = make_call_engine()
    cid = e.start_call()
    first = e.handle_turn(cid, speaker="customer", text="Can I repay my mortgage early?")
    assert first.suggestion.citations[0]["chunk_id"] == "c3"
    r = e.handle_turn(cid, speaker="customer", text="What about the fee?")
    assert r.suggestion.citations[0]["chunk_id"] == "c4"
    assert "1%" in r.suggestion.answer and r.suggestion.language == "en"


def test_never_the_same_top_passage_twice_in_a_row(make_call_engine) -> None:
    e = make_call_engine(
        knowledge=FakeKnowledge(FakeRetriever([p for p in FakeRetriever().passages if p.chunk_id == "c1"]))
    )
    cid = e.start_call()
    assert e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办").suggestion is not None
    assert e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办？").suggestion is None


def test_off_topic_question_gets_no_padding(make_call_engine) -> None:
    e = make_call_engine()
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="明天天气怎么样？")
    assert r.suggestion.source == "none" and r.suggestion.citations == []
    assert "没有找到" in r.suggestion.answer


def test_interim_text_prefetches(make_call_engine) -> None:
    retriever = FakeRetriever()
    e = make_call_engine(knowledge=FakeKnowledge(retriever))
    cid = e.start_call()
    assert e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办", final=False).turn is None
    assert len(retriever.queries) == 1
    r = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办", final=True)
    assert len(retriever.queries) == 1 and r.suggestion.timings.get("prefetched") == 1.0
    assert r.turn == 1


def test_state_survives_a_new_engine_on_the_same_database(make_call_engine, settings) -> None:
    db = make_engine(settings)
    e1 = make_call_engine(db_engine=db)
    cid = e1.start_call()
    e1.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
    e1.handle_turn(cid, speaker="agent", text="已核实您的身份")
    e2 = make_call_engine(db_engine=make_engine(settings))  # a restart: nothing in memory
    r = e2.handle_turn(cid, speaker="customer", text="那补卡要钱吗?")
    assert r.turn == 3 and r.suggestion.citations[0]["chunk_id"] == "c2"
    assert {s.id: s.done for s in r.next_steps}["verify_identity"] is True


def test_transcript_is_redacted_before_storage(make_call_engine, settings) -> None:
    e = make_call_engine(redactor=redact)  # the product's own redaction, not the fake
    cid = e.start_call()
    e.handle_turn(cid, speaker="customer", text="我的卡号是 6222 0212 3456 7890，身份证 11010519491231002X，卡丢了")
    with Session(e.db_engine) as s:
        stored = " ".join(t.text for t in s.exec(select(Turn)))
        stored += " ".join(x.query for x in s.exec(select(Suggestion)))
    assert "6222" not in stored and "11010519491231002X" not in stored
    assert "卡丢了" in stored


def test_bad_input(make_call_engine) -> None:
    e = make_call_engine()
    cid = e.start_call()
    with pytest.raises(InvalidInputError, match="empty"):
        e.handle_turn(cid, speaker="customer", text=" ")
    with pytest.raises(InvalidInputError, match="over the limit of 2000"):
        e.handle_turn(cid, speaker="customer", text="a" * 2001)
    with pytest.raises(InvalidInputError, match="robot"):
        e.handle_turn(cid, speaker="robot", text="hi")
    with pytest.raises(NotFoundError, match="nope"):
        e.handle_turn("nope", speaker="customer", text="hi")
    e.end_call(cid)
    with pytest.raises(ConflictError):
        e.handle_turn(cid, speaker="customer", text="还有一个问题")


def test_rule_changes_apply_from_the_next_turn(make_call_engine, fake_guard) -> None:
    from tests.fakes import FakeGuard

    current = {"guard": fake_guard}
    e = make_call_engine(guard=lambda: current["guard"])
    cid = e.start_call()
    assert not e.handle_turn(cid, speaker="agent", text="利率锁定不变").alerts
    current["guard"] = FakeGuard(extra_block={"利率锁定": "misleading"})
    assert e.handle_turn(cid, speaker="agent", text="利率锁定不变").alerts[0].action == "block"


def test_prefetch_survives_punctuation_added_by_the_final(make_call_engine) -> None:
    retriever = FakeRetriever()
    e = make_call_engine(knowledge=FakeKnowledge(retriever))
    cid = e.start_call()
    e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办", final=False)
    r = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了，怎么办？", final=True)
    assert len(retriever.queries) == 1 and r.suggestion.timings.get("prefetched") == 1.0


def test_parallel_retrievals_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from assist.config import Settings

    monkeypatch.setenv("ASSIST_MAX_PARALLEL_RETRIEVALS", "3")
    assert Settings().max_parallel_retrievals == 3
    monkeypatch.setenv("ASSIST_MAX_PARALLEL_RETRIEVALS", "0")
    with pytest.raises(ValidationError, match="max_parallel_retrievals"):
        Settings()


def test_asking_about_unknown_calls_leaves_nothing_behind(make_call_engine) -> None:
    # the reproducer: the engine kept a lock for every call id it was asked about, known or not
    e = make_call_engine()
    for i in range(10_000):  # 10,000 different ids, each asked about once in one of three ways
        cid = f"no-such-call-{i}"
        if i % 3 == 0:
            with pytest.raises(NotFoundError):
                e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
        elif i % 3 == 1:
            with pytest.raises(NotFoundError):
                e.end_call(cid)
        else:
            assert not e.store.exists(cid)
    assert len(e.store._locks) == 0
    assert len(e.store._states) == 0 and len(e.store._owners) == 0 and e.suggester.retrieval.pending() == 0


def test_per_call_maps_stay_bounded_and_ended_calls_let_go(make_call_engine) -> None:
    e = make_call_engine(max_cached_calls=50)
    ids = [e.start_call() for _ in range(200)]
    for cid in ids:
        e.handle_turn(cid, speaker="customer", text="我的信用卡丢了", final=False)  # a prefetch each
    assert len(e.store._locks) == 0  # a call's lock lives only while a turn holds it
    assert len(e.store._states) <= 50 and len(e.store._owners) <= 50 and e.suggester.retrieval.pending() <= 50
    pending = e.suggester.retrieval.pending()
    e.end_call(ids[-1])
    assert ids[-1] not in e.store._states and e.suggester.retrieval.pending() == pending - 1  # its prefetch went too
    # the call still reads back from the database after it left memory
    assert e.store.get_call(ids[0]).id == ids[0]


def test_turns_of_one_call_are_still_serialised(make_call_engine) -> None:
    import threading

    e = make_call_engine()
    cid = e.start_call()
    errors: list[BaseException] = []

    def say(i: int) -> None:
        try:
            e.handle_turn(cid, speaker="agent", text=f"第{i}句")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=say, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [t.turn for t in e.store.get_call(cid).turns] == list(range(1, 21))  # no number given twice
