"""Which of a call's extracted values a ticket field takes: the customer's first of its kind (else the agent's),
a clock time before a part of the day, card digits as last corrected or confirmed, a date of the field's
direction (an event's: up to the call's day; one the customer asks for: from it on), the new card's delivery
where the turns speak of it, the currency said with the amount."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from assist.aftercall.asked_digits import asks_code, asks_other_last4, names_card_at
from assist.aftercall.cues import SaidTurn, corrected_card
from assist.aftercall.extract import dates_for
from assist.aftercall.numbers import Value
from assist.aftercall.templates import TemplateField

_CALL_DAY = {"today", "今天", "今日"}  # an agent's "today" is the call's own day ("anything else today?")


def pick(values: list[Value], kind: str, speakers: dict[int, str]) -> Value | None:
    """The first value of a kind the customer said, else the agent's. A clock time beats a part of the day
    ("昨天晚上" then "九點十五分"); an agent's "today" is not an event's date; the channel is where the
    customer says it happened (an agent's "SMS confirmation" or "phone number" is not)."""
    of_kind = [v for v in values if v.kind == kind]
    if kind == "date":
        of_kind = [v for v in of_kind if not (speakers.get(v.turn) == "agent" and v.text.lower() in _CALL_DAY)]
    if kind == "time":
        of_kind = [v for v in of_kind if ":" in v.value] or of_kind
    customer = [v for v in of_kind if speakers.get(v.turn) == "customer"]
    if kind == "channel":
        return customer[0] if customer else None
    return next(iter(customer or of_kind), None)


def currency_for(values: list[Value], amount: Value | None, speakers: dict[int, str]) -> Value | None:
    """The currency said with the amount, else the first one said."""
    if amount is not None:
        same = [v for v in values if v.kind == "currency" and v.turn == amount.turn and v.start <= amount.end]
        if same:
            return same[-1]
    return pick(values, "currency", speakers)


def typed_value(
    f: TemplateField, values: list[Value], speakers: dict[int, str], turns: Sequence[SaidTurn], ref: date
) -> Value | None:
    """A typed field's value: card digits as last corrected or confirmed, the channel a new card is delivered
    by, a date of the field's direction."""
    if f.type == "card_last4":
        cards = card_values(values, turns)
        return corrected_card(pick(cards, "card_last4", speakers), cards, turns)
    if f.fill == "delivery":
        return delivery_channel(values, turns)
    if f.type == "date":
        return pick(dates_for(values, ahead=f.fill == "ahead", ref_date=ref), "date", speakers)
    return pick(values, f.type, speakers)


_CARD_KINDS = frozenset(("card_last4", "card_fix"))


def card_values(values: list[Value], turns: Sequence[SaidTurn]) -> list[Value]:
    """The values without card digits said in answer to a question for other digits ("您手机号后四位？" →
    "尾号八八零三", a one-time code), unless the answer names them as the card's ("卡号后四位是六二零九")."""
    said = {t.turn: t for t in turns}
    proof = {
        t.turn
        for before, t in zip(turns, turns[1:], strict=False)
        if t.speaker == "customer"
        and before.speaker == "agent"
        and (asks_other_last4(before.text) or asks_code(before.text))
    }
    return [
        v
        for v in values
        if v.kind not in _CARD_KINDS or v.turn not in proof or names_card_at(said[v.turn].text, v.start, v.end)
    ]


# how a new card reaches the customer: collected (领取, pick it up) or sent (寄, post it)
_DELIVERY = re.compile(
    r"(?i)领取|領取|自取|取卡|拿卡|攞卡|拎卡|去拿|去攞|去拎|怎么拿|點攞|点攞|怎麼拿|寄|郵寄|邮寄|送到|新卡|"
    r"(?<![a-z])(?:pick (?:it |the card |them )?up|collect|post (?:it|the card)|mail (?:it|the card)|deliver|"
    r"new card|replacement)(?![a-z])"
)
DELIVERED = frozenset(("branch",))  # the one way of delivery the channels name (a card posted has none)
_OPTIONS = re.compile(r"(?i)还是|還是|定係|或者|或是|(?<![a-z])or(?![a-z])|[?？]")


def delivery_channel(values: Sequence[Value], turns: Sequence[SaidTurn]) -> Value | None:
    """The channel a new card is delivered by: the customer's first said where the turn, or the agent's
    question it answers, speaks of delivery ("I'll pick it up at the branch", "就那个支行吧" after "到网点领取，
    您选哪个网点？"), else the agent's last said so that offers no choice ("新卡到支行后…去领"); the app
    the customer checked, or a phone number said beside 寄, is no delivery."""
    said = {t.turn: t for t in turns}
    customer: list[Value] = []
    agent: list[Value] = []
    for v in values:
        t = said.get(v.turn)
        if v.kind != "channel" or v.value not in DELIVERED or t is None:
            continue
        before = said.get(v.turn - 1)
        if t.speaker == "customer" and (
            _DELIVERY.search(t.text)
            or (before is not None and before.speaker == "agent" and _DELIVERY.search(before.text))
        ):
            customer.append(v)
        elif t.speaker == "agent" and _DELIVERY.search(t.text) and not _OPTIONS.search(t.text):
            agent.append(v)
    return customer[0] if customer else agent[-1] if agent else None
