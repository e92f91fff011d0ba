"""The caller's region (mainland, Hong Kong, Taiwan) and the documents written for it.

Fees, limits and deposit-protection amounts differ between the branches, so a Hong Kong or Taiwan caller
must get the Hong Kong or Taiwan policy where one exists, not the mainland one converted to Traditional
script. A document says which regions it is written for with tags in its front matter (`region_mainland`,
`region_hk`, `region_tw`; none: any region). The caller's region comes from what is said in the call, by
either speaker: currencies (HK$, 港幣, NT$, 新台幣), places, ID-card wording (HKID, 身份證 / 身分證) and
Cantonese particles (咗 唔 嘅 喺 冇 …). It sticks once heard: later turns rarely repeat it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np

from assist.knowledge.retrieval import chunk_result
from assist.protocols import SearchResult
from assist.text import has_traditional

logger = logging.getLogger(__name__)

REGIONS = ("mainland", "HK", "TW")
REGION_TAGS = {"region_mainland": "mainland", "region_hk": "HK", "region_tw": "TW"}
# Products one branch policy covers together: the Hong Kong and Taiwan investment-product policy covers funds too
# (the mainland has a fund guide of its own), so a fund question is about that policy's product.
PRODUCT_FAMILY = {"fund": "wealth"}

# Strong cues: one is enough. Matched on the raw text (case-insensitive for the Latin ones).
_HK_STRONG = re.compile(
    r"HK\$|HKD|\bHKID\b|港幣|港币|港元|香港|\bHong\s*Kong\b|\bMTR\b|港鐵|八達通|\bOctopus\b|\bFPS\b|轉數快"
    r"|旺角|銅鑼灣|尖沙咀|中環|灣仔|沙田|觀塘|九龍|新界|\bWan\s*Chai\b|\bMong\s*Kok\b|\bKowloon\b"
    r"|\bCauseway\s*Bay\b|\bTsim\s*Sha\s*Tsui\b|\bCentral\b(?=\s+(?:branch|station|MTR))|18222|蚊",
    re.IGNORECASE,
)
_TW_STRONG = re.compile(
    r"NT\$|\bNTD\b|新台幣|新臺幣|台幣|臺幣|台灣|臺灣|\bTaiwan\b|\bTaipei\b|台北|臺北|台中|臺中|高雄|桃園|新竹|台南|臺南"
    r"|\b165\b|理專|民國|身分證|後六碼|末四碼|末三碼|悠遊卡|超商|郵局|捷運",
    re.IGNORECASE,
)
# Cantonese particles and words: two in a turn make it a Hong Kong call (one could be written Chinese).
_CANTONESE = re.compile(
    r"咗|唔|嘅|喺|冇|睇|俾|嘢|啲|佢|咩|乜|嚟|噉|㗎|囉|啱|點解|幾多|而家|攞|搵|琴日|頭先|(?<![關联聯])係"
    r"|哋|嗰|咁|喎|諗"  # 我哋 / 你哋, 嗰隻, 咁點算, …喎, 諗下: spoken Cantonese only
)


def caller_region(text: str) -> str | None:
    """The region a turn points to (HK or TW), or None when it says nothing about it.

    Mainland is never concluded from a turn: it is the default of a call without cues.
    """
    hk = len(_HK_STRONG.findall(text))
    tw = len(_TW_STRONG.findall(text))
    if hk == tw == 0 and len(_CANTONESE.findall(text)) >= 2:
        return "HK"
    if hk > tw:
        return "HK"
    if tw > hk:
        return "TW"
    return None


def script_region(text: str) -> str | None:
    """The region a customer's turn in Traditional script points to when it names none: Taiwan. Hong Kong callers
    speak Cantonese (two particles make a turn Hong Kong's, `caller_region`); mainland callers write Simplified.
    Over the 58 development call sets, 174 customer needs said in Traditional script before any cue came from
    Taiwan callers and 5 from Hong Kong callers. A guess, used only to prefer the Taiwan branch's own policy over
    a mainland-only one on the same product (`SuggestStage`); the call's region is left to the cues."""
    if not has_traditional(text) or _CANTONESE.search(text):
        return None
    return "TW"


def document_regions(tags: Iterable[str]) -> frozenset[str]:
    """The regions a document is written for, from its tags (empty: any region)."""
    return frozenset(REGION_TAGS[t] for t in tags if t in REGION_TAGS)


def other_branch(result: SearchResult, region: str | None) -> bool:
    """True for a branch's own policy (not shared with the mainland) written for another region than the
    caller's (a call with no regional cue is served as mainland)."""
    regions = document_regions(result.tags)
    return bool(regions) and "mainland" not in regions and (region or "mainland") not in regions


def product_family(product: str | None) -> str:
    """The product a branch policy is written on, for a document's `product` (see PRODUCT_FAMILY)."""
    return PRODUCT_FAMILY.get(product or "", product or "")


def branch_only(result: SearchResult) -> bool:
    """True for a document written for a branch (Hong Kong, Taiwan) and not shared with the mainland."""
    regions = document_regions(result.tags)
    return bool(regions) and "mainland" not in regions


def regional_products(results: Iterable[SearchResult], region: str) -> frozenset[str]:
    """The products among `results` that have a document written for `region`."""
    return frozenset(product_family(r.product) for r in results if region in document_regions(r.tags))


def topical_products(results: Iterable[SearchResult], depth: int) -> frozenset[str]:
    """The products a question is about: those of its best `depth` passages of documents shared across regions.

    A branch's own policy does not vouch for itself: a Hong Kong or Taiwan caller's Traditional script lifts the
    few documents written in it to the top whatever is asked, so the investment-product policy would count as
    the subject of a scam call's "那錢拿得回來嗎" only because it is written in the caller's script.
    """
    shared = [r for r in results if not branch_only(r)]
    return frozenset(product_family(r.product) for r in shared[:depth])


def region_adjustment(
    result: SearchResult, region: str | None, regional: frozenset[str], topical: frozenset[str] | None = None
) -> int:
    """+1 for a document written for the caller's region (not shared with the mainland); -1 for another
    branch's own policy (a Taiwan caller is not answered from the Hong Kong card policy, whose fees and
    hotline are Hong Kong's) and for one written only for other regions when the caller's region has its own
    document on the same product among the candidates; else 0.

    `topical`: the products the question is about (e.g. those of the best few candidates); a regional
    document on another product gets no bonus (a Hong Kong caller asking about transfers is not answered
    from the Hong Kong card policy). Mainland callers (and calls with no cue) are left alone: the mainland
    policy is what they get anyway.
    """
    if region not in ("HK", "TW"):
        return 0
    regions = document_regions(result.tags)
    product = product_family(result.product)
    if region in regions:  # a branch's own policy outranks one shared with the mainland
        return 1 if "mainland" not in regions and (topical is None or product in topical) else 0
    if regions and "mainland" not in regions:  # another branch's own policy: its fees and hotlines are not theirs
        return -1
    if regions and product in regional:
        return -1
    return 0


class RegionalPolicies:
    """The caller's branch's own policy on the products a turn is about, found by meaning when retrieval missed it.

    An English question ("can I cancel") shares no words with a Hong Kong policy written in Traditional Chinese,
    and the English models cannot read it, so for a Hong Kong or Taiwan caller that policy may not be retrieved
    at all. For each product among the best few passages that has a document written for the caller's region
    but none of its passages retrieved, the passage of that document closest in meaning to the turn (its
    stored e5 vector against the turn's e5 vector: one matrix product over a few chunks) is added to the
    candidates when it is about as close as the best retrieved passage; the ranker then weighs it as it
    weighs any regional policy (`region_adjustment`).

    Args:
        depth: the best passages whose products the turn is taken to be about.
        margin: how far below the best retrieved passage's similarity the regional passage may be (a question
            and a passage in two languages score a little lower than in one).
        embedder: the name of the dense index the turn's vector belongs to.
    """

    def __init__(self, *, depth: int = 1, margin: float = 0.06, embedder: str = "e5") -> None:
        if depth < 1:
            raise ValueError(f"depth must be positive, got {depth}")
        if margin < 0:
            raise ValueError(f"margin must not be negative, got {margin}")
        self.depth = depth
        self.margin = margin
        self.embedder = embedder
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._by_region: dict[tuple[str, str], list[int]] = {}  # (region, product) -> chunk ids

    def _chunks_for(self, index: Any, region: str, product: str) -> list[int]:
        """Chunk ids of documents written for `region` (not shared with the mainland) on `product`."""
        chunks = index.chunks
        key = (id(index), len(chunks))
        with self._lock:
            if key != self._key:  # the index changed: rebuilt once, then a dictionary lookup per turn
                by: dict[tuple[str, str], list[int]] = {}
                for cid, meta in list(chunks.items()):
                    regions = document_regions(meta.tags)
                    if "mainland" in regions:  # shared with the mainland: retrieved like any other policy
                        continue
                    for r in regions:
                        by.setdefault((r, product_family(meta.product)), []).append(cid)
                self._by_region, self._key = by, key
            return self._by_region.get((region, product_family(product)), [])

    def run(
        self, results: list[SearchResult], *, region: str | None, vector: np.ndarray | None, index: Any
    ) -> list[SearchResult]:
        """`results` with the caller's regional policy on the topical products added (best passage by meaning)."""
        if region not in ("HK", "TW") or vector is None or not results or index is None:
            return results
        dense = getattr(index, "dense", {}).get(self.embedder)
        if dense is None or not hasattr(index, "chunks"):
            return results
        have_docs = {r.document_id for r in results}
        floor = max((float(r.scores.get(self.embedder, 0.0)) for r in results), default=0.0) - self.margin
        q = np.asarray(vector, np.float32).ravel()
        added: list[SearchResult] = []
        today = date.today()
        for product in dict.fromkeys(r.product or "" for r in results[: self.depth]):
            ids = [
                cid
                for cid in self._chunks_for(index, region, product)
                if cid in index.chunks and index.chunks[cid].effective_on(today)
            ]
            if not ids or any(index.chunks[cid].document_id in have_docs for cid in ids):
                continue
            sims = dense.vectors_for(ids) @ q
            best = int(np.argmax(sims))
            if float(sims[best]) < floor:  # not about what the turn is about
                continue
            meta = index.chunks[ids[best]]
            score = float(results[min(3, len(results)) - 1].score)  # among the best few, not above them
            added.append(_result(meta, score, float(sims[best]), self.embedder))
        if added:
            logger.debug("regional policy added by meaning", extra={"region": region, "added": len(added)})
        return results + added


def _result(meta: Any, score: float, similarity: float, embedder: str) -> SearchResult:
    """A search result for an index chunk found by meaning alone."""
    return chunk_result(meta, score, {embedder: similarity})
