"""Rule regexes run on RE2: a catastrophic pattern a compliance user saves cannot stall a check, and what RE2
cannot run in linear time (lookarounds, backreferences) is refused with the reason before it is saved."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from assist.compliance.guard import Guard
from assist.errors import RulePackError

CATASTROPHIC = ["(?:a+)+b", "(a|aa)*c", "(.*a){20}"]


def _rule(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "user_rule",
        "category": "guaranteed_return",
        "severity": "block",
        "languages": ["en"],
        "advice": "Say the product is not guaranteed.",
        "source": "test",
    }
    return {**base, **fields}


def test_catastrophic_regexes_are_bounded_on_2000_characters() -> None:
    # On Python's backtracking engine 26 characters took 4.6 s with (?:a+)+b; 2,000 would never finish. A child
    # process keeps a regression from hanging the suite: the budget is hundreds of times what RE2 needs.
    code = textwrap.dedent(
        f"""
        import json, time
        from assist.compliance.guard import Guard
        rule = dict(id="user_rule", category="x", severity="block", languages=["en"], advice="a", source="s",
                    regexes={CATASTROPHIC!r})
        guard = Guard.from_rules([rule])
        out = []
        for text in ["a" * 2000, "a" * 1999 + "c", "ab" * 1000, "x" + "a" * 1999]:
            out.append(guard.check(text).action)
        print(json.dumps(out))
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-500:]
    # (.*a){20} and (?:a+)+b... still match where they should: bounded, not disabled
    assert p.stdout.strip() == '["block", "block", "block", "block"]'


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_each_catastrophic_pattern_still_matches_and_misses_correctly(pattern: str) -> None:
    guard = Guard.from_rules([_rule(regexes=[pattern])], check_examples=False)
    assert guard.check("b" * 2000).action == "allow"
    hits = {"(?:a+)+b": "aaab", "(a|aa)*c": "aac", "(.*a){20}": "a" * 20}[pattern]
    assert guard.check(f"xx {hits} yy").action == "block"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("lose\\b(?! your card)", "lookarounds are not supported"),
        ("(?<=not )guaranteed", "lookarounds are not supported"),
        ("(?=guaranteed)guar", "lookarounds are not supported"),
        ("(guaranteed) \\1", "backreferences are not supported"),
        ("a" * 1001, "at most 1000"),
        ("guarantee(d", "missing"),
    ],
)
def test_regexes_re2_cannot_run_safely_are_refused_with_the_reason(pattern: str, why: str) -> None:
    with pytest.raises(RulePackError) as err:
        Guard.from_rules([_rule(regexes=[pattern])])
    assert "user_rule" in str(err.value) and why in str(err.value)
    with pytest.raises(RulePackError, match="lookarounds are not supported"):  # exception regexes too
        Guard.from_rules([_rule(phrases=["guaranteed returns"], exceptions={"regexes": ["a(?!b)"]})])


def test_the_default_pack_loads_on_re2_and_keeps_the_old_lookahead_behaviour(guard: Guard) -> None:
    # The pack's one lookahead ("can't lose" not followed by "your card", "access", ...) became an exception
    # regex; the session fixture compiled the pack on RE2.
    assert guard.check("With this plan you can't lose.").action == "block"
    assert guard.check("You cannot possibly lose, trust me.").action == "block"
    for text in ("Don't worry, you can't lose your card data.", "You can't lose access to the app."):
        assert guard.check(text).action == "allow", text


def test_mixed_scripts_and_long_documents_keep_character_offsets(guard: Guard) -> None:
    text = "您好，这款产品保证收益。" + "说明文字，" * 400 + "This fund has guaranteed returns."
    verdict = guard.check(text, speaker="document")
    assert verdict.action == "block"
    for m in verdict.matches:
        assert text[m.start : m.end] == m.text  # RE2 works on UTF-8 bytes; offsets come back in characters
    assert {"保证收益", "guaranteed returns"} <= {m.text for m in verdict.matches}
