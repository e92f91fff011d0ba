"""A LangChain Runnable over the guard, so the guard can sit at the end of anyone's chain.

chain = prompt | chat_model | guard_runnable(guard)              # raises GuardBlockedError on a block
chain = prompt | chat_model | guard_runnable(guard, mode="verdict")  # returns the Verdict

``invoke`` checks the whole text. ``stream`` (and ``astream``, and a chain's streaming) checks the answer
sentence by sentence as its chunks arrive: each sentence that passes is passed on as soon as it is
complete, and a sentence the guard blocks is withheld and replaced by ``[withheld: blocked by <rules>:
<advice>]`` (the reason the engine gives when it replaces a blocked answer). The stream is not cut off:
the sentences before and after a blocked one still come through. In ``verdict`` mode a stream yields one
Verdict, on the whole text, at its end.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk
from langchain_core.runnables import Runnable, RunnableConfig

from assist.compliance.guard.engine import SPEAKERS, Guard, Verdict
from assist.compliance.guard.streaming import StreamingCheck, block_reason
from assist.errors import AssistError, InvalidInputError

logger = logging.getLogger(__name__)

MODES = ("raise", "verdict")

# What the guard takes: a text, a chat message (or message chunk) with text content, or {"text", "speaker"}
GuardInput = str | BaseMessage | dict[str, str]
# What it gives: the input passed through (mode "raise"), or the Verdict (mode "verdict")
GuardOutput = GuardInput | Verdict


class GuardBlockedError(AssistError):
    """Text the guard blocked; carries the verdict."""

    status_code = 422

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(block_reason(verdict))
        self.verdict = verdict


def _text_of(value: GuardInput) -> tuple[str, str | None]:
    """The text (and speaker, if given) of a str, a chat message or a {"text", "speaker"} dict."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        text = value.get("text")
        if not isinstance(text, str):
            raise InvalidInputError(f"guard input dict needs a string 'text', got {value!r}")
        return text, value.get("speaker")
    if isinstance(value, BaseMessage) and isinstance(value.content, str):
        return value.content, None
    raise InvalidInputError(f"guard cannot check a {type(value).__name__}")


def _with_text(value: GuardInput, text: str) -> GuardInput:
    """``value`` with its text replaced (a message keeps its id and metadata)."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {**value, "text": text}
    return value.model_copy(update={"content": text})


def _bare(value: GuardInput, text: str) -> GuardInput:
    """A chunk like ``value`` that carries ``text`` only (no second copy of its metadata or usage)."""
    if isinstance(value, AIMessageChunk):
        return AIMessageChunk(content=text, id=value.id)
    if isinstance(value, BaseMessage):
        return value.model_copy(update={"content": text, "additional_kwargs": {}, "response_metadata": {}})
    return _with_text(value, text)


class _SentenceGate:
    """Mode "raise" over a stream: each incoming chunk goes out with the sentences it completed."""

    def __init__(self, guard: Guard, speaker: str) -> None:
        self.guard, self.speaker = guard, speaker
        self._check: StreamingCheck | None = None
        self._last: GuardInput | None = None

    def push(self, chunk: GuardInput) -> list[GuardOutput]:
        text, who = _text_of(chunk)
        if self._check is None:
            self._check = StreamingCheck(self.guard, who or self.speaker)
        self._last = chunk
        if isinstance(chunk, BaseMessage) and not isinstance(chunk, BaseMessageChunk):
            # a whole message (a model that does not stream): one message out, checked sentence by sentence
            return [_with_text(chunk, self._check.feed(text) + self._check.close())]
        released = self._check.feed(text)
        if isinstance(chunk, str) and not released:
            return []
        # a message chunk goes out even when empty: it may carry the id, usage or finish reason
        return [_with_text(chunk, released)]

    def close(self) -> list[GuardOutput]:
        if self._check is None or self._last is None:
            return []
        rest = self._check.close()
        return [_bare(self._last, rest)] if rest else []


class _VerdictAtEnd:
    """Mode "verdict" over a stream: one Verdict on the whole text, at the end."""

    def __init__(self, guard: Guard, speaker: str) -> None:
        self.guard, self.speaker = guard, speaker
        self._texts: list[str] = []
        self._who: str | None = None

    def push(self, chunk: GuardInput) -> list[GuardOutput]:
        text, who = _text_of(chunk)
        self._texts.append(text)
        self._who = self._who or who
        return []

    def close(self) -> list[GuardOutput]:
        if not self._texts:
            return []
        return [self.guard.check("".join(self._texts), self._who or self.speaker)]


class GuardRunnable(Runnable[GuardInput, GuardOutput]):
    """The guard as a Runnable; see the module docstring for ``invoke`` against ``stream``.

    Args:
        guard: The guard.
        speaker: Speaker used when the input does not say (default ``suggestion``: model output).
        mode: ``raise`` passes the input through unchanged unless blocked (then ``invoke`` raises
            :class:`GuardBlockedError` and a stream withholds the blocked sentences; warns are logged);
            ``verdict`` returns the :class:`Verdict`.

    Raises:
        InvalidInputError: Unknown speaker or mode.
    """

    def __init__(self, guard: Guard, *, speaker: str = "suggestion", mode: str = "raise") -> None:
        if speaker not in SPEAKERS:
            raise InvalidInputError(f"unknown speaker {speaker!r}: use one of {', '.join(SPEAKERS)}")
        if mode not in MODES:
            raise InvalidInputError(f"unknown mode {mode!r}: use raise or verdict")
        self.guard = guard
        self.speaker = speaker
        self.mode = mode
        self.name = "compliance_guard"

    def _check(self, value: GuardInput) -> GuardOutput:
        text, who = _text_of(value)
        verdict = self.guard.check(text, who or self.speaker)
        if self.mode == "verdict":
            return verdict
        if verdict.action == "block":
            raise GuardBlockedError(verdict)
        if verdict.action == "warn":
            logger.warning("guard warning: %s", [m.rule_id for m in verdict.matches])
        return value

    def invoke(self, input: GuardInput, config: RunnableConfig | None = None, **kwargs: Any) -> GuardOutput:
        """Check the whole text (see the class docstring for what each mode returns)."""
        return self._call_with_config(self._check, input, config, **kwargs)

    def _new_stream(self) -> _SentenceGate | _VerdictAtEnd:
        if self.mode == "verdict":
            return _VerdictAtEnd(self.guard, self.speaker)
        return _SentenceGate(self.guard, self.speaker)

    def _transform(self, chunks: Iterator[GuardInput]) -> Iterator[GuardOutput]:
        stream = self._new_stream()
        for chunk in chunks:
            yield from stream.push(chunk)
        yield from stream.close()

    async def _atransform(self, chunks: AsyncIterator[GuardInput]) -> AsyncIterator[GuardOutput]:
        stream = self._new_stream()
        async for chunk in chunks:
            for out in stream.push(chunk):
                yield out
        for out in stream.close():
            yield out

    def transform(
        self, input: Iterator[GuardInput], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[GuardOutput]:
        """Check a stream sentence by sentence as its chunks arrive."""
        return self._transform_stream_with_config(input, self._transform, config, **kwargs)

    def stream(self, input: GuardInput, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[GuardOutput]:
        """One input as a stream: its sentences come out one by one, blocked ones withheld."""
        return self.transform(iter([input]), config, **kwargs)

    def atransform(
        self, input: AsyncIterator[GuardInput], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[GuardOutput]:
        """:meth:`transform` for async streams."""
        return self._atransform_stream_with_config(input, self._atransform, config, **kwargs)

    def astream(
        self, input: GuardInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[GuardOutput]:
        """:meth:`stream` for async callers."""

        async def one() -> AsyncIterator[GuardInput]:
            yield input

        return self.atransform(one(), config, **kwargs)


def guard_runnable(guard: Guard, *, speaker: str = "suggestion", mode: str = "raise") -> GuardRunnable:
    """Wrap ``guard`` as a Runnable (see :class:`GuardRunnable`).

    Raises:
        InvalidInputError: Unknown speaker or mode.
    """
    return GuardRunnable(guard, speaker=speaker, mode=mode)
