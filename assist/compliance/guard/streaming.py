"""The guard over streamed text: cut it into sentences as each completes, and judge each one in context.

A chat model's answer arrives a few characters at a time. :class:`SentenceSplitter` hands out each
sentence as soon as its end has arrived; :class:`StreamingCheck` checks it together with the sentences
before it (as :meth:`Guard.check` would see them in the whole text, so a list item under "We will never
ask for:" stays allowed) and judges only the matches that reach into the new sentence. A sentence that
passes is released as it is; one the guard blocks is withheld and replaced by a marker with the reason.
"""

from __future__ import annotations

import logging
from collections import deque

from assist.compliance.guard.engine import Guard, Verdict

logger = logging.getLogger(__name__)

# Ends that close a sentence at once (full width, as Chinese is written)
_CJK_ENDS = frozenset("。！？")
# Ends that close a sentence only when whitespace follows: "1.5%", "a.m." and "?!" runs are not ends yet
_ASCII_ENDS = frozenset(".!?")
# Closing quotes and brackets that belong to the sentence they follow
_CLOSERS = frozenset("\"'”’」』）)]】》")
# How much of what came before a sentence is checked with it (whole sentences, at most this many characters)
CONTEXT_CHARS = 1000
# What replaces a blocked sentence in the stream
WITHHELD = "[withheld: {reason}]"


def block_reason(verdict: Verdict) -> str:
    """Why the guard blocked a text: ``blocked by <rule ids>: <advice>``, as the engine and errors say it."""
    rules = ", ".join(dict.fromkeys(m.rule_id for m in verdict.matches))
    return f"blocked by {rules}: {verdict.advice}"


class SentenceSplitter:
    """Cuts text that arrives in pieces into sentences, each handed out as soon as it is complete.

    A sentence ends after 。！？ (with any closing quotes or brackets already there), after . ! ? when
    whitespace follows, or at a line break. Joined, the sentences and :meth:`flush` give back the text.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._scanned = 0  # the buffer before this offset holds no sentence end

    def feed(self, text: str) -> list[str]:
        """Add text; return the sentences it completed, in order."""
        self._buffer += text
        buf, out, start = self._buffer, [], 0
        i = self._scanned
        while i < len(buf):
            end = self._end_at(buf, start, i)
            if end is None:
                i += 1
            elif end < 0:  # an ASCII end at the edge of what has arrived: wait for what follows
                break
            else:
                out.append(buf[start:end])
                start = i = end
        self._buffer = buf[start:]
        self._scanned = i - start
        return out

    def flush(self) -> str:
        """The text after the last complete sentence (at the end of the stream)."""
        rest, self._buffer, self._scanned = self._buffer, "", 0
        return rest

    @staticmethod
    def _end_at(buf: str, start: int, i: int) -> int | None:
        """Where the sentence ends when ``buf[i]`` may end it; None if it does not, -1 if it cannot tell yet."""
        c = buf[i]
        if c == "\n":
            return i + 1 if buf[start:i].strip() else None  # a blank line is not a sentence
        if c not in _CJK_ENDS and c not in _ASCII_ENDS:
            return None
        j = i + 1
        while j < len(buf) and (buf[j] in _CJK_ENDS or buf[j] in _ASCII_ENDS or buf[j] in _CLOSERS):
            j += 1
        if c in _CJK_ENDS:
            return j
        if j == len(buf):
            return -1
        return j if buf[j].isspace() else None


class StreamingCheck:
    """The guard over one streamed text, sentence by sentence.

    Args:
        guard: The guard.
        speaker: Who is speaking (``suggestion`` for a model's answer).

    Attributes:
        withheld: The verdict on each sentence withheld so far (matches within that sentence).
    """

    def __init__(self, guard: Guard, speaker: str) -> None:
        self.guard = guard
        self.speaker = speaker
        self.withheld: list[Verdict] = []
        self._splitter = SentenceSplitter()
        self._context: deque[str] = deque()
        self._context_chars = 0

    def feed(self, text: str) -> str:
        """Add streamed text; return what may be shown now (complete sentences, blocked ones replaced)."""
        return "".join(self._judge(s) for s in self._splitter.feed(text))

    def close(self) -> str:
        """The end of the stream: judge the unfinished last sentence and return what may be shown of it."""
        rest = self._splitter.flush()
        return self._judge(rest) if rest else ""

    def _judge(self, sentence: str) -> str:
        context = "".join(self._context)
        verdict = self.guard.check(context + sentence, self.speaker)
        own = tuple(m for m in verdict.matches if m.end > len(context))
        self._remember(sentence)
        if not own:
            return sentence
        if not any(m.severity == "block" for m in own):
            logger.warning("guard warning: %s", [m.rule_id for m in own])
            return sentence
        advice = next(m.advice for m in own if m.severity == "block")
        judged = Verdict("block", own, advice, self.speaker)
        self.withheld.append(judged)
        logger.warning("guard withheld a sentence: %s", [m.rule_id for m in own])
        body = sentence.strip()
        lead, tail = sentence[: sentence.index(body)], sentence[sentence.index(body) + len(body) :]
        return lead + WITHHELD.format(reason=block_reason(judged)) + tail

    def _remember(self, sentence: str) -> None:
        """Keep the last sentences, up to CONTEXT_CHARS, as the context of the next one."""
        self._context.append(sentence)
        self._context_chars += len(sentence)
        while self._context_chars > CONTEXT_CHARS and len(self._context) > 1:
            self._context_chars -= len(self._context.popleft())
