"""QA scorecards: an ended call checked against the rubric (``kb_docs/qa/rubric.yaml``).

Each criterion gives a verdict (passed, failed, or None when it does not apply to the call) with the turns
it rests on and a reason. score = 100 × passed weight / applicable weight; a failed critical criterion
zeroes it. Everything is deterministic phrase matching on the stored (redacted) turns, the call's guard
alerts, its topics and its tickets: scoring a call takes milliseconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assist.aftercall import cues
from assist.aftercall.qa_meaning import TurnJudge
from assist.aftercall.templates import LANGUAGES
from assist.aftercall.tickets import CallTurn
from assist.errors import TemplateError
from assist.models.aftercall import Verdict
from assist.text import normalize

logger = logging.getLogger(__name__)

CriterionType = Literal[
    "identity_before_details", "disclosures", "forbidden_claims", "ticket", "greeting", "closing", "escalation"
]


# a space beside a Han character is no word break ("登記嘅 email 係", "新 email"): ASR and writers put one
# between scripts at will, so phrases and turns are compared without it
_HAN_GAP = re.compile(r"\s+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s+")


class Phrases:
    """Phrases matched after normalisation; ASCII ones on word boundaries (linear: escaped literals only);
    non-ASCII ones without the spaces beside Han characters."""

    def __init__(self, phrases: list[str]) -> None:
        self.literal: list[str] = []
        self.words: list[re.Pattern[str]] = []
        for p in phrases:
            norm = normalize(str(p)).strip()
            if not norm:
                continue
            if norm.isascii():
                body = re.escape(norm).replace(r"\ ", r"\s+")
                self.words.append(re.compile(r"(?<![a-z0-9])" + body + r"(?![a-z0-9])"))
            else:
                self.literal.append(_HAN_GAP.sub("", norm))

    def hit(self, text: str) -> bool:
        """Whether the text holds any phrase."""
        norm = normalize(text)
        squeezed = _HAN_GAP.sub("", norm) if self.literal else norm
        return any(p in squeezed for p in self.literal) or any(rx.search(norm) for rx in self.words)


def phrases(items: Iterable[str]) -> Phrases:
    """The compiled `Phrases` of these phrases (compiled once per distinct list, then kept: a call is scored
    criterion by criterion over the same turns, and compiling per turn was most of the matching's cost)."""
    return _compiled(tuple(str(p) for p in items))


@lru_cache(maxsize=512)
def _compiled(items: tuple[str, ...]) -> Phrases:
    return Phrases(list(items))


def compile_phrases(rubric: Rubric, verify_phrases: list[str]) -> int:
    """Compile every phrase list the rubric's checks read, now (start-up), not when the first call is scored;
    returns how many lists. `verify_phrases`: the playbook step's own, read with the identity criterion's."""
    lists: list[list[str]] = []
    for c in rubric.criteria:
        lists += [[*verify_phrases, *c.phrases], c.phrases, c.details, c.ask_phrases, c.ask_nouns, c.ask_verbs]
        lists += [c.callback] if c.callback else []
        lists += [c.offer_not, c.farewells, c.thanks]
        lists += [part.phrases for d in c.disclosures for part in d.parts]
    for items in lists:
        phrases(items)
    return len(lists)


class DisclosurePart(BaseModel):
    """One part of a disclosure, said when any of its phrases is."""

    model_config = ConfigDict(extra="forbid")
    id: str
    phrases: list[str] = Field(min_length=1)


class Disclosure(BaseModel):
    """A disclosure the topics require."""

    model_config = ConfigDict(extra="forbid")
    id: str
    topics: list[str] = Field(min_length=1)
    label: dict[str, str] = Field(default_factory=dict)
    parts: list[DisclosurePart] = Field(min_length=1)
    # not due by topic when the topics also hold one of these (a savings insurance plan reads as wealth too)
    not_with: list[str] = Field(default_factory=list)


class Criterion(BaseModel):
    """One rubric criterion: its type decides which of the options below it reads."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: CriterionType
    label: dict[str, str]
    weight: float = Field(default=1.0, gt=0, le=100)
    critical: bool = False
    phrases: list[str] = Field(default_factory=list)
    step: str | None = None
    details: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    disclosures: list[Disclosure] = Field(default_factory=list)
    min_share: float = Field(default=1.0, gt=0, le=1)
    within_turns: int = Field(default=2, ge=1, le=50)
    asks: int = Field(default=2, ge=1, le=10)
    ask_phrases: list[str] = Field(default_factory=list)
    ask_nouns: list[str] = Field(default_factory=list)  # someone senior: an ask with one of ask_verbs
    ask_verbs: list[str] = Field(default_factory=list)
    ask_except: list[str] = Field(default_factory=list)  # nouns that name someone else ("客户经理")
    offer_not: list[str] = Field(default_factory=list)  # an offer's clause with one of these is a refusal
    callback: list[str] = Field(default_factory=list)  # with a senior noun in one clause: a call-back offered
    # by meaning (qa_meaning.py): example groups of agent turns, and how close a turn must be to count
    examples: dict[str, list[str]] = Field(default_factory=dict)
    min_similarity: float = Field(default=0.86, gt=0, le=1)
    min_margin: float = Field(default=0.02, ge=0, le=1)  # over the runner-up group
    not_for_templates: list[str] = Field(default_factory=list)  # disclosures: not due on these tickets' calls
    categories: list[str] = Field(default_factory=list)  # forbidden claims: the guard categories that count
    # closing: a farewell (拜拜, bye) closes the call when said with a thank-you (thanks) in the same turn
    farewells: list[str] = Field(default_factory=list)
    thanks: list[str] = Field(default_factory=list)

    @field_validator("label")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in LANGUAGES if not v.get(lang)]
        if missing:
            raise ValueError(f"label needs {', '.join(LANGUAGES)}; missing {', '.join(missing)}")
        return v


class Rubric(BaseModel):
    """The rubric file, validated."""

    model_config = ConfigDict(extra="forbid")
    id: str
    version: int = Field(default=1, ge=1)
    label: dict[str, str] = Field(default_factory=dict)
    correction_within_turns: int = Field(default=2, ge=1, le=20)
    criteria: list[Criterion] = Field(min_length=1)

    def criterion(self, criterion_id: str) -> Criterion | None:
        """The criterion with this id."""
        return next((c for c in self.criteria if c.id == criterion_id), None)


def load_rubric(path: Path) -> Rubric:
    """The rubric at `path`.

    Raises:
        TemplateError: unreadable, or invalid (the message names the file and each bad value).
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rubric = Rubric.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path.name}: cannot read the rubric: {exc}") from exc
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'rubric'}: {e['msg']}" for e in exc.errors())
        raise TemplateError(f"{path.name}: {why}") from exc
    ids = [c.id for c in rubric.criteria]
    if len(set(ids)) != len(ids):
        raise TemplateError(f"{path.name}: criterion ids must be unique")
    return rubric


@dataclass
class CallFacts:
    """What a scorecard is computed from."""

    turns: list[CallTurn]
    topics: set[str]
    alerts: list[dict[str, Any]] = field(default_factory=list)  # {"turn", "speaker", "action", "categories"}
    ticket_submitted: bool = False
    language: str = "en"
    verify_phrases: list[str] = field(default_factory=list)  # the playbook step's own
    topics_in: Callable[[str], list[str]] = lambda _t: []
    template: str | None = None  # the ticket template the call needs (None: none)
    judge: TurnJudge | None = None  # reads agent turns by meaning (None: phrases only)
    # the live engine's own reading of the steps (Call.state): the turn that completed each step, for the
    # steps it ticked; None when the call holds no such reading (the turn model's heads then read the turns)
    live_steps: dict[str, int] | None = None

    def judge_for(self, t: CallTurn) -> TurnJudge | None:
        """The judge for this turn: None on an agent line the guard blocked, which, as on the live path
        (assist/calls/reading.py), counts for nothing by meaning; its phrases still count. (The live engine
        computes no vector for such a line, so reading it here would run the model after the call ended.)"""
        if self.judge is None or t.speaker != "agent":
            return self.judge
        blocked = any(
            a.get("speaker") == "agent" and a.get("action") == "block" and int(a.get("turn") or 0) == t.turn
            for a in self.alerts
        )
        return None if blocked else self.judge

    def step_done(self, step: str, t: CallTurn) -> bool:
        """Whether the agent turn completed the step as the turn model reads it: the live engine's reading
        when the call holds one (the checklist the agent saw; nothing to run after the end), else the
        judge's step heads."""
        if self.live_steps is not None:
            return self.live_steps.get(step) == t.turn
        judge = self.judge_for(t)
        return judge is not None and step in judge.steps_done(t.text)

    def reads(self, c: Criterion, t: CallTurn, group: str) -> bool:
        """Whether the judge reads the agent turn as the criterion's example group `group`."""
        judge = self.judge_for(t)
        return judge is not None and judge.group(c, t.text) == group

    def agent(self) -> list[CallTurn]:
        return [t for t in self.turns if t.speaker == "agent"]

    def customer(self) -> list[CallTurn]:
        return [t for t in self.turns if t.speaker == "customer"]


def _verdict(c: Criterion, facts: CallFacts, passed: bool | None, turns: list[int], reason: str) -> Verdict:
    return Verdict(
        id=c.id,
        label=c.label.get(facts.language) or c.label["en"],
        passed=passed,
        critical=c.critical,
        weight=c.weight,
        turns=sorted(set(turns)),
        reason=reason,
    )


def _identity(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    """Verified (phrases, the turn model's verify_identity step, the agent thanking the caller for the last
    identity answer and asking no more, or by meaning) before the first detail (phrases or by meaning); a call
    verified with no detail before it passes; neither: does not apply."""
    verify, details = phrases([*f.verify_phrases, *c.phrases]), phrases(c.details)
    thanked = cues.thanks_for_proof(f.turns)
    # ID&V is questions and answers: by meaning, a turn verifies only after the agent asked for something
    # ("您的意見我們一定會轉給主管" reads close to a confirmation, but nothing was checked), and not a turn
    # that reads a detail out ("你登记嘅地址係[ADDRESS]，係咪？": a disclosure)
    asked = next((t.turn for t in f.agent() if cues.starts_check(t.text)), None)

    def verifies(t: CallTurn) -> bool:
        said = (verify.hit(t.text) or cues.says_confirmed(t.text)) and not cues.asks_identity(t.text)
        if said or f.step_done("verify_identity", t) or t.turn in thanked:  # still asking for proof: not yet
            return True
        by_meaning = asked is not None and asked < t.turn and f.reads(c, t, "verified")
        return by_meaning and not _reads_out(details, t.text)

    verified = next((t for t in f.agent() if verifies(t)), None)
    before = [t for t in f.agent() if verified is None or t.turn < verified.turn]
    first_detail = next((t for t in before if _discloses(c, f, details, t)), None)
    if first_detail is not None:
        why = "never verified" if verified is None else f"verified only at turn {verified.turn}"
        return _verdict(c, f, False, [first_detail.turn], f"details at turn {first_detail.turn}, {why}")
    if verified is None:
        return _verdict(c, f, None, [], "no account or card details were discussed")
    return _verdict(c, f, True, [verified.turn], f"verified at turn {verified.turn}, before any detail")


_SENTENCE = re.compile(r"[^。.!！?？]+[。.!！?？]*")
# a value read out (digits, a redacted address or number) or the agent saying what the account shows
_SHOWS = re.compile(
    r"(?i)[0-9]|\[(?:ADDRESS|PHONE|EMAIL|DOB|CARD|ID)\b|i can see|i see|看到|睇到|见到|見到|显示|顯示|查到"
    # a value on file read back: "the email we have on file is ...", "你登記嘅電郵係 ..."
    r"|(?:on file|registered with us|we have for you) is\b|登[记記](?:的|嘅)[^，。,?？]{0,8}(?:是|係)"
)


def _reads_out(details: Phrases, text: str) -> bool:
    """A sentence with a detail phrase that reads a value out (digits, a redacted value, "I can see")."""
    return any(details.hit(s) and _SHOWS.search(s) for s in _SENTENCE.findall(text))


def _discloses(c: Criterion, f: CallFacts, details: Phrases, t: CallTurn) -> bool:
    """A turn read as disclosing details by meaning (one that speaks of the caller's own account and says a
    value or a detail: not a greeting, nor the bank's rules in general), or a detail phrase in a sentence
    that reads a value out ("你登记嘅地址係[ADDRESS]，係咪呢个？") or is no question or request asking for
    it ("City of your statement address?", "再说一下对账单地址所在城市。"), in a turn not read as asking."""
    if f.reads(c, t, "details") and cues.about_caller(t.text) and (cues.holds_value(t.text) or details.hit(t.text)):
        return True
    for sentence in _SENTENCE.findall(t.text):
        if not details.hit(sentence):
            continue
        if _SHOWS.search(sentence):
            return True
        if sentence.rstrip().endswith(("?", "？")) or cues.asks_to_say(sentence):
            continue
        judge = f.judge_for(t)
        if judge is None or judge.nearest(c, t.text) != "asking":
            return True
    return False


def _due(d: Disclosure, f: CallFacts) -> bool:
    """By topic (unless the topics also hold one of `not_with`), or begun: the agent read two parts of a
    disclosure of several, or the one part of a disclosure of one (犹豫期 said: an insurance product was
    discussed), whatever the call's topics say (a wealth product offered on a call about deposits)."""
    if set(d.topics) & f.topics and not set(d.not_with) & f.topics:
        return True
    said = sum(any(phrases(p.phrases).hit(t.text) for t in f.agent()) for p in d.parts)
    return said >= min(2, len(d.parts))


def _disclosures(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    due = [d for d in c.disclosures if _due(d, f)]
    if due and f.template is not None and f.template in c.not_for_templates:
        return _verdict(c, f, None, [], f"a {f.template} call: a complaint, not a sale")
    if not due:
        return _verdict(c, f, None, [], "no topic of the call requires a disclosure")
    turns: list[int] = []
    reasons, ok = [], True
    for d in due:
        said = 0
        for part in d.parts:
            hit = next((t for t in f.agent() if phrases(part.phrases).hit(t.text)), None)
            if hit is not None:
                said += 1
                turns.append(hit.turn)
        share = said / len(d.parts)
        ok = ok and share >= c.min_share
        reasons.append(f"{d.id}: {said}/{len(d.parts)} parts said ({share:.0%})")
    return _verdict(c, f, ok, turns, "; ".join(reasons))


def _forbidden(c: Criterion, f: CallFacts, r: Rubric) -> Verdict:
    counts = set(c.categories)
    blocked = sorted(
        {
            int(a["turn"])
            for a in f.alerts
            if a.get("speaker") == "agent"
            and a.get("action") == "block"
            and (not counts or counts & set(a.get("categories") or []))
        }
    )
    if not blocked:
        return _verdict(c, f, True, [], "no forbidden claim")
    fix = phrases(c.phrases)
    turns, uncorrected = list(blocked), []
    for turn in blocked:
        window = [t for t in f.agent() if turn < t.turn <= turn + r.correction_within_turns]
        corrected = next((t for t in window if fix.hit(t.text)), None)
        if corrected is None:
            uncorrected.append(turn)
        else:
            turns.append(corrected.turn)
    if uncorrected:
        where = ", ".join(map(str, uncorrected))
        return _verdict(
            c,
            f,
            False,
            turns,
            f"forbidden claim at turn {where} not corrected within {r.correction_within_turns} turns",
        )
    return _verdict(c, f, True, turns, f"{len(blocked)} forbidden claim(s), each corrected")


def _ticket(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    """Needed when a ticket topic is raised or a template is chosen for the call; passed when a ticket was
    submitted, or the agent says the case was registered (phrases or by meaning)."""
    needs = set(c.topics) & f.topics
    if not needs and f.template is None:
        return _verdict(c, f, None, [], "no topic of the call needs a ticket")
    what = ", ".join(sorted(needs)) or str(f.template)
    raised = [t.turn for t in f.customer() if set(f.topics_in(t.text)) & needs][:3]
    if f.ticket_submitted:
        return _verdict(c, f, True, raised, "ticket submitted")
    said = phrases(c.phrases)  # by meaning, only a turn that names a record ("我幫你 update 咗" is no ticket)

    def logs(t: CallTurn) -> bool:
        by_meaning = f.reads(c, t, "logged") and cues.names_record(t.text)
        return said.hit(t.text) or cues.says_logged(t.text) or by_meaning

    logged = next((t for t in f.agent() if logs(t)), None)
    if logged is not None:
        return _verdict(c, f, True, [*raised, logged.turn], f"the agent registered the case at turn {logged.turn}")
    return _verdict(c, f, False, raised, f"no ticket submitted for {what}")


def _greeting(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    first = f.agent()[: c.within_turns]
    hit = next((t for t in first if phrases(c.phrases).hit(t.text)), None)
    if not first:
        return _verdict(c, f, None, [], "the agent said nothing")
    if hit:
        return _verdict(c, f, True, [hit.turn], "greeted")
    return _verdict(c, f, False, [t.turn for t in first], "no greeting in the agent's first turns")


def _closes(c: Criterion, text: str) -> bool:
    """A closing phrase, or a farewell with a thank-you ("多謝你，拜拜"; "Bye." alone is none)."""
    return phrases(c.phrases).hit(text) or (phrases(c.farewells).hit(text) and phrases(c.thanks).hit(text))


def _closing(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    last = f.agent()[-c.within_turns :]
    hit = next((t for t in reversed(last) if _closes(c, t.text)), None)
    if not last:
        return _verdict(c, f, None, [], "the agent said nothing")
    if hit:
        return _verdict(c, f, True, [hit.turn], "closed properly")
    return _verdict(c, f, False, [t.turn for t in last], "no closing in the agent's last turns")


def _asks(c: Criterion, text: str) -> bool:
    """The customer asks for someone senior: an ask phrase, or a senior noun (not one of `ask_except`) in
    a turn with an ask verb."""
    if phrases(c.ask_phrases).hit(text):
        return True
    rest = normalize(text)
    for other in c.ask_except:
        rest = rest.replace(normalize(other), " ")
    return phrases(c.ask_nouns).hit(rest) and phrases(c.ask_verbs).hit(rest)


_CLAUSE = re.compile(r"[^，,。.!！?？;；…]+")


def _offers(c: Criterion, text: str) -> bool:
    """An offer phrase, or someone senior (ask_nouns) calling back (callback), in a clause that does not
    refuse ("There isn't anyone I can put you through to", "经理不会给您回电")."""
    offer, refusal = phrases(c.phrases), phrases(c.offer_not)
    if any(offer.hit(part) and not refusal.hit(part) for part in _CLAUSE.findall(text)):
        return True
    senior, callback = phrases(c.ask_nouns), phrases(c.callback)
    for sentence in _SENTENCE.findall(text) if c.callback else []:
        rest = normalize(sentence)
        for other in c.ask_except:
            rest = rest.replace(normalize(other), " ")
        if callback.hit(sentence) and senior.hit(rest) and not refusal.hit(sentence):
            return True
    return False


def _escalation(c: Criterion, f: CallFacts, _r: Rubric) -> Verdict:
    asks = [t.turn for t in f.customer() if _asks(c, t.text)]
    if len(asks) < c.asks:
        return _verdict(c, f, None, asks, f"the customer asked {len(asks)} time(s)")
    offer = next((t for t in f.agent() if t.turn > asks[0] and _offers(c, t.text)), None)
    if offer is not None:
        return _verdict(c, f, True, [*asks[: c.asks], offer.turn], f"offered at turn {offer.turn}")
    return _verdict(c, f, False, asks, f"asked {len(asks)} times, escalation never offered")


CHECKS: dict[str, Callable[[Criterion, CallFacts, Rubric], Verdict]] = {
    "identity_before_details": _identity,
    "disclosures": _disclosures,
    "forbidden_claims": _forbidden,
    "ticket": _ticket,
    "greeting": _greeting,
    "closing": _closing,
    "escalation": _escalation,
}


def score_of(verdicts: list[Verdict]) -> float:
    """100 × passed weight / applicable weight; 0 when a critical criterion failed; 100 when none applies."""
    if any(v.critical and v.passed is False for v in verdicts):
        return 0.0
    applicable = [v for v in verdicts if v.passed is not None]
    total = sum(v.weight for v in applicable)
    return round(100.0 * sum(v.weight for v in applicable if v.passed) / total, 1) if total else 100.0


def score_call(rubric: Rubric, facts: CallFacts) -> tuple[float, list[Verdict]]:
    """The call's score and each criterion's verdict."""
    verdicts = [CHECKS[c.type](c, facts, rubric) for c in rubric.criteria]
    return score_of(verdicts), verdicts


def apply_overrides(verdicts: list[Verdict], overrides: dict[str, tuple[bool | None, str]]) -> list[Verdict]:
    """The verdicts with reviewers' overrides (criterion → (passed, note)) in place of the automatic ones."""
    out = []
    for v in verdicts:
        if v.id in overrides:
            passed, note = overrides[v.id]
            v = v.model_copy(update={"auto_passed": v.passed, "passed": passed, "override_note": note})
        out.append(v)
    return out
