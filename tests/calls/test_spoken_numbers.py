"""English numbers said in words are written in digits for retrieval and answer choice (issue #17): the policies
write "45 calendar days" and "0.10%", a caller who asks again says "forty-five or ninety?"."""

from __future__ import annotations

import pytest

from assist.calls.asr import normalize_asr
from assist.calls.numbers import spoken_numbers


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("Forty-five or ninety? Which one, sorry?", "45 or 90? Which one, sorry?"),
        ("was that fifteen or fifty days", "was that 15 or 50 days"),
        ("zero point one and three point five percent", "0.1 and 3.5 percent"),
        ("two thousand five hundred", "2500"),
        ("two hundred and twenty", "220"),
        ("so like two hundred k", "so like 200000"),
        ("born nineteen eighty four", "born 1984"),
        ("back in twenty twenty four", "back in 2024"),
        ("the card ending six eight one", "the card ending 681"),
        ("it came out c three", "it came out c3"),
        ("so the four thousand one though", "so the 4000 one though"),  # "one" as a pronoun after a scale
    ],
)
def test_numbers_said_in_words_are_written_in_digits(said: str, written: str) -> None:
    assert spoken_numbers(said) == written


@pytest.mark.parametrize("said", ["one more thing", "the one I bought", "no numbers here", "我想问一下 三个月的定期"])
def test_text_without_a_number_said_in_words_is_left_alone(said: str) -> None:
    assert spoken_numbers(said) == said


def test_the_question_the_answer_is_chosen_for_carries_the_digits() -> None:
    assert normalize_asr("um forty-five or ninety days which one") == "45 or 90 days which one"
