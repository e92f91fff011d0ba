"""The guard over a stream: sentence by sentence as chunks arrive, withholding only a sentence that fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk

from assist.compliance.guard import Guard
from assist.compliance.guard.engine import Verdict
from assist.compliance.guard.langchain import GuardBlockedError, guard_runnable
from assist.compliance.guard.streaming import SentenceSplitter, StreamingCheck

GREETING = "您好，请问有什么可以帮您？"
BLOCKED = "这款产品保本保息。"  # guaranteed_return
CLOSING = "还有其他问题吗？"
ANSWER = GREETING + BLOCKED + CLOSING


def withheld(text: str) -> bool:
    return text.startswith("[withheld: blocked by guaranteed_return: ") and text.endswith("]")


def test_a_chain_streams_every_sentence_but_the_blocked_one(guard: Guard) -> None:
    model = FakeListChatModel(responses=[ANSWER])  # streams one character at a time
    chain = model | guard_runnable(guard)
    chunks = list(chain.stream("does it lose money?"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    text = "".join(str(c.content) for c in chunks)
    assert text.startswith(GREETING) and text.endswith(CLOSING)
    assert withheld(text[len(GREETING) : -len(CLOSING)])
    assert "这款产品" not in text
    with pytest.raises(GuardBlockedError):  # invoke still checks the whole text and raises
        chain.invoke("does it lose money?")


def test_each_sentence_is_passed_on_as_soon_as_it_is_complete(guard: Guard) -> None:
    pieces = ["您好，", "请问有什么可以帮您？", "这款产品", "保本保息。", "还有其他", "问题吗？"]
    pulled = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for piece in pieces:
            pulled += 1
            yield piece

    seen = [(pulled, out) for out in guard_runnable(guard).transform(source())]
    assert [n for n, _ in seen] == [2, 4, 6]  # the model had not produced the next sentence yet
    assert seen[0][1] == GREETING and withheld(seen[1][1]) and seen[2][1] == CLOSING


def test_english_sentences_end_at_a_stop_and_a_space_not_inside_a_number(guard: Guard) -> None:
    answer = "The rate is 1.5% a year. This fund offers guaranteed returns. Fees are on page 2."
    out = "".join(str(c) for c in guard_runnable(guard).stream(answer))
    assert out.startswith("The rate is 1.5% a year. [withheld: blocked by guaranteed_return: ")
    assert out.endswith("] Fees are on page 2.")


def test_a_sentence_is_judged_with_the_sentences_before_it(guard: Guard) -> None:
    # a list item under "We will never ask for:" is allowed in the whole text, and so in the stream
    answer = "We will never ask for:\n- your full card number\n- your PIN\n"
    assert guard.check(answer, "suggestion").action == "allow"
    assert "".join(guard_runnable(guard).stream(answer)) == answer  # type: ignore[arg-type]
    assert guard.check("- your full card number\n", "suggestion").action == "block"


def test_a_whole_message_is_checked_sentence_by_sentence_when_streamed(guard: Guard) -> None:
    out = list(guard_runnable(guard).stream(AIMessage(content=ANSWER, id="m1")))
    assert len(out) == 1 and isinstance(out[0], AIMessage) and out[0].id == "m1"
    content = str(out[0].content)
    assert content.startswith(GREETING) and content.endswith(CLOSING) and "这款产品" not in content


def test_dict_inputs_stream_with_their_speaker(guard: Guard) -> None:
    out = list(guard_runnable(guard).stream({"text": ANSWER, "speaker": "agent"}))
    assert all(isinstance(o, dict) and o["speaker"] == "agent" for o in out)
    text = "".join(o["text"] for o in out)  # type: ignore[index]
    assert text.startswith(GREETING) and "这款产品" not in text


def test_verdict_mode_streams_one_verdict_on_the_whole_text(guard: Guard) -> None:
    out = list(guard_runnable(guard, mode="verdict").transform(iter([GREETING, "这款产品", "保本保息。"])))
    assert len(out) == 1 and isinstance(out[0], Verdict)
    assert out[0] == guard.check(GREETING + BLOCKED, "suggestion")


def test_async_streams_withhold_the_same_sentence(guard: Guard) -> None:
    async def collect() -> list[str]:
        async def source() -> AsyncIterator[str]:
            for piece in [GREETING, "这款产品", "保本保息。", CLOSING]:
                yield piece

        return [str(c) async for c in guard_runnable(guard).atransform(source())]

    out = asyncio.run(collect())
    assert out[0] == GREETING and withheld(out[1]) and out[2] == CLOSING
    streamed = asyncio.run(_astream_text(guard, ANSWER))
    assert streamed.startswith(GREETING) and "这款产品" not in streamed


async def _astream_text(guard: Guard, text: str) -> str:
    return "".join([str(c) async for c in guard_runnable(guard).astream(text)])


def test_streaming_check_records_what_it_withheld(guard: Guard) -> None:
    check = StreamingCheck(guard, "suggestion")
    shown = check.feed(GREETING + "这款产品保本") + check.feed("保息。") + check.close()
    assert shown.startswith(GREETING) and "这款产品" not in shown
    assert [v.matches[0].rule_id for v in check.withheld] == ["guaranteed_return"]


def test_splitter_cuts_at_sentence_ends_and_keeps_every_character() -> None:
    s = SentenceSplitter()
    assert s.feed("第一句。第二句！“引号。”然后 ") == ["第一句。", "第二句！", "“引号。”"]
    assert s.feed("It is 1.5% now.") == []  # an ASCII stop at the edge: wait for what follows
    assert s.feed(" Next\n\nline") == ["然后 It is 1.5% now.", " Next\n"]
    assert s.flush() == "\nline"


@given(st.text(alphabet="ab .!?。？\n1”", max_size=40), st.lists(st.integers(0, 40), max_size=6))
def test_splitting_keeps_every_character_however_the_text_arrives(text: str, cuts: list[int]) -> None:
    split = SentenceSplitter()
    got = [sentence for piece in _pieces(text, cuts) for sentence in split.feed(piece)]
    assert "".join(got) + split.flush() == text


# Without 。！？ (which end a sentence at once, even when a closing quote may still come), the sentences do
# not depend on where the chunks were cut.
@given(st.text(alphabet="ab .!?\n1”", max_size=40), st.lists(st.integers(0, 40), max_size=6))
def test_splitting_does_not_depend_on_how_the_text_arrives(text: str, cuts: list[int]) -> None:
    whole = SentenceSplitter()
    expected = whole.feed(text)
    expected_rest = whole.flush()
    split = SentenceSplitter()
    got = [sentence for piece in _pieces(text, cuts) for sentence in split.feed(piece)]
    assert (got, split.flush()) == (expected, expected_rest)


def _pieces(text: str, cuts: list[int]) -> list[str]:
    """`text` cut at these offsets (those past its end ignored)."""
    pieces, start = [], 0
    for cut in sorted(c for c in cuts if c <= len(text)):
        pieces.append(text[start:cut])
        start = cut
    return [*pieces, text[start:]]
