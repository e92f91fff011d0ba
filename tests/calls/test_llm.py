"""The chat-model path with fake models: a blocked hallucination falls back; timeouts and errors too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from sqlmodel import Session, select

from assist.calls.llm import LLMComposer
from assist.calls.prompts import PromptLibrary
from assist.models.guard import GuardEvent

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def composer(model: Any, timeout_ms: int = 2000) -> LLMComposer:
    return LLMComposer(chat_model=model, prompts=PromptLibrary(PROMPTS), timeout_ms=timeout_ms)


def test_llm_answer_is_used_when_clean(make_call_engine) -> None:
    model = FakeListChatModel(responses=["挂失后可申请补卡，补卡费 20 元。[1]"])
    e = make_call_engine(llm=composer(model))
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
    assert r.suggestion.source == "llm"
    assert r.suggestion.answer.startswith("挂失后可申请补卡")
    assert r.suggestion.citations and r.suggestion.sentences[0]["citation"] == 1


def test_hallucinated_guaranteed_return_is_blocked_and_replaced(make_call_engine) -> None:
    model = FakeListChatModel(responses=["This product has a guaranteed return of 5% a year.[1]"])
    e = make_call_engine(llm=composer(model))
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="理财产品有什么风险")
    s = r.suggestion
    assert s.source == "llm_blocked_fallback"
    assert "guaranteed" not in s.answer.lower()
    assert "理财非存款" in s.answer and s.citations[0]["document_id"] == "doc-wealth-zh"
    assert "no_guaranteed_return" in s.replaced_reason
    with Session(e.db_engine) as session:
        ev = session.exec(select(GuardEvent).where(GuardEvent.kind == "suggestion")).one()
        assert "guaranteed return" in ev.text and ev.action == "block" and ev.call_id == cid
    got = e.store.get_call(cid).suggestions[0]
    assert got.source == "llm_blocked_fallback" and got.replaced_reason == s.replaced_reason


class _StuckModel(FakeListChatModel):
    """Waits for a release that only comes after the test is done (a model that misses its budget)."""

    release: Any = None

    def invoke(self, *a: Any, **kw: Any) -> Any:  # type: ignore[override]
        self.release.wait(5)
        return super().invoke(*a, **kw)


def test_timeout_falls_back_to_extractive(make_call_engine) -> None:
    release = threading.Event()
    model = _StuckModel(responses=["too late"], release=release)
    e = make_call_engine(llm=composer(model, timeout_ms=50))
    cid = e.start_call()
    try:
        r = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
    finally:
        release.set()
    assert r.suggestion.source == "extractive" and "挂失" in r.suggestion.answer
    assert "timed out" in r.suggestion.replaced_reason


class _BrokenModel(FakeListChatModel):
    def invoke(self, *a: Any, **kw: Any) -> Any:  # type: ignore[override]
        raise ConnectionError("endpoint down")


def test_model_error_falls_back_to_extractive(make_call_engine) -> None:
    e = make_call_engine(llm=composer(_BrokenModel(responses=["x"])))
    cid = e.start_call()
    r = e.handle_turn(cid, speaker="customer", text="我的信用卡丢了怎么办")
    assert r.suggestion.source == "extractive" and "endpoint down" in r.suggestion.replaced_reason


def test_messages_use_the_templates() -> None:
    from tests.fakes import FakeRetriever

    c = composer(FakeListChatModel(responses=["x"]))
    msgs = c.messages(
        question="补卡要钱吗", context=["信用卡丢了"], results=FakeRetriever().retrieve("补卡", k=2), language="zh-Hant"
    )
    assert "Traditional Chinese" in msgs[0].content and "[1]" in msgs[1].content and "补卡要钱吗" in msgs[1].content


def test_from_settings_builds_chat_openai_only_when_configured(settings) -> None:
    assert LLMComposer.from_settings(settings) is None
    configured = settings.model_copy(
        update={"llm_model": "local-model", "llm_base_url": "http://127.0.0.1:9/v1", "llm_timeout_ms": 300}
    )
    c = LLMComposer.from_settings(configured)
    assert c is not None and type(c.chat_model).__name__ == "ChatOpenAI" and c.timeout_ms == 300


def test_a_chat_models_answer_gets_every_guard_layer_and_an_extractive_one_the_rules(
    make_call_engine, fake_guard
) -> None:
    # a chat model's words are checked as a suggestion (rules and claim model); an extractive answer quotes
    # approved documents verbatim and is checked as a passage (the rules; the model read it at ingest)
    e = make_call_engine(llm=composer(FakeListChatModel(responses=["挂失后可申请补卡，补卡费 20 元。[1]"])))
    e.handle_turn(e.start_call(), speaker="customer", text="我的信用卡丢了怎么办")
    assert [s for _, s in fake_guard.checked if s != "customer"] == ["suggestion"]
    fake_guard.checked.clear()
    plain = make_call_engine()
    r = plain.handle_turn(plain.start_call(), speaker="customer", text="我的信用卡丢了怎么办")
    assert r.suggestion is not None and r.suggestion.source == "extractive"
    assert [s for _, s in fake_guard.checked if s != "customer"] == ["passage"]
