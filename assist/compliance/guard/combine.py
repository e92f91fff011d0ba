"""How the claim model's reading combines with the deterministic layers (issue #16).

The rules decide wherever they found their vocabulary, the model covers the rest, and the model may veto a
rule's block when it is confident the statement is a mention (a warning, law text, a disclosure):

1. A deterministic ``block`` is vetoed (dropped) when the model's claim evidence (1 - p(none)) in the
   clause(s) around the trigger is below ``veto_below`` - unless that clause opens with a contrast word
   (但/但是/可是/不过/然而/but/however/...): "虽然不保本，但是稳赚不赔" is the classic evasion.
2. A clause whose best category reaches its warn/block threshold adds a model match, unless the rules
   found a trigger anywhere in the utterance and judged it negated/hedged/excepted, or a rule's
   exception phrase (a term of art) of the same category is in the clause.
3. block > warn > allow as before. A customer's words never reach the model.

The policy is stored in the model file's header, so a retrained model carries its own operating point.
``veto_below`` 0.3 trades recall on the project's own cases for fewer false blocks on third-party text
(docs/benchmarks.md measures both); the shipped model uses 0.1.
The measurements behind each switch are in docs/benchmarks.md (and the research report of issue #16).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from assist.compliance.guard.clauses import affirmed_after

logger = logging.getLogger(__name__)

_CONTRAST_START = re.compile(
    r"(?:但是|可是|不過|不过|然而|但|but\b|however\b|although\b|though\b|whereas\b|yet\b)", re.IGNORECASE
)
_RANK = {"allow": 0, "warn": 1, "block": 2}
#: Hedges that take back a claim about returns, risk, performance or approval ("Stocks may go up"); 不可能 /
#: 没可能 are negators of a claim (不可能亏), not hedges.
_HEDGE = re.compile(
    r"(?<![不没沒])可能|也许|也許|或许|或許|说不定|說不定|未必|不一定|\b(?:may|might|could|possibly|perhaps|maybe)\b",
    re.IGNORECASE,
)
#: A guarantee word the clause itself negates: 不保证 / 不保證 / 无担保 / 非保本 / "not guaranteed" / "we can't
#: guarantee". Such a clause discloses that nothing is guaranteed: it takes a claim back as a hedge does.
#: 不仅/不但 (not only) are no negators: the negator must stand right before the guarantee word.
_NEGATED_GUARANTEE = re.compile(
    r"(?:不|无|無|没有|沒有|并不|並不|并非|並非|非|未)(?:能|会|會|敢|可以|可)?(?:保证|保證|担保|擔保|保本|保息|承诺|承諾)"
    r"|\bnot\s+(?!only\b)(?:\w+\s+){0,2}guaranteed|\bno\s+guarantees?\b|\bnon-guaranteed"
    r"|\b(?:cannot|can't|can\s+not|don't|do\s+not|doesn't|does\s+not|won't|will\s+not|never)\s+guarantee",
    re.IGNORECASE,
)
#: The categories a hedge takes back; a hedged threat or request ("your account may be frozen") still is one.
HEDGEABLE = frozenset(
    ("guaranteed_return", "no_risk", "performance_prediction", "deposit_like", "superlative", "loan_approval")
)
#: What a credential request asks for when it asks for a SECRET, or for what a secret gives: a password,
#: passcode or PIN, a one-time or verification code (or "the six digits you just got"), the card's security
#: code (named, or described: the three digits by the signature, the back of the card, a photo of the card),
#: its full number or expiry, online-banking log-in details, the card or passbook itself, control of the
#: customer's screen or phone (screen sharing, a remote-access app, ATM steps), or the money itself moved where
#: the caller says (a "safe" or "supervised" account, "the account I give you"). "Last four digits" and
#: "security questions" are identity checks, not secrets.
_SECRET = re.compile(
    r"pass(?:word|code|phrase)|\bpins?\b|\b(?:cvv2?|cvc2?|csc|otp)\b|security\s+code|(?<!zip )(?<!post )\bcodes?\b|"
    r"(?:three|3|six|6|sixteen|16)[- ]digits?|\ball\s+(?:sixteen|16)\b|last\s+(?:three|3)\b|numbers?\s+(?:on|from)\s+"
    r"(?:the|your)\s+card|back\s+of\s+(?:the|your)\s+card|(?:by|next\s+to|beside)\s+(?:the|your)\s+signature|"
    r"turn\s+(?:the|your)\s+card\s+over|card\s+(?:number|details)|expir(?:y|ation)|photo\s+of\s+(?:the|your)\s+card|"
    r"log-?in\s+(?:details|name)|user\s*name|credentials|screen|remote|anydesk|teamviewer|install|"
    r"download\s+(?:this|the|our)\s+(?:software|app|program)|online\s+banking|bank(?:ing)?\s+details|number\s+it\s+shows|"
    r"(?:safe|secure|holding|protected|temporary)\s+(?:account|wallet)|federal\s+locker|move\s+(?:your|the|all)\s+money|"
    r"(?:move|transfer|send|wire)\s+(?:\w+\s+){0,3}(?:balance|money|funds|savings|everything)\b|"
    r"[把将將].{0,8}(?:[钱錢]|余额|餘額|[资資]金|存款|[现現]金).{0,6}[转轉汇匯存]|"
    r"\batm\b|密[码碼钥鑰]|[验驗校][证證][码碼]|校[验驗][码碼]|[提取]现[码碼]|代[码碼]|动态码|動態碼|口令|安全[码碼]|"
    r"[后後末尾]三位|背面|卡背|正反面|下[载載]|[网網][路上]([银銀]行|理[财財])|指定(?:账户|帳戶|戶口|户口|帐户)|"
    r"清查|代管|[转轉][过過]?[来來]|click|\blink\b|[連链][結结接]|[网網]站|"
    r"[三六]位[数數]|那串[数數]字|卡[号號]|有效期|[网網][银銀]|U盾|登[录錄入]|提款卡|存[摺折]|[银銀]行卡(?:信息|資料|资料)|"
    r"(?:信用卡|[银銀]行卡|卡片|[储儲]蓄卡)(?:的)?(?:照片|相片)|[屏螢萤][幕]|[画畫]面共享|共享|分享|"
    r"(?:安全|监管|監管)(?:账户|帳戶|賬戶|戶口|户口|帐户)|ATM",
    re.IGNORECASE,
)
#: A request made to the listener: 请/麻烦/需要/必须 (您) 提供/告诉…, "can you read that to me", "please tell me".
_DIRECT_REQUEST = re.compile(
    r"^(?:请|請|麻烦|麻煩|需要|必须|必須|得)(?:要)?(?:您|你)?(?:提供|告诉|告訴|告知|报|報|念|读|讀|发送|發送|说出|說出)"
    r"|\b(?:can|could|would|will) you (?:please )?(?:read|tell|give|send|say)\b|\bplease (?:read|tell|give|send|say)\b"
    r"|\b(?:read|say|tell) (?:it|that|them) (?:back )?(?:to me|to us)\b",
    re.IGNORECASE,
)
#: A request to the listener anywhere in the clause before a matched secret: 请将验证码报给我, 麻烦你把短信里的码念给我,
#: "I need you to provide the user names and passwords". The rules' own clause logic has already judged negations
#: and mentions; this only keeps the model from vetoing a direct request the match span alone does not show.
_ASKS_LISTENER = re.compile(
    r"(?:请|請|麻烦|麻煩)(?:您|你)?.{0,12}?(?:报|報|告诉|告訴|发|發|念|读|讀|说|說|提供|给|給)(?:一下)?(?:给|給)?(?:我|我们|我們)"
    r"|\b(?:i|we)\s+(?:will\s+)?(?:need|want)\s+you\s+to\s+(?:\w+\s+)?(?:provide|give|tell|read|send|share|confirm)\b",
    re.IGNORECASE,
)
_LAST_FOUR = re.compile(r"last\s+(?:four|4)\b|[后後末尾]四位|尾[号號]", re.IGNORECASE)


def names_a_secret(text: str) -> bool:
    """True when ``text`` asks about a secret (see ``_SECRET``), not only about who the caller is.

    "Card number" beside "the last four digits" is the identity check agents make, not a request for the number.
    """
    found = [m.group(0).lower() for m in _SECRET.finditer(text)]
    if not found:
        return False
    if _LAST_FOUR.search(text):
        found = [f for f in found if f not in ("card number", "卡号", "卡號")]
    return bool(found)


#: What a credential request that names no secret may do (``Policy.credential_without_secret``).
CREDENTIAL_MODES = ("block", "warn", "warn_at_block")


@dataclass(frozen=True)
class Suppressed:
    """A rule trigger the deterministic layers found but did not fire, and why.

    ``reason`` is ``exception`` (a term of art in its clause), ``negated_or_hedged``, ``negated_lead_in``
    (a list item under a negated lead-in line), ``mention`` (quoted as words: “保本”等字眼) or
    ``term_of_art`` (an exception phrase seen anywhere).
    """

    rule_id: str
    category: str
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Policy:
    """How the two layers combine; the defaults are the rule measured in issue #16.

    Attributes:
        model_adds: Let model matches raise a warn/block.
        suppress: Where a suppressed rule trigger silences the model: ``none``, ``clause`` or ``utterance``.
        suppress_any_category: A suppressed trigger of any category silences the model (else its own only).
        terms_of_art: Where a rule's exception phrase silences the model: ``none``, ``clause``,
            ``utterance``, or ``clause_same`` / ``utterance_same`` (only a model match of the rule's category).
        veto_below: A rule's block is vetoed when the claim evidence around it is below this (0 = never).
        veto_action: What a vetoed block becomes: ``allow`` (dropped) or ``warn`` (demoted).
        veto_spares_contrast: Never veto a trigger in a clause that opens with a contrast word.
        veto_spares_bare: Never veto a trigger that is nearly the whole text ("稳赚不赔。"): with no context
            around it the model cannot tell a mention, and a bare claim is a claim.
        veto_min_clauses: Veto only in utterances of at least this many clauses.
        veto_spares_secrets: Never veto a ``credential_request`` block whose matched words ask the listener
            directly (请/需要您提供…, "can you read that to me") for a secret (:func:`names_a_secret`):
            请提供…银行卡号和短信验证码. The rule already judged negation and mentions; a third-person
            description (索取…密码, "will ever ask for the code") can still be vetoed (seventh round).
        veto_spares_categories: Rule categories whose blocks are never vetoed. Pressure, private dealing and
            suitability inducement are acts (a deadline pushed, a deal off the books, a risk score to be raised):
            the rules' clause logic already judged their negations and mentions, and on the five spent outside
            sets every block the veto threw away in them was a correct one, while every false block the veto
            saved was a mention of a return, risk or deposit claim (eighth round).
        model_max_action: The most the model alone may do (``block`` or ``warn``).
        hedges_silence: A hedge in the clause (may, might, 可能, 也许, ...) keeps the model from adding a match
            of a :data:`HEDGEABLE` category there, as a hedge cancels a rule's trigger; a negated guarantee word
            (不保證, "not guaranteed") likewise.
        credential_without_secret: What the model's ``credential_request`` match may do where the text names
            or describes no secret (:func:`names_a_secret`): ``block`` (as any match), ``warn`` (warn at most)
            or ``warn_at_block`` (warn, and only where its score reaches the block threshold). Every call opens
            with "for your security I need to verify your identity", and scam scripts open the same way: the
            difference is asking for the code, the PIN or the digits on the back of the card.
    """

    model_adds: bool = True
    suppress: str = "utterance"
    suppress_any_category: bool = True
    terms_of_art: str = "clause_same"
    veto_below: float = 0.1
    veto_action: str = "allow"
    veto_spares_contrast: bool = True
    veto_spares_bare: bool = True
    veto_min_clauses: int = 1
    veto_spares_secrets: bool = True
    veto_spares_categories: tuple[str, ...] = ("pressure", "private_dealing", "suitability_inducement")
    model_max_action: str = "block"
    hedges_silence: bool = True
    credential_without_secret: str = "warn"

    def __post_init__(self) -> None:
        if self.suppress not in ("none", "clause", "utterance"):
            raise ValueError(f"policy.suppress must be none, clause or utterance, got {self.suppress!r}")
        if self.terms_of_art.removesuffix("_same") not in ("none", "clause", "utterance"):
            raise ValueError(f"policy.terms_of_art: unknown value {self.terms_of_art!r}")
        if self.veto_action not in ("allow", "warn") or self.model_max_action not in ("block", "warn"):
            raise ValueError(f"policy: bad veto_action {self.veto_action!r} or model_max_action")
        if self.credential_without_secret not in CREDENTIAL_MODES:
            modes = ", ".join(CREDENTIAL_MODES)
            raise ValueError(
                f"policy.credential_without_secret must be one of {modes}, got {self.credential_without_secret!r}"
            )
        if isinstance(self.veto_spares_categories, str) or not all(
            isinstance(c, str) for c in self.veto_spares_categories
        ):
            raise ValueError(
                f"policy.veto_spares_categories must be a list of categories, got {self.veto_spares_categories!r}"
            )
        object.__setattr__(self, "veto_spares_categories", tuple(self.veto_spares_categories))
        if not 0.0 <= self.veto_below < 1.0:
            raise ValueError(f"policy.veto_below must be in [0, 1), got {self.veto_below}")

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> Policy:
        """The policy recorded in a model file's header (unknown keys are ignored; defaults fill the rest)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(meta or {}).items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the model file's header)."""
        return asdict(self)


def _overlapping(a: int, b: int, spans: Sequence[tuple[int, int]]) -> list[int]:
    return [i for i, (x, y) in enumerate(spans) if a < y and x < b]


def _term_of_art_silences(s: Suppressed, a: int, b: int, cat: str, policy: Policy) -> bool:
    same = policy.terms_of_art.endswith("_same")
    scope = policy.terms_of_art.removesuffix("_same")
    near = scope == "utterance" or (scope == "clause" and a < s.end and s.start < b)
    return near and (not same or s.category == cat)


def model_allowed(
    suppressed: Sequence[Suppressed],
    spans: Sequence[tuple[int, int]],
    probs: np.ndarray,
    categories: Sequence[str],
    policy: Policy,
    text: str | None = None,
) -> np.ndarray:
    """Per clause: may the model add a match there (the suppression half of the rule)?

    With ``text``, a hedge in a clause silences the model there for the hedgeable categories.
    """
    allowed = np.full(len(spans), policy.model_adds, bool)
    if not policy.model_adds:
        return allowed
    for i, (a, b) in enumerate(spans):
        cat = categories[int(np.argmax(probs[i, 1:])) + 1]
        if text is not None and policy.hedges_silence and _taken_back(text, a, b, cat):
            allowed[i] = False
            continue
        for s in suppressed:
            if s.reason == "term_of_art":
                silenced = _term_of_art_silences(s, a, b, cat, policy)
            else:
                near = policy.suppress == "utterance" or (policy.suppress == "clause" and a < s.end and s.start < b)
                silenced = near and (policy.suppress_any_category or s.category == cat)
            if silenced:
                allowed[i] = False
                break
    return allowed


def _taken_back(text: str, a: int, b: int, category: str) -> bool:
    """True when clause ``text[a:b]`` takes a claim of ``category`` back: a hedge, or a negated guarantee
    (不保證出借成功 promises neither a return nor an approval)."""
    if category not in HEDGEABLE:
        return False
    return _HEDGE.search(text, a, b) is not None or _NEGATED_GUARANTEE.search(text, a, b) is not None


def _bare(m: Any, text: str) -> bool:
    """True when the trigger is nearly the whole text (at most 2 other letters or digits): "稳赚不赔。"."""
    return sum(ch.isalnum() for ch in text[: m.start] + text[m.end :]) <= 2


def _spared(m: Any, spans: Sequence[tuple[int, int]], own: list[int], policy: Policy, text: str, known: Any) -> bool:
    if m.severity != "block" or m.category not in known:
        return True  # only a block is vetoed, and only in a category the model was trained on
    if m.category in policy.veto_spares_categories or affirmed_after(text, m.end):
        return True  # 保本保息绝对没问题: the model reads the 没 of 没问题 as a negation; the rules do not
    if policy.veto_spares_contrast and any(_CONTRAST_START.match(text, spans[i][0]) for i in own):
        return True
    secret = m.category == "credential_request" and names_a_secret(m.text)
    asked = secret and (_DIRECT_REQUEST.search(m.text) is not None or _asks_listener(m, spans, own, text))
    if policy.veto_spares_secrets and asked:
        return True
    return policy.veto_spares_bare and _bare(m, text)


def _asks_listener(m: Any, spans: Sequence[tuple[int, int]], own: list[int], text: str) -> bool:
    """True when the clause holding the match asks the listener for it, up to the match's end."""
    start = min((spans[i][0] for i in own), default=m.start)
    return _ASKS_LISTENER.search(text[start : m.end]) is not None


def veto_evidence(
    matches: Sequence[Any],
    spans: Sequence[tuple[int, int]],
    probs: np.ndarray,
    policy: Policy,
    text: str,
    categories: Sequence[str] = (),
) -> list[float | None]:
    """Per deterministic match: the model's claim evidence when it vetoes that block, else None.

    A rule of a category the model does not know (``categories``: the model's) is never vetoed.
    """
    if policy.veto_below <= 0 or not len(spans) or len(spans) < policy.veto_min_clauses:
        return [None] * len(matches)
    known = frozenset(categories[1:])
    evidence = 1.0 - probs[:, 0]
    out: list[float | None] = []
    for m in matches:
        own = _overlapping(m.start, m.end, spans)
        if _spared(m, spans, own, policy, text, known):
            out.append(None)
            continue
        score = float(evidence[own or list(range(len(spans)))].max())
        out.append(score if score < policy.veto_below else None)
    return out


def deterministic_action(
    matches: Sequence[Any],
    spans: Sequence[tuple[int, int]],
    probs: np.ndarray,
    policy: Policy,
    text: str,
    categories: Sequence[str] = (),
) -> str:
    """The deterministic layers' action after the model's veto (used by calibration)."""
    best = "allow"
    for m, v in zip(matches, veto_evidence(matches, spans, probs, policy, text, categories), strict=True):
        sev = m.severity if v is None else policy.veto_action
        if _RANK[sev] > _RANK[best]:
            best = sev
    return best


def model_action(
    model: Any, probs_row: np.ndarray, policy: Policy, text: str | None = None
) -> tuple[int, float, str | None]:
    """``(category index, probability, block|warn|None)`` of one clause under the model's thresholds.

    With ``text`` (the utterance the clause is in), the thresholds are its script's when the model keeps them
    per script, and a credential request that names no secret warns at most
    (``Policy.credential_without_secret``).
    """
    k = int(np.argmax(probs_row[1:])) + 1
    p = float(probs_row[k])
    per_text = getattr(model, "thresholds_for", None)
    block, warn = per_text(text) if per_text is not None else (model.block, model.warn)
    action = "block" if p >= block[k] else "warn" if p >= warn[k] else None
    if action == "block" and policy.model_max_action == "warn":
        action = "warn"
    mode = policy.credential_without_secret
    if (
        action is not None
        and text is not None
        and mode != "block"
        and model.categories[k] == "credential_request"
        and not names_a_secret(text)
    ):
        action = "warn" if mode == "warn" or p >= block[k] else None
    return k, p, action


# long function: the rules' verdict and the model's joined case by case, in the order the policy states
def combine(
    reading: Any,
    text: str,
    matches: Sequence[Any],
    suppressed: Sequence[Suppressed],
    *,
    advice: dict[str, str] | None = None,
    veto: bool = True,
) -> list[Any]:
    """The combined guard's matches for one text.

    Args:
        reading: The claim layer's :class:`~assist.compliance.guard.model.ClaimReading` of ``text``.
        text: The text judged.
        matches: The deterministic layers' matches (``Match``; ``layer`` phrase or regex).
        suppressed: The triggers the deterministic layers judged negated/hedged/excepted, and the terms of
            art they saw (see :class:`Suppressed`).
        advice: Advice per category for the model's matches (the first rule's of that category).
        veto: Let the model veto a rule's block. Off for documents: a passage of a draft mixes claims with
            editors' and compliance notes, and read in that company a claim looks like a mention (the sample
            marketing draft's "本产品保本保收益" scores 0.001 there), so a document keeps every rule's block.

    Returns:
        The matches that stand: deterministic ones not vetoed, plus the model's, each model match with
        ``layer="model"``, its score and its nearest labelled examples.
    """
    from assist.compliance.guard.engine import Match

    model, policy = reading.model, reading.policy
    spans, probs = reading.spans, reading.probabilities
    out: list[Any] = []
    vetoes = veto_evidence(matches, spans, probs, policy, text, model.categories) if veto else [None] * len(matches)
    for m, v in zip(matches, vetoes, strict=True):
        if v is None:
            out.append(m)
        elif policy.veto_action == "warn":
            out.append(Match(**{**_fields(m), "severity": "warn", "score": round(v, 4)}))
        else:
            logger.info("model vetoed a block", extra={"rule_id": m.rule_id, "claim_evidence": round(v, 4)})
    allowed = model_allowed(suppressed, spans, probs, model.categories, policy, text)
    for i, (a, b) in enumerate(spans):
        if not allowed[i]:
            continue
        k, p, action = model_action(model, probs[i], policy, text)
        cat = model.categories[k]
        if action is None or _covered(out, a, b, cat, action):
            continue
        neighbours = model.neighbours(reading.clause_vectors[i])
        out.append(
            Match(
                f"model.{cat}",
                cat,
                action,
                a,
                b,
                text[a:b],
                (advice or {}).get(cat, ""),
                int(model.meta.get("model_version", 1)),
                layer="model",
                score=round(p, 4),
                neighbours=tuple(neighbours),
            )
        )
    return out


def _covered(standing: Sequence[Any], a: int, b: int, category: str, action: str) -> bool:
    """True when a standing rule match of the same category and at least this severity is in the clause."""
    return any(
        m.layer != "model"
        and m.category == category
        and m.start < b
        and a < m.end
        and _RANK[m.severity] >= _RANK[action]
        for m in standing
    )


def _fields(m: Any) -> dict[str, Any]:
    return {f.name: getattr(m, f.name) for f in fields(m)}
