"""Compliance guard: rule packs, normalisation with offsets, one-pass matching, clause scope, verdicts.

Public API::

    from assist.compliance.guard import Guard, Verdict, Match, RulePack, load_rule_pack
    guard = Guard.from_path(Path("kb_docs/rules"))            # a YAML file or a folder of them
    guard = Guard.from_rules(rule_dicts, disclosure_dicts)    # rules edited in the database
    verdict = guard.check("这款产品保本保息", speaker="agent")
    verdict.action, verdict.matches, verdict.advice, verdict.to_dict()
    guard.find_disclosures(text) -> ["wealth_risk_disclosure.not_deposit", ...]
    guard.completed_disclosures(part_ids_seen_so_far) -> ["wealth_risk_disclosure"]

Behaviour worth knowing:

- **Speakers.** ``agent``, ``suggestion`` (the product's own answers) and ``document`` (ingestion) are
  judged alike. ``customer`` is always ``allow`` with no matches: customers ask about guarantees and repeat
  what they heard; that is not the firm's word. Codes a customer reads out are a job for
  :func:`assist.privacy.redact`.
- **Agent questions.** A question is judged like a statement ("这款产品保本吗？" from the agent blocks),
  except when the trigger is about the customer's wish or words: 您是想要/您希望/您在意/您刚才问/是否/有没有,
  "are you looking for", "would you prefer", "you mentioned". A claim in the next clause still counts.
- **Scope.** Negators before the trigger in its clause are counted (odd cancels, even asserts); hedges,
  wishes, warnings and reported speech cancel; a few post-negations after the trigger count (…是不可能的,
  "… is a myth"). Negators inside the matched phrase are part of the claim (稳赚不赔, 不会亏).
  Clauses end at punctuation and at contrast words (但/可是/不过/却/也, but/however/although/and it …).
  In documents, a list item inherits the negation of its lead-in line ("坐席绝不会：", "## 禁止索取的信息").
- **Exceptions** (terms of art) are clause-scoped: one in the same clause silences that rule there.
- **Severity.** block > warn > allow; ``Verdict.advice`` is the advice of the first most severe match.
- **Regexes** run on RE2 (``assist/compliance/guard/regex.py``): linear time whatever the pattern; lookarounds and
  backreferences are refused when a rule is saved. Those of one script are first tried as one alternation;
  where it matches, each matching regex runs alone, so two rules matching at the same place both fire.
- **Failing closed.** :func:`unavailable_reason` says why a guard cannot be trusted (none, or no rules in
  force); the app's ``GuardHolder`` then raises ``GuardUnavailableError`` (503) instead of allowing.
"""

from __future__ import annotations

from assist.compliance.guard.engine import SPEAKERS, Guard, Match, Verdict, example_failures, unavailable_reason
from assist.compliance.guard.rules import Disclosure, DisclosurePart, Rule, RulePack, load_rule_pack

__all__ = [
    "SPEAKERS",
    "Disclosure",
    "DisclosurePart",
    "Guard",
    "Match",
    "Rule",
    "RulePack",
    "Verdict",
    "example_failures",
    "load_rule_pack",
    "unavailable_reason",
]
