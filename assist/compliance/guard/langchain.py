"""A LangChain Runnable over the guard, so the guard can sit at the end of anyone's chain.

chain = prompt | chat_model | guard_runnable(guard)              # raises GuardBlockedError on a block
chain = prompt | chat_model | guard_runnable(guard, mode="verdict")  # returns the Verdict
"""

from __future__ import annotations

import logging
from typing import Any

from assist.compliance.guard.engine import SPEAKERS, Guard, Verdict
from assist.errors import AssistError, InvalidInputError

logger = logging.getLogger(__name__)


class GuardBlockedError(AssistError):
    """Text the guard blocked; carries the verdict."""

    status_code = 422

    def __init__(self, verdict: Verdict) -> None:
        rules = ", ".join(dict.fromkeys(m.rule_id for m in verdict.matches))
        super().__init__(f"blocked by {rules}: {verdict.advice}")
        self.verdict = verdict


def _text_of(value: Any) -> tuple[str, str | None]:
    """The text (and speaker, if given) of a str, a chat message or a {"text", "speaker"} dict."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        text = value.get("text")
        if not isinstance(text, str):
            raise InvalidInputError(f"guard input dict needs a string 'text', got {value!r}")
        return text, value.get("speaker")
    content = getattr(value, "content", None)
    if isinstance(content, str):
        return content, None
    raise InvalidInputError(f"guard cannot check a {type(value).__name__}")


def guard_runnable(guard: Guard, *, speaker: str = "suggestion", mode: str = "raise") -> Any:
    """Wrap ``guard`` as a ``RunnableLambda``.

    Args:
        guard: The guard.
        speaker: Speaker used when the input does not say (default ``suggestion``: model output).
        mode: ``raise`` passes the input through unchanged unless blocked (then raises
            :class:`GuardBlockedError`; warns are logged); ``verdict`` returns the :class:`Verdict`.

    Raises:
        InvalidInputError: Unknown speaker or mode.
    """
    from langchain_core.runnables import RunnableLambda

    if speaker not in SPEAKERS:
        raise InvalidInputError(f"unknown speaker {speaker!r}: use one of {', '.join(SPEAKERS)}")
    if mode not in ("raise", "verdict"):
        raise InvalidInputError(f"unknown mode {mode!r}: use raise or verdict")

    def _check(value: Any) -> Any:
        text, who = _text_of(value)
        verdict = guard.check(text, who or speaker)
        if mode == "verdict":
            return verdict
        if verdict.action == "block":
            raise GuardBlockedError(verdict)
        if verdict.action == "warn":
            logger.warning("guard warning: %s", [m.rule_id for m in verdict.matches])
        return value

    return RunnableLambda(_check, name="compliance_guard")
