"""The test fakes, in one place: a keyword retriever over passages in three scripts, a phrase guard that
returns real Verdicts, a knowledge base, a guard provider, redaction, the fake embedder and chat model.

Import them as `from tests.fakes import ...`; the tests never edit the import path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assist.compliance.guard.engine import Match, Verdict
from assist.compliance.guard.model import ClaimLayer
from assist.compliance.guard.rules import Rule
from assist.protocols import Embedder, Guard, SearchFilter, SearchResult
from assist.text import normalize, tokenize
from ingest.embedders import HashEmbedder


def fake_rule(rule_id: str, category: str, severity: str = "block", advice: str = "") -> Rule:
    """A rule a fake guard reports as in force (it matches nothing itself: the fake decides)."""
    return Rule(
        id=rule_id,
        category=category,
        severity=severity,
        languages=("zh", "en"),
        phrases=(),
        regexes=(),
        exceptions=(),
        exception_regexes=(),
        positive=(),
        negative=(),
        advice=advice,
        source="test",
    )


def search_result(
    doc: str,
    text: str,
    *,
    section: str = "section",
    score: float = 1.0,
    language: str = "zh-Hans",
    product: str | None = None,
    e5: float | None = None,
    tags: list[str] | None = None,
) -> SearchResult:
    """A retrieved passage of document `doc` (its own product unless given; an e5 similarity and the document's
    tags if given)."""
    return SearchResult(
        document_id=doc,
        title=doc,
        section=section,
        version=1,
        chunk_id=f"{doc}/{section}",
        score=score,
        snippet=text,
        text=text,
        language=language,
        product=product or doc,
        tags=list(tags or []),
        scores={} if e5 is None else {"e5": e5},
    )


def fake_embedder(dim: int = 256) -> HashEmbedder:
    """The fake embedder: signed hashing of character n-grams (deterministic, no model)."""
    return HashEmbedder(dim)


def fake_chat_model(*responses: str) -> FakeListChatModel:
    """LangChain's fake chat model, answering `responses` in turn (streamed one character at a time)."""
    return FakeListChatModel(responses=list(responses))


class FixedGuard:
    """A guard provider that always hands out the same guard, as it is (the app's is a GuardHolder, which
    turns a guard without rules away first)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def get(self) -> Guard:
        return self.guard


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
ADVICE = "不得承诺收益 / never promise returns"


class FakeGuard:
    """Blocks a few claims, warns on superlatives; customers' questions are never claims."""

    def __init__(self, extra_block: dict[str, str] | None = None) -> None:
        self.block = {normalize(k): v for k, v in {**FORBIDDEN, **(extra_block or {})}.items()}
        self.warn = {normalize(k): v for k, v in WARNED.items()}
        self.checked: list[tuple[str, str]] = []
        found = [(cat, "block") for cat in self.block.values()] + [(cat, "warn") for cat in self.warn.values()]
        self._rules = [fake_rule(f"no_{cat}", cat, severity, ADVICE) for cat, severity in dict(found).items()]
        self._claims: ClaimLayer | None = None

    @property
    def rules(self) -> list[Rule]:
        return self._rules

    def check(self, text: str, speaker: str = "agent") -> Verdict:
        self.checked.append((text, speaker))
        if speaker == "customer":
            return Verdict("allow", speaker=speaker)
        norm = normalize(text)
        for table, action in ((self.block, "block"), (self.warn, "warn")):
            for phrase, cat in table.items():
                i = norm.find(phrase)
                if i >= 0:
                    m = Match(
                        rule_id=f"no_{cat}",
                        category=cat,
                        severity=action,
                        start=i,
                        end=i + len(phrase),
                        text=text[i : i + len(phrase)],
                        advice=ADVICE,
                    )
                    return Verdict(action, (m,), ADVICE, speaker)
        return Verdict("allow", speaker=speaker)

    def find_disclosures(self, text: str) -> list[str]:
        return []

    def completed_disclosures(self, said: Iterable[str]) -> list[str]:
        return []

    @property
    def claim_layer(self) -> ClaimLayer | None:
        return self._claims

    def attach_claim_layer(self, layer: ClaimLayer | None) -> None:
        """Kept, never run: the fake judges by its phrase tables alone."""
        self._claims = layer


class FakeKnowledge:
    """Stands in for KnowledgeBase (assist.protocols.Knowledge): a retriever and the documents' declared next
    steps; it stores no documents (the write methods raise)."""

    def __init__(self, retriever: FakeRetriever | None = None) -> None:
        self.retriever = retriever or FakeRetriever()
        self.embedders: list[Embedder] = [HashEmbedder()]
        self.on_change: Callable[[], None] | None = None

    def warm_up(self) -> None:
        pass

    def sync(self) -> bool:
        return False

    def _stores_nothing(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise NotImplementedError("FakeKnowledge stores no documents: use tests.factories.make_kb")

    def ingest_paths(self, paths: Iterable[Path], **kw: Any) -> NoReturn:
        self._stores_nothing()

    ingest_upload: Callable[..., NoReturn] = _stores_nothing
    retire: Callable[..., NoReturn] = _stores_nothing
    publish: Callable[..., NoReturn] = _stores_nothing
    send_back: Callable[..., NoReturn] = _stores_nothing

    def next_steps_for(self, document_id: str) -> list[str]:
        return {
            "doc-loss-zh": ["verify_identity", "freeze_card", "reissue_card"],
            "doc-wealth-zh": ["check_suitability", "read_risk_disclosure"],
        }.get(document_id, [])


def fake_redact(text: str) -> str:
    """Stand-in redaction: masks long digit runs (real tests use assist.privacy.redact when present)."""
    return re.sub(r"\d{12,19}", "[CARD]", text)
