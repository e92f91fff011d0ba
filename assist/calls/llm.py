"""Optional answers by a chat model (LangChain, any OpenAI-compatible endpoint) from the same passages.

Strict latency budget: the model gets `settings.llm_timeout_ms`; on a timeout or any error the caller
falls back to the extractive answer. The guard checks the text afterwards, like every answer.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from assist.calls.compose import Composition, no_answer_text, script_of, split_sentences
from assist.calls.prompts import PromptLibrary
from assist.config import Settings
from assist.errors import AssistError
from assist.protocols import SearchResult
from assist.text import to_simplified

logger = logging.getLogger(__name__)

_MARK = re.compile(r"\[(\d+)\]")
_END_WITH_MARKS = re.compile(r"([。！？!?]|\.(?=\s|\[|$))((?:\s*\[\d+\])*)\s*")


def split_marked(text: str) -> list[str]:
    """Sentences of a model's answer, each keeping the [n] marks that follow its full stop."""
    return [p.strip() for p in _END_WITH_MARKS.sub(r"\1\2\n", text).splitlines() if p.strip()]


LANGUAGE_NAMES = {
    "zh-Hans": "Simplified Chinese (简体中文)",
    "zh-Hant": "Traditional Chinese (繁體中文)",
    "en": "English",
    "mixed": "the customer's language (English with Traditional Chinese terms)",
}


def _key_first(sentences: list[str], key: list[str] | None) -> list[str]:
    """`sentences` with those in `key` (compared in Simplified, as the composer may have converted them) first."""
    if not key:
        return sentences
    wanted = {to_simplified(k) for k in key}
    first = [s for s in sentences if to_simplified(s) in wanted]
    return first + [s for s in sentences if s not in first]


class LLMUnavailableError(AssistError):
    """The chat model timed out or failed; the caller falls back to the extractive answer."""

    status_code = 503


class LLMComposer:
    """Writes an answer from numbered passages with the templates prompts/system.md and prompts/answer.md.

    Args:
        chat_model: a LangChain chat model (ChatOpenAI, or a fake in tests).
        prompts: the template library.
        timeout_ms: the budget for one answer.
        max_sentences: asked of the model.
    """

    def __init__(self, *, chat_model: Any, prompts: PromptLibrary, timeout_ms: int, max_sentences: int = 3) -> None:
        if chat_model is None:
            raise ValueError("LLMComposer needs a chat model, got None")
        if timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be positive, got {timeout_ms}")
        self.chat_model = chat_model
        self.prompts = prompts
        self.timeout_ms = timeout_ms
        self.max_sentences = max_sentences
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="llm")
        # fail at start-up, not mid-call, when a template is missing
        self.prompts.get("system")
        self.prompts.get("answer")

    @classmethod
    def from_settings(cls, settings: Settings, *, chat_model: Any = None) -> LLMComposer | None:
        """A composer over ChatOpenAI when llm_model is set (or over `chat_model`); else None."""
        if chat_model is None:
            if not settings.llm_model:
                return None
            from langchain_openai import ChatOpenAI  # lazy: only when a model is configured

            chat_model = ChatOpenAI(
                model=settings.llm_model,
                base_url=settings.llm_base_url,
                api_key=settings.llm_api_key or "not-needed",  # type: ignore[arg-type]
                timeout=settings.llm_timeout_ms / 1000.0,
                max_retries=0,
                temperature=0,
            )
        return cls(
            chat_model=chat_model,
            prompts=PromptLibrary(settings.prompts_dir),
            timeout_ms=settings.llm_timeout_ms,
        )

    def messages(
        self,
        *,
        question: str,
        context: list[str],
        results: list[SearchResult],
        language: str,
        key_sentences: list[str] | None = None,
    ) -> list[Any]:
        """The chat messages for one answer.

        `key_sentences`: the sentences the extractive ranking chose (by meaning, the fact asked and every part
        of the question); each passage lists those first, the rest after.
        """
        from langchain_core.messages import HumanMessage, SystemMessage

        passages = "\n".join(
            f"[{i}] ({r.title} — {r.section}) "
            + " ".join(_key_first(split_sentences(r.text or r.snippet), key_sentences))
            for i, r in enumerate(results, 1)
        )
        lang_name = LANGUAGE_NAMES.get(language, "English")
        system = self.prompts.get("system").render(
            institution="a bank, insurer or broker",
            no_answer=no_answer_text(language),
            language_name=lang_name,
            max_sentences=self.max_sentences,
        )
        human = self.prompts.get("answer").render(
            context="\n".join(f"- {c}" for c in context) or "-",
            question=question,
            passages=passages,
            language_name=lang_name,
        )
        return [SystemMessage(content=system), HumanMessage(content=human)]

    def run(
        self,
        *,
        question: str,
        context: list[str],
        results: list[SearchResult],
        language: str,
        key_sentences: list[str] | None = None,
    ) -> Composition:
        """The model's answer, citing the passages it was given (`key_sentences` first in each).

        Raises:
            LLMUnavailableError: timeout, error or an empty reply.
        """
        if not results:
            return Composition(answer=no_answer_text(language), source="none")
        msgs = self.messages(
            question=question, context=context, results=results, language=language, key_sentences=key_sentences
        )
        future = self._pool.submit(self.chat_model.invoke, msgs)
        try:
            reply = future.result(timeout=self.timeout_ms / 1000.0)
        except FutureTimeout as exc:
            future.cancel()
            raise LLMUnavailableError(f"chat model timed out after {self.timeout_ms} ms") from exc
        except Exception as exc:  # noqa: BLE001 - any model failure means: use the extractive answer
            raise LLMUnavailableError(f"chat model failed: {type(exc).__name__}: {exc}") from exc
        text = str(getattr(reply, "content", reply) or "").strip()
        if not text:
            raise LLMUnavailableError("chat model returned an empty answer")
        if text == no_answer_text(language):
            return Composition(answer=text, source="none")
        sentences = []
        for sent in split_marked(text):
            marks = [int(m) for m in _MARK.findall(sent) if 1 <= int(m) <= len(results)]
            sentences.append({"text": _MARK.sub("", sent).strip(), "citation": marks[0] if marks else None})
        return Composition(
            answer=text,
            citations=[r.citation() for r in results],
            sentences=sentences,
            source="llm",
            results=list(results),
        )

    @staticmethod
    def language_of(results: list[SearchResult]) -> list[str]:
        """The scripts of the passages (for logs)."""
        return [script_of(r) for r in results]
