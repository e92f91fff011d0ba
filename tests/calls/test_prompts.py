"""Every template in prompts/ renders; a missing variable raises and names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.calls.prompts import PromptError, PromptLibrary, PromptTemplate

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.mark.parametrize("name", PromptLibrary(PROMPTS).names())
def test_each_template_renders(name: str) -> None:
    tpl = PromptLibrary(PROMPTS).get(name)
    assert tpl.variables
    text = tpl.render(**{v: f"<{v}>" for v in tpl.variables})
    for v in tpl.variables:
        assert f"<{v}>" in text
    assert "{" not in text


def test_the_answer_templates_exist() -> None:
    assert {"system", "answer"} <= set(PromptLibrary(PROMPTS).names())


def test_missing_variable_raises() -> None:
    with pytest.raises(PromptError, match="question"):
        PromptTemplate(name="t", text="Q: {question} C: {context}").render(context="x")
    with pytest.raises(PromptError, match="nope"):
        PromptLibrary(PROMPTS).get("nope")
