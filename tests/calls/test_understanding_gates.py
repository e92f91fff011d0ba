"""Step ticks and social turns, fifth round (issue 17): the precise fast path of a tick, pins said in a clause
that negates or sets a condition, a clause that ends in a question mark, a reply to the agent's question, and
a customer's closing thanks.

The model here is built by hand (no training): its step head is sure which step a vector is about (P ≈ 0.99)
and its done heads say P(done) ≈ 0.73, so every step scores ≈ 0.72, under the 0.75 floor. Whatever ticks
below ticks by the fast path or by a pin, which is the point. The sentences are written for these tests, in
three scripts (none is taken from the labelled calls).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from assist.calls.playbooks import Playbooks
from assist.calls.reading import CustomerReader, agent_asked
from assist.calls.state import CallState
from assist.calls.trigger import NeedTrigger
from assist.calls.understanding import TurnUnderstanding, Understanding
from assist.calls.understanding.heads import LinearHead, TextHead
from assist.calls.understanding.model import Playbook
from assist.calls.understanding.stage import ModelStatus
from assist.calls.understanding.text import (
    NEED_CUES,
    STEP_CUES,
    asks_or_requests,
    compile_phrases,
    default_normalizer,
    said_plainly,
    says_done,
    tick_clauses,
)

DIMS = 4
STEPS = ["freeze_card", "verify_identity", "explain_cooling_off"]
FREEZE, VERIFY, COOLING, OTHER = (np.eye(DIMS, dtype=np.float32)[i] for i in range(DIMS))
NORM, _ = default_normalizer()


def _head(classes: list[str], features: int, b: list[float], W: np.ndarray | None = None) -> LinearHead:
    return LinearHead(
        classes=classes,
        W=np.zeros((features, len(classes)), np.float32) if W is None else W.astype(np.float32),
        b=np.array(b, np.float32),
        mu=np.zeros(features, np.float32),
        sd=np.ones(features, np.float32),
    )


@pytest.fixture(scope="module")
def model() -> TurnUnderstanding:
    step_w = np.zeros((DIMS, len(STEPS)), np.float32)
    for i in range(len(STEPS)):
        step_w[i, i] = 6.0  # e_i → P(step i) ≈ 0.99
    return TurnUnderstanding(
        need_head=_head(["social", "need"], DIMS + len(NEED_CUES), [0.0, float(np.log(4.0))]),  # P(need) = 0.8
        topic_head=_head(["none", "card_loss"], DIMS + 1, [0.0, 0.0]),
        step_head=_head(STEPS, DIMS, [0.0, 0.0, 0.0], step_w),
        done_head=_head(["not_done", "done"], DIMS + len(STEP_CUES), [0.0, 1.0]),  # P ≈ 0.73
        done_text_head=TextHead(W=np.zeros(16, np.float32), b=1.0),  # P ≈ 0.73
        thresholds={
            "need": 0.6,
            "topic_switch": 0.5,
            "step": {"default": 0.75},
            "step_floor": 0.75,
            "pin_min_done": 0.35,
            "second_step": 0.9,
            "knn_weight": 0.0,
        },
        playbook=Playbook(
            topic_keywords={"card_loss": []},
            topic_steps={"card_loss": ["verify_identity", "freeze_card"]},
            step_phrases={"explain_cooling_off": ["冷静期", "cooling-off period"]},
        ),
        meta={"dims": DIMS},
        probes=np.zeros((0, DIMS), np.float32),
    )


def _steps(model: TurnUnderstanding, vec: np.ndarray, text: str) -> list[str]:
    clauses = [(vec, p) for p in tick_clauses(text, model.normalize)]
    return [s for s, _ in model.steps_done(vec, text, clauses=clauses)]


# -- the fast path: a clause that says it is finished, about a step the head is sure of -----------------------
@pytest.mark.parametrize(
    ("vec", "text", "step"),
    [
        (FREEZE, "卡已经冻结了", "freeze_card"),
        (FREEZE, "好，張卡已經凍結咗", "freeze_card"),
        (FREEZE, "您的卡片已經停用了", "freeze_card"),
        (FREEZE, "The card is now blocked.", "freeze_card"),
        (VERIFY, "身份核验完成", "verify_identity"),
        (VERIFY, "資料全部對得上，核實咗", "verify_identity"),
        (VERIFY, "ok you're all verified", "verify_identity"),
        (FREEZE, "卡已经冻结了，还有其他需要吗？", "freeze_card"),  # the done clause ticks; the question does not
    ],
)
def test_a_clause_that_says_the_step_is_finished_ticks_it_under_the_floor(
    model: TurnUnderstanding, vec: np.ndarray, text: str, step: str
) -> None:
    assert model.step_scores(vec, text)[0][step] < 0.75  # the heads alone would not tick it
    assert _steps(model, vec, text) == [step]


@pytest.mark.parametrize(
    ("vec", "text"),
    [
        (FREEZE, "我先帮您把卡冻结"),  # a promise
        (FREEZE, "要冻结这张卡吗？"),  # a question
        (FREEZE, "等你確認咗身份我就幫你凍結張卡"),  # a promise with a condition
        (FREEZE, "I'll block the card once you confirm"),
        (FREEZE, "Your card was blocked back in March"),  # history, not this call's work
        (FREEZE, "上次已经挂失过一次"),
        (FREEZE, "為咗安全，我哋要凍結張卡"),  # 為咗 is "in order to", not a completion
        (FREEZE, "卡还没冻结成功"),  # negated
        (VERIFY, "我正在核对您的资料"),  # under way
        (VERIFY, "如果资料对得上就可以办"),  # a condition
        (OTHER, "已经好了"),  # the step head is not sure which step
    ],
)
def test_a_promise_question_condition_or_history_does_not_take_the_fast_path(
    model: TurnUnderstanding, vec: np.ndarray, text: str
) -> None:
    assert _steps(model, vec, text) == []


def test_the_fast_path_needs_a_sure_step_and_can_be_switched_off(model: TurnUnderstanding) -> None:
    text = "卡已经冻结了"
    model.thresholds["fast_step_id"] = 1.01
    try:
        assert _steps(model, FREEZE, text) == []
    finally:
        del model.thresholds["fast_step_id"]
    assert _steps(model, FREEZE, text) == ["freeze_card"]


# -- pins: an editor's phrase said in a clause that negates, asks or sets a condition ticks nothing -------------
@pytest.mark.parametrize(
    "text",
    [
        "这款产品没有 24 小时冷静期，买了以后只能赎回",
        "呢隻基金冇冷靜期㗎",
        "這檔沒有冷靜期喔",
        "如果买的是私募产品才有冷静期",  # one clause: a condition across a comma is not read
        "there's no cooling-off period on this one",
    ],
)
def test_a_pin_said_in_a_negated_or_conditional_clause_ticks_nothing(model: TurnUnderstanding, text: str) -> None:
    assert _steps(model, COOLING, text) == []


@pytest.mark.parametrize(
    "text",
    ["这份保单有15天冷静期，期内退保全额退还", "保單有 21 日冷靜期", "the cooling-off period is 21 days from delivery"],
)
def test_a_pin_said_plainly_still_ticks(model: TurnUnderstanding, text: str) -> None:
    assert _steps(model, COOLING, text) == ["explain_cooling_off"]


def test_said_plainly_reads_scope_across_asr_spaces_next_to_digits() -> None:
    pins = compile_phrases(["冷静期"], NORM)
    assert not said_plainly("没有 24 小时冷静期", NORM, pins)  # one clause: the negation covers the pin
    assert said_plainly("有 24 小时冷静期", NORM, pins)
    assert not said_plainly("要先做风险承受能力评估", NORM, compile_phrases(["风险承受能力评估"], NORM))


# -- clauses ----------------------------------------------------------------------------------------------
def test_a_clause_ending_in_a_question_mark_does_not_tick_on_its_own() -> None:
    assert tick_clauses("资料核对好了，是尾号8812这张卡？", NORM) == ["资料核对好了"]
    assert tick_clauses("我send咗個通知俾你，你撳一撳確認？", NORM) == ["我send咗個通知俾你"]
    assert tick_clauses("ok the card's blocked. It's the gold card?", NORM) == ["ok the card's blocked"]


def test_says_done_in_three_scripts() -> None:
    assert says_done(NORM("身份核对完成"))
    assert says_done(NORM("已經幫你補領咗新卡"))
    assert says_done(NORM("the replacement has been ordered"))
    assert not says_done(NORM("你用緊登記咗嘅電話"))  # 咗嘅: an attribute ("the registered phone")
    assert not says_done(NORM("you're calling from your registered mobile"))
    assert not says_done(NORM("身份核对完成"), asks=True)


# -- a reply to the agent's question ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("asked", "reply"),
    [
        ("请问您最近一笔消费是哪天、多少钱？", "上个月五号 超市 三百多"),
        ("最近一次簽賬係幾時？", "琴晚 八點幾 喺便利店"),
        ("最近一筆交易大概是什麼時候？", "上禮拜六 加油 一千出頭"),
        ("and your date of birth please", "fourth of May nineteen eighty"),
    ],
)
def test_a_reply_to_the_agents_question_is_not_a_need(model: TurnUnderstanding, asked: str, reply: str) -> None:
    assert asks_or_requests(asked)
    assert model.need(OTHER, reply) == (True, pytest.approx(0.8))  # alone, the head reads a need
    assert model.need(OTHER, reply, answering=True)[0] is False
    assert model.need(OTHER, reply + "，这笔能退吗？", answering=True)[0] is True  # a question of its own
    # the caller's first turn says why they call, even as a reply to the agent's greeting
    assert model.need(OTHER, reply, answering=True, opening=True)[0] is True


def test_the_reader_knows_when_the_agent_asked(model: TurnUnderstanding, tmp_path) -> None:
    understanding = Understanding(model, lambda _text: OTHER, ModelStatus(ready=True))
    reader = CustomerReader(understanding=understanding, playbooks=Playbooks(tmp_path), trigger=NeedTrigger())
    reply = "上个月五号 超市 三百多"
    state = CallState(call_id="c")
    state.remember_customer("信用卡上有一笔不认识的消费", keep=3)  # the caller's opening came before
    state.remember_turn(1, "agent", "请问您最近一笔消费是哪天、多少钱？")
    state.remember_turn(2, "customer", reply)
    assert agent_asked(state, final=True)
    assert reader.run(state, reply, {}).suggest is False
    told = CallState(call_id="d")
    told.remember_customer("信用卡上有一笔不认识的消费", keep=3)
    told.remember_turn(1, "agent", "好的，卡已经给您冻结了。")
    told.remember_turn(2, "customer", reply)
    assert not agent_asked(told, final=True)
    assert reader.run(told, reply, {}).suggest is True


# -- a closing thanks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "行，那我回去跟家里商量商量，谢谢啊",
        "好，我遲啲自己去分行，唔該晒",
        "那我再研究看看，謝謝喔",
        "alright I'll leave it for now, thanks",
        "嗯，我再考虑考虑吧",  # a deferral, no thanks
        "等我同屋企人傾過先，遲啲再算",
        "I'd rather sleep on it",
        "不不不，不用了，谢谢",  # a repeated no is not a yes-no question
        "唔唔唔 唔使喇 唔該晒",
    ],
)
def test_a_closing_thanks_is_social(model: TurnUnderstanding, tmp_path, text: str) -> None:
    trigger = NeedTrigger()
    assert trigger.is_closing(text)
    understanding = Understanding(model, lambda _text: OTHER, ModelStatus(ready=True))
    reader = CustomerReader(understanding=understanding, playbooks=Playbooks(tmp_path), trigger=trigger)
    assert reader.run(CallState(call_id="c"), text, {}).suggest is False


@pytest.mark.parametrize(
    "text",
    [
        "谢谢，那新卡多久能到",
        "謝謝，幫我把另一張卡也停咗",
        "好的謝謝，那手續費怎麼算",
        "thanks, can you also block my other card",
        "platinum is like two thousand a year isn't it no thanks",
        "我再考虑一下，提前取出来利息怎么算",
        "I'll think it over, but can you send me the form",
        # the yes-no question of either language, and a tag asking to confirm
        "我再考虑考虑 那个定期退不退得了",
        "我諗下先 咁張卡仲用唔用得",
        "那我再想想，三十万的话也能全额保障是吧",
        # a longer turn that passes through a deferral and ends on what the customer wants now
        "上个月在柜台买了个保险 回家跟老公商量了一下 觉得保费太高了 现在还能全额退掉",
        "I had to think it over at home with my wife last night and we both feel the premium is far too high now",
    ],
)
def test_thanks_beside_a_question_or_a_request_is_not_a_closing(text: str) -> None:
    assert not NeedTrigger().is_closing(text)


@pytest.mark.parametrize(
    "text",
    [
        "明白了 原来是这样 那我周末带上身份证和银行卡去网点办 今天真是辛苦你了 谢谢",
        "OK that all makes sense now, I will pop into the branch with my passport on Saturday morning, thanks a lot",
    ],
)
def test_a_long_turn_that_ends_on_thanks_is_a_closing(text: str) -> None:
    assert NeedTrigger().is_closing(text)


class _Clauses:
    """A clause encoder (one run, vectors per span) whose vectors come from a table of texts."""

    def __init__(self, table: dict[str, np.ndarray], utterance: np.ndarray = OTHER) -> None:
        self.table, self.utterance = table, utterance

    def encode(self, text: str, spans: list[tuple[int, int]]) -> SimpleNamespace:
        return SimpleNamespace(utterance=self.utterance, clauses=[self.table.get(text[a:b], OTHER) for a, b in spans])


@pytest.mark.parametrize(
    ("question", "about", "ticked"),
    [
        ("卡要不要也一起挂失？", FREEZE, []),  # the same step is still open
        ("還有其他要幫手嗎？", OTHER, ["freeze_card"]),
        ("anything else I can do for you?", OTHER, ["freeze_card"]),
    ],
)
def test_a_finished_clause_does_not_tick_when_the_turn_asks_about_the_same_step(
    model: TurnUnderstanding, question: str, about: np.ndarray, ticked: list[str]
) -> None:
    done = "网银已经停用了"
    encoder = _Clauses({done: FREEZE, question.rstrip("？?"): about})
    understanding = Understanding(model, lambda _t: OTHER, ModelStatus(ready=True), clause_encoder=encoder)
    assert understanding.agent(f"好，{done}，{question}", already=[])[0] == ticked


@pytest.mark.parametrize(
    ("text", "ticked"),
    [
        ("补卡要收二十块，普通的七个工作日寄出，您要哪种？", []),  # the step is still being decided
        ("補卡收二十蚊，你揀平郵定速遞？", []),
        ("新卡已经申请好了，七个工作日寄出，您要哪种？", ["reissue_card"]),  # a clause says it is finished
        ("补卡要收二十块，我会帮您申请新卡", []),  # a promise about the same step
        ("I'll order the replacement now, it comes in a week", []),
        ("新卡已经申请好了，我会短信通知您", ["reissue_card"]),
    ],
)
def test_a_turn_read_done_only_as_a_whole_does_not_tick_while_it_asks_about_that_step(
    model: TurnUnderstanding, text: str, ticked: list[str]
) -> None:
    reissue = np.array([0.0, 0.0, 0.0, 1.0], np.float32)  # P(reissue_card) ≈ 0.99 with the head below
    step_w = np.zeros((DIMS, 4), np.float32)
    for i in range(4):
        step_w[i, i] = 6.0
    lenient = TurnUnderstanding(
        need_head=model.need_head,
        topic_head=model.topic_head,
        step_head=_head([*STEPS, "reissue_card"], DIMS, [0.0] * 4, step_w),
        done_head=model.done_head,
        done_text_head=model.done_text_head,
        thresholds={**model.thresholds, "step": {"default": 0.7}, "step_floor": 0.7},  # the whole turn ticks
        playbook=model.playbook,
        meta=model.meta,
        probes=model.probes,
    )
    parts = [p.strip() for p in re.split(r"[，？,]", text) if p.strip()]
    encoder = _Clauses(dict.fromkeys(parts, reissue), utterance=reissue)
    understanding = Understanding(lenient, lambda _t: reissue, ModelStatus(ready=True), clause_encoder=encoder)
    assert understanding.agent(text, already=[])[0] == ticked


def test_in_a_call_the_checklist_ticks_a_plain_completion_and_not_a_negated_pin(make_call_engine, model) -> None:
    def encoder(text: str) -> np.ndarray:  # the turn and each of its clauses
        return FREEZE if "冻结" in text else COOLING if "冷靜期" in text else OTHER

    understanding = Understanding(model, encoder, ModelStatus(ready=True))
    engine = make_call_engine(understanding=understanding)
    call = engine.start_call()
    result = engine.handle_turn(call, speaker="agent", text="呢隻基金冇冷靜期㗎")
    assert not any(s.done for s in result.next_steps)
    result = engine.handle_turn(call, speaker="agent", text="好的，张卡已经冻结咗")
    assert [s.id for s in result.next_steps if s.done] == ["freeze_card"]


def test_in_a_call_a_reply_to_the_agents_question_gets_no_suggestion(make_call_engine, model) -> None:
    reply = "信用卡丢了那天 上个月五号 超市 三百多"  # names a passage's words, asks nothing
    understanding = Understanding(model, lambda _t: OTHER, ModelStatus(ready=True))
    engine = make_call_engine(understanding=understanding)
    call = engine.start_call()
    opening = "喂，你好，我想问点事情"  # the caller's first turn is read as why they call (a need): not the reply
    engine.handle_turn(call, speaker="customer", text=opening)
    engine.handle_turn(call, speaker="agent", text="请问您最近一笔消费是哪天、多少钱？")
    assert engine.handle_turn(call, speaker="customer", text=reply).suggestion is None
    other = engine.start_call()
    engine.handle_turn(other, speaker="customer", text=opening)
    engine.handle_turn(other, speaker="agent", text="好的，我帮您看一下。")
    assert engine.handle_turn(other, speaker="customer", text=reply).suggestion is not None
