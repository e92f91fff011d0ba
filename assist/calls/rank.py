"""Which retrieved passages answer the turn, and in what order: the relevance gate and the re-ranking.

The retriever's fused score is min-max normalised per query (the best candidate is always near 1), so it
cannot tell "nothing relevant" apart: the gate looks at raw evidence instead. The passages that pass are
re-ranked for the call: the topic in play, the documents in play, the turn's own words and the customer's script.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from assist.calls.compose import own_content, script_of
from assist.calls.context import ContextQuery
from assist.calls.doc_rank import DocEvidence, DocumentRanker
from assist.calls.region import region_adjustment, regional_products, topical_products
from assist.protocols import SearchResult
from assist.text import detect_language, normalize, tokenize

logger = logging.getLogger(__name__)

REGION_BONUS = 0.3  # a document written for the caller's region (Hong Kong, Taiwan)
REGION_PENALTY = 0.6  # another region's document on a product the caller's region has its own policy for
# The document that answered the call so far, for a turn that does not lean on it by its words: a call mostly
# stays with one policy (on the 34 dev natural calls, 111 of 128 later needs share the previous need's document),
# so a passage of another policy must be clearly better to take over.
IN_PLAY_BONUS = 0.18
ELLIPTICAL_IN_PLAY_BONUS = 0.22  # the same, for an elliptical turn (it leans on that answer)
# A document's next-steps section ("坐席下一步", "Next steps for the agent") lists the agent's workflow
# (verify_identity → freeze_card …) in words shared by many questions (挂失, 冻结, 报警, card); it feeds the
# checklist and answers no question itself, so it gives way to a passage that does (another policy's too).
NEXT_STEPS_PENALTY = 0.12
_NEXT_STEPS_HEADING = re.compile(r"下一步|後續步驟|后续步骤|next\s+steps?\b", re.IGNORECASE)
# The call's topic as the turn model reads it by meaning (assist.calls.understanding; it persists across turns
# that name none): a document tagged with that topic is the policy on what the call is about. A follow-up in the
# customer's own words ("那我那三万块钱还能要回来吗" in a scam call) shares few words with that policy, and a
# document on another subject that shares them (a fund's risk notice) must not take over. A document tagged with
# several topics (the FAQ) is on each of them by a share.
TOPIC_BONUS = 0.25
# topic ids whose documents carry other tags (a topic id is a tag itself otherwise)
TOPIC_TAGS: dict[str, frozenset[str]] = {
    "card_dispute": frozenset({"dispute", "chargeback"}),
    "card_fees": frozenset({"annual_fee", "fee_waiver", "cash_advance"}),
    "wealth": frozenset({"wealth", "fund"}),  # the topic is "wealth products and funds"
}
TOPICAL_DEPTH = 3  # the products of the best few retrieved passages are what the question is about
SECTIONS = 4  # further passages of the top document handed to the answer (see with_sections)
LEARNED_LEAD = 0.01  # how far the document the learned model chose is put ahead of the hand ranking's first


@lru_cache(maxsize=50_000)
def _tokens(text: str) -> frozenset[str]:
    """BM25 tokens of a passage or query, cached: the same passages come back turn after turn."""
    return frozenset(tokenize(text))


@lru_cache(maxsize=4096)
def is_next_steps(section: str) -> bool:
    """True for a document's next-steps section (its heading: "坐席下一步", "七、坐席下一步", "Next steps for the
    agent"); the last part of a nested heading counts."""
    return bool(_NEXT_STEPS_HEADING.search(section.rsplit(">", 1)[-1]))


def topic_tags(topic: str) -> frozenset[str]:
    """The document tags that mark a document as on `topic` (a topic id is a tag itself unless listed)."""
    return TOPIC_TAGS.get(topic, frozenset({topic}))


def on_topic(tags: Iterable[str], topic: str | None, topics: Iterable[str]) -> float:
    """How far a document with `tags` is on the call's `topic`: 1 for a document on that topic alone, 1/n for
    one on n of the known `topics` (an FAQ), 0 for a document not on it (or no topic)."""
    if not topic:
        return 0.0
    return _on_topic(tuple(tags), topic, topics if isinstance(topics, frozenset) else frozenset(topics))


@lru_cache(maxsize=4096)
def _on_topic(tags: tuple[str, ...], topic: str, topics: frozenset[str]) -> float:
    """on_topic, cached: the same documents come back turn after turn."""
    have = frozenset(tags)
    if not have & topic_tags(topic):
        return 0.0
    named = sum(1 for t in {*topics, topic} if have & topic_tags(t))
    return 1.0 / max(named, 1)


def with_sections(
    ranked: list[SearchResult], retrieved: list[SearchResult], *, limit: int = SECTIONS
) -> list[SearchResult]:
    """`ranked`, then up to `limit` other retrieved passages of the top passage's document, in retrieval order.

    The relevance gate and the margin judge each passage on its own, so the section of the right document that
    holds the fact ("补卡费" under 补卡) is often cut while the document's steps or summary rank first; the
    answer's sentences are chosen from these sections too (by meaning, words and the kind of fact asked).
    """
    if not ranked or limit <= 0:
        return ranked
    doc = ranked[0].document_id
    have = {r.chunk_id for r in ranked}
    extra = [r for r in retrieved if r.document_id == doc and r.chunk_id not in have]
    return ranked + extra[:limit]


@dataclass(frozen=True)
class _Seen:
    """One candidate passage as the learned document choice sees it (see doc_rank.DocEvidence)."""

    place: int
    result: SearchResult
    hand: float
    relevance: float
    passes: bool
    region: int
    on_topic: float
    title_topic: bool
    in_play: bool
    same_script: bool


def _seen(
    place: int,
    r: SearchResult,
    hand: float,
    rel: float,
    *,
    passes: bool,
    adjust: int,
    topic: float,
    cq: ContextQuery,
    terms: list[str],
    script: str | None,
) -> _Seen:
    """A candidate passage's evidence for the learned document choice (`script`: a regional caller's script;
    None for a mainland caller or one whose region is not known)."""
    title = normalize(r.title)
    return _Seen(
        place=place,
        result=r,
        hand=hand,
        relevance=rel,
        passes=passes,
        region=adjust,
        on_topic=topic,
        title_topic=any(t in title for t in terms),
        in_play=r.document_id in cq.prefer_documents,
        same_script=script is not None and script_of(r) == script,
    )


def document_evidence(seen: list[_Seen]) -> list[DocEvidence]:
    """Per candidate document (in order of its first passage), its evidence: the best passage's (by the hand
    score) for the passage-level facts, the best value over its passages for the scores."""
    by_doc: dict[str, list[_Seen]] = {}
    for s in seen:
        by_doc.setdefault(s.result.document_id, []).append(s)
    out = []
    for doc, members in by_doc.items():
        best = max(members, key=lambda s: s.hand)
        raw = [s.result.scores or {} for s in members]
        out.append(
            DocEvidence(
                document_id=doc,
                hand=best.hand,
                passes=any(s.passes for s in members),
                relevance=max(s.relevance for s in members),
                fused=max(float(s.result.score) for s in members),
                first_place=members[0].place,
                passages=len(members),
                e5=max(float(x.get("e5", 0.0)) for x in raw),
                minilm=max(float(x.get("minilm", 0.0)) for x in raw),
                bm25=max(float(x.get("bm25", 0.0)) for x in raw),
                in_play=best.in_play,
                on_topic=best.on_topic,
                title_topic=best.title_topic,
                region=best.region,
                same_script=best.same_script,
                next_steps=bool(best.result.section) and is_next_steps(best.result.section),
                preamble=not best.result.section,
            )
        )
    return out


@dataclass(frozen=True)
class Ranking:
    """The relevant passages of a turn, best first.

    Attributes:
        results: the passages to compose from, each with `relevance` and `rank` added to its scores.
        repeat_only: the one relevant passage was the top passage of the call's last suggestion (it is
            never shown twice in a row), so nothing is left.
    """

    results: list[SearchResult]
    repeat_only: bool = False


class Ranker:
    """The relevance gate and the re-ranking of a turn's passages.

    Args:
        min_score: a passage with a lower relevance (see `relevance`) is not answered from.
        margin: passages more than this behind the best, after re-ranking, are not composed from.
        topic_terms: the topic keywords a text names (Playbooks.topic_terms); None: no topic boost.
        in_play_score: a passage of the document in play (the query's `prefer_documents`) passes the gate from
            this relevance on (None: it meets `min_score` like any other). A follow-up in the customer's own
            words ("那要提前多久约？", "and how long for the money") shares few words with the policy that
            answered the call so far, yet is mostly still about it; it then competes in the re-ranking with
            its in-play bonus, where a clearly better passage of another policy still wins.
        topics: the playbooks' topic ids (a document tagged with several is on each by a share).
        topic_bonus: the bonus of a passage of a document on the call's topic read by meaning.
        doc_ranker: the learned document choice (assist.calls.doc_rank); None: the hand ranking alone.
    """

    def __init__(
        self,
        *,
        min_score: float,
        margin: float = 0.25,
        topic_terms: Callable[[str], list[str]] | None = None,
        in_play_score: float | None = None,
        topics: Iterable[str] = (),
        topic_bonus: float = TOPIC_BONUS,
        doc_ranker: DocumentRanker | None = None,
    ) -> None:
        if margin < 0:
            raise ValueError(f"margin must not be negative, got {margin}")
        if in_play_score is not None and not 0.0 <= in_play_score <= 1.0:
            raise ValueError(f"in_play_score must be between 0 and 1, got {in_play_score}")
        if topic_bonus < 0:
            raise ValueError(f"topic_bonus must not be negative, got {topic_bonus}")
        self.topics = frozenset(topics)
        self.doc_ranker = doc_ranker
        self.topic_bonus = topic_bonus
        self.min_score = min_score
        self.in_play_score = in_play_score
        self.margin = margin
        self.topic_terms = topic_terms or (lambda _text: [])

    def relevance(self, query: str, result: SearchResult, *, focus: str | None = None) -> float:
        """How well a passage answers: the best of query-term coverage and the dense models' similarity.

        For an elliptical turn the coverage of the turn's own words (`focus`) counts too: "那补卡要钱吗?" is
        about 补卡 whatever came before.
        """
        p = _tokens(f"{result.section} {result.text or result.snippet}")
        coverage = 0.0
        for text in (query, focus):
            q = _tokens(text) if text else frozenset()
            if q:  # a long question is answered by a passage holding a few of its terms, not all
                coverage = max(coverage, min(1.0, len(q & p) / min(len(q), 4)))
        raw = result.scores or {}
        dense = 0.0
        if "minilm" in raw and detect_language(query) == "en":
            dense = max(dense, float(raw["minilm"]))
        if "e5" in raw:  # e5 similarities sit high: 0.75 is unrelated, 0.9 is close
            dense = max(dense, (float(raw["e5"]) - 0.75) * 4.0)
        return max(coverage, dense)

    def run(
        self,
        *,
        query: ContextQuery,
        results: list[SearchResult],
        language: str,
        last_top_chunk: str | None = None,
        region: str | None = None,
    ) -> Ranking:
        """The relevant passages of `results`, re-ranked; without `last_top_chunk` at the top.

        Args:
            query: the turn's context query.
            results: the retrieved passages, best first.
            language: the customer's language (zh-Hans, zh-Hant, en, mixed).
            last_top_chunk: the chunk id of the call's last suggestion's top passage.
            region: the caller's region (HK, TW; None: mainland or unknown).
        """
        ranked = self.rank(query, results, language, region=region)
        if ranked and ranked[0].chunk_id == last_top_chunk:
            ranked = ranked[1:]
            if not ranked:
                return Ranking([], repeat_only=True)
        return Ranking(ranked)

    def rank(
        self, cq: ContextQuery, results: list[SearchResult], language: str, *, region: str | None = None
    ) -> list[SearchResult]:
        """Relevant passages, re-ranked.

        On top of the retriever's fused score: passages that name the topic in play (playbook keywords),
        passages of documents already in play and passages holding the turn's own words (elliptical
        turns: "那补卡要钱吗?" wants the 补卡 section), passages in the customer's script, and the policy
        of the caller's region where one exists (see assist.calls.region).
        """
        focus = _tokens(cq.turn_text) if cq.elliptical else frozenset()
        topic_terms = self.topic_terms(cq.query)
        regional = regional_products(results, region) if region else frozenset()
        topical = topical_products(results, TOPICAL_DEPTH)
        ranked: list[tuple[float, int, SearchResult]] = []
        seen: list[_Seen] = []  # every candidate, for the learned document choice
        for i, r in enumerate(results):
            rel = self.relevance(cq.query, r, focus=cq.turn_text if cq.elliptical else None)
            adjust = region_adjustment(r, region, regional, topical)
            # the caller's branch's own policy on the product asked about passes the gate: an English question
            # shares no words with a Traditional Chinese policy, and the dense models understate it
            passes = rel >= self.min_score or adjust > 0 or self._passes_in_play(cq, r, rel)
            if not passes and self.doc_ranker is None:
                continue
            score = self._score(float(r.score), cq, r, language, topic_terms, focus)
            score += REGION_BONUS * adjust if adjust > 0 else REGION_PENALTY * adjust
            # the call's topic read by meaning: its policy stays ahead of a passage that only shares words
            topic = on_topic(r.tags, cq.topic, self.topics)
            score += self.topic_bonus * topic
            if self.doc_ranker is not None:
                seen.append(
                    _seen(
                        i,
                        r,
                        score,
                        rel,
                        passes=passes,
                        adjust=adjust,
                        topic=topic,
                        cq=cq,
                        terms=topic_terms,
                        script=language if region in ("HK", "TW") else None,
                    )
                )
            if passes:
                extra = {"relevance": round(rel, 4), "rank": round(score, 4)}
                ranked.append((score, i, replace(r, scores={**(r.scores or {}), **extra})))
        ranked.sort(key=lambda x: (-x[0], x[1]))
        if not ranked:
            return []
        if self.doc_ranker is not None:
            ranked = self._learned_first(ranked, seen, cq, language)
        # passages far behind the best one only dilute the answer
        floor = ranked[0][0] - self.margin
        return [r for score, _, r in ranked if score >= floor]

    def _learned_first(
        self, ranked: list[tuple[float, int, SearchResult]], seen: list[_Seen], cq: ContextQuery, language: str
    ) -> list[tuple[float, int, SearchResult]]:
        """`ranked` with the document the learned model prefers lifted to the top (its passages keep their order
        and their gaps), when it is not the hand ranking's first document; else `ranked` as it is."""
        assert self.doc_ranker is not None
        chosen = self.doc_ranker.choose(document_evidence(seen), elliptical=cq.elliptical, english=language == "en")
        if chosen is None:
            return ranked
        best = max(score for score, _, r in ranked if r.document_id == chosen)
        lift = ranked[0][0] - best + LEARNED_LEAD
        out = [
            (score + lift, i, replace(r, scores={**r.scores, "rank": round(score + lift, 4)}))
            if r.document_id == chosen
            else (score, i, r)
            for score, i, r in ranked
        ]
        out.sort(key=lambda x: (-x[0], x[1]))
        return out

    def _passes_in_play(self, cq: ContextQuery, r: SearchResult, rel: float) -> bool:
        """True for a passage of the document in play whose relevance reaches `in_play_score`."""
        return self.in_play_score is not None and r.document_id in cq.prefer_documents and rel >= self.in_play_score

    @staticmethod
    def _score(
        score: float, cq: ContextQuery, r: SearchResult, language: str, topic_terms: list[str], focus: frozenset[str]
    ) -> float:
        """A passage's fused `score` with what the call adds to it (or takes from it), in this order."""
        if topic_terms:
            # a passage that only points to another procedure ("raise a dispute (see ...)") is not on
            # the topic itself; a document whose title names the topic is the policy on it
            own = normalize(f"{r.section} {own_content(r.text or r.snippet)}")
            if any(t in own for t in topic_terms):
                score += 0.1
            if any(t in normalize(r.title) for t in topic_terms):
                score += 0.08
        if not r.section:  # a document's preamble (scope, purpose) rarely answers the question itself
            score -= 0.08
        elif is_next_steps(r.section):
            score -= NEXT_STEPS_PENALTY
        if r.document_id in cq.prefer_documents:
            score += ELLIPTICAL_IN_PLAY_BONUS if cq.elliptical else IN_PLAY_BONUS
        if focus:
            p = _tokens(f"{r.section} {r.text or r.snippet}")
            score += 0.4 * len(focus & p) / len(focus)
        src = script_of(r)
        if language.startswith("zh") and src == language:
            score += 0.05
        elif language.startswith("zh") and src.startswith("zh"):
            score += 0.03
        elif language == "en" and src == "en":
            score += 0.05
        return score
