"""Small fakes for the live-call tests: a keyword retriever, a phrase guard, passages in three scripts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from assist.protocols import SearchFilter, SearchResult
from assist.text import normalize, tokenize


@dataclass
class Passage:
    """One fake chunk."""

    chunk_id: str
    document_id: str
    title: str
    section: str
    text: str
    language: str
    tags: list[str] = field(default_factory=list)


PASSAGES = [
    Passage(
        "c1",
        "doc-loss-zh",
        "信用卡挂失、冻结与补卡",
        "挂失渠道",
        "信用卡丢失后请立即挂失。电话挂失即时生效，挂失后卡片无法继续使用。",
        "zh-Hans",
        ["card_loss"],
    ),
    Passage(
        "c2",
        "doc-loss-zh",
        "信用卡挂失、冻结与补卡",
        "补卡费用",
        "补卡费用为每张人民币 20 元，白金卡免收补卡费。新卡在 7 个工作日内寄出。",
        "zh-Hans",
        ["card_loss"],
    ),
    Passage(
        "c3",
        "doc-mortgage-en",
        "Mortgage Loans - Early Repayment",
        "Eligibility",
        "You may repay your mortgage early after 12 monthly payments. Partial prepayment must be at least 10,000.",
        "en",
        ["mortgage"],
    ),
    Passage(
        "c4",
        "doc-mortgage-en",
        "Mortgage Loans - Early Repayment",
        "Prepayment fee",
        "A prepayment fee of 1% of the amount repaid applies in the first three years. "
        "No fee applies after year three.",
        "en",
        ["mortgage", "prepayment_fee"],
    ),
    Passage(
        "c5",
        "doc-wealth-zh",
        "理财产品风险揭示",
        "风险提示",
        "理财非存款、产品有风险、投资须谨慎。理财产品不保证本金和收益。",
        "zh-Hans",
        ["wealth"],
    ),
    Passage(
        "c6",
        "doc-loss-hant",
        "信用卡遺失及補發",
        "補卡",
        "信用卡遺失請即致電掛失。補發新卡手續費為港幣 100 元。",
        "zh-Hant",
        ["card_loss"],
    ),
]


class FakeRetriever:
    """Token-overlap retrieval over PASSAGES; scores min-max-like in [0, 1] as the hybrid retriever's are."""

    def __init__(self, passages: list[Passage] | None = None) -> None:
        self.passages = passages if passages is not None else PASSAGES
        self.queries: list[str] = []

    def retrieve(self, query: str, *, k: int = 5, filters: SearchFilter | None = None) -> list[SearchResult]:
        self.queries.append(query)
        q = set(tokenize(query))
        scored = []
        for p in self.passages:
            overlap = len(q & set(tokenize(p.text + " " + p.title + " " + p.section)))
            if overlap:
                scored.append((overlap, p))
        scored.sort(key=lambda x: -x[0])
        top = scored[0][0] if scored else 1
        return [
            SearchResult(
                document_id=p.document_id,
                title=p.title,
                section=p.section,
                version=1,
                chunk_id=p.chunk_id,
                score=o / top,
                snippet=p.text[:80],
                text=p.text,
                language=p.language,
                tags=list(p.tags),
                scores={"bm25": float(o)},
            )
            for o, p in scored[:k]
        ]


FORBIDDEN = {
    "保本": "guaranteed_return",
    "稳赚": "guaranteed_return",
    "guaranteed return": "guaranteed_return",
    "保證回報": "guaranteed_return",
}
WARNED = {"最好": "superlative", "best product": "superlative"}


class FakeGuard:
    """Blocks a few claims, warns on superlatives; customers' questions are never claims."""

    def __init__(self, extra_block: dict[str, str] | None = None) -> None:
        self.block = {normalize(k): v for k, v in {**FORBIDDEN, **(extra_block or {})}.items()}
        self.warn = {normalize(k): v for k, v in WARNED.items()}
        self.checked: list[tuple[str, str]] = []

    def check(self, text: str, speaker: str = "agent") -> Any:
        self.checked.append((text, speaker))
        if speaker == "customer":
            return SimpleNamespace(
                action="allow", matches=[], advice="", to_dict=lambda: {"action": "allow", "matches": []}
            )
        norm = normalize(text)
        for table, action in ((self.block, "block"), (self.warn, "warn")):
            for phrase, cat in table.items():
                i = norm.find(phrase)
                if i >= 0:
                    m = {
                        "rule_id": f"no_{cat}",
                        "category": cat,
                        "severity": action,
                        "start": i,
                        "end": i + len(phrase),
                        "text": text[i : i + len(phrase)],
                    }
                    return SimpleNamespace(
                        action=action,
                        matches=[SimpleNamespace(**m)],
                        advice="不得承诺收益 / never promise returns",
                        to_dict=lambda m=m, a=action: {"action": a, "matches": [m], "advice": "never promise returns"},
                    )
        return SimpleNamespace(
            action="allow", matches=[], advice="", to_dict=lambda: {"action": "allow", "matches": []}
        )

    def find_disclosures(self, text: str) -> list[str]:
        return []

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        return []


class FakeKnowledge:
    """Stands in for KnowledgeBase: a retriever and the documents' declared next steps."""

    def __init__(self, retriever: FakeRetriever | None = None) -> None:
        self.retriever = retriever or FakeRetriever()

    def warm_up(self) -> None:
        pass

    def next_steps_for(self, document_id: str) -> list[str]:
        return {
            "doc-loss-zh": ["verify_identity", "freeze_card", "reissue_card"],
            "doc-wealth-zh": ["check_suitability", "read_risk_disclosure"],
        }.get(document_id, [])


def fake_redact(text: str) -> str:
    """Stand-in redaction: masks long digit runs (real tests use assist.redact when present)."""
    import re

    return re.sub(r"\d{12,19}", "[CARD]", text)
