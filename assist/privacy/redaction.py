"""redact(): the ten steps the package docstring lists, in that order; each step sees the tokens the earlier
ones left."""

from __future__ import annotations

from collections.abc import Callable

from assist.privacy.cards import redact_card_numbers, redact_numbers_in_context
from assist.privacy.personal import (
    redact_addresses,
    redact_dates_of_birth,
    redact_emails,
    redact_ibans,
    redact_names,
    redact_phones,
    redact_prc_ids,
)
from assist.privacy.secrets import redact_passcodes

STEPS: tuple[Callable[[str], str], ...] = (
    redact_emails,
    redact_ibans,
    redact_dates_of_birth,
    redact_passcodes,
    redact_prc_ids,
    redact_numbers_in_context,
    redact_card_numbers,
    redact_phones,
    redact_names,
    redact_addresses,
)


def redact(text: str) -> str:
    """Replace personal data in ``text`` with tokens, in the order the package docstring gives.

    The tokens: [EMAIL], [IBAN], [DOB], [OTP], [CVV], [PASSWORD], [ID], [CARD], [ACCOUNT], [PHONE], [NAME],
    [ADDRESS]. Linear in ``len(text)``; redacting the result again is meant to change nothing (tests check it).

    Args:
        text: A transcript turn, a guard event text or a log message.

    Returns:
        The text with every recognised value replaced; everything else unchanged.
    """
    if not text:
        return text
    out = text
    for step in STEPS:
        out = step(out)
    return out
