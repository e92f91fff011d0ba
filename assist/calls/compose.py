"""Extractive answers: the most relevant sentences of the top passages, each tied to its citation."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from assist.calls.sentence_rank import FEATURES, Raw, SentenceRanker, feature_matrix, fills, meaning_rows
from assist.calls.sentences import (
    Part,
    SentenceVectors,
    asks_for,
    fact_bonus,
    holds,
    question_parts,
    similarities,
)
from assist.calls.sentences import (
    split_sentences as split_sentences,  # re-exported: llm.py and the tests split passages from here
)
from assist.protocols import SearchResult
from assist.text import detect_language, to_simplified, tokenize

logger = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# a sentence that hands the case to another procedure by name: 转入《…》办理, 轉交「…」程序, (see "…")
_REFERRAL = re.compile(
    r"(?:转入|转交|轉交|转至|轉至|见|見|参见|參見|参阅|參閱)\s*[《「]|\bsee\s+[\"“]|\brefer(?:red)?\s+to\s+[\"“]",
    re.IGNORECASE,
)
_QUOTED_NAME = re.compile(r"《[^》]*》|「[^」]*」|“[^”]*”|\"[^\"]*\"")
REFERRAL_PENALTY = 0.75  # below one matched term: the answer is in the document pointed to, not here
# the same under the learned order, in its logit units: a pointer onwards ("…转入《信用卡争议交易处理规范》办理") is the
# answer's last resort, never its lead (the ranker retrained on 24 sets let one in; see docs/benchmarks.md round 12)
LEARNED_REFERRAL_PENALTY = 3.0
PREAMBLE_PENALTY = 0.5  # a document's untitled opening (scope, purpose) rarely answers the question
HEADING_WEIGHT = 0.5  # per question term in a passage's heading but not in the sentence: it is on that subject
FACT_WEIGHT = 1.5  # times fact_bonus: the sentence states the kind of fact asked (a period, a fee, a number)
SEMANTIC_WEIGHT = 8.0  # per unit of e5 similarity to the turn above SEMANTIC_BASE
SEMANTIC_BASE = 0.80  # e5 similarities sit high: below this a sentence is not on the question
SEMANTIC_STRONG = 0.86  # a sentence this close to the turn is on the question even without a shared word

NO_ANSWER = {
    "zh-Hans": "知识库中没有找到与此问题相关的已审批内容，请勿自行承诺，可转交专人或稍后回复客户。",
    "zh-Hant": "知識庫中沒有找到與此問題相關的已審批內容，請勿自行承諾，可轉交專人或稍後回覆客戶。",
    "en": "No approved passage in the knowledge base answers this. Do not improvise; escalate or follow up later.",
}


def in_customer_script(texts: dict[str, str], language: str) -> str:
    """The text of `texts` (keyed zh-Hans, zh-Hant, en) for the customer's language."""
    return texts["zh-Hant" if language == "zh-Hant" else "zh-Hans" if language.startswith("zh") else "en"]


def no_answer_text(language: str) -> str:
    """The 'nothing approved was found' answer, in the customer's language."""
    return in_customer_script(NO_ANSWER, language)


@lru_cache(maxsize=50_000)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(tokenize(text))


@lru_cache(maxsize=1)
def _s2t() -> Any:
    from opencc import OpenCC

    return OpenCC("s2tw")


def to_traditional(text: str) -> str:
    """Simplified → Traditional (OpenCC s2tw: standard Traditional characters)."""
    return str(_s2t().convert(text))


def script_of(result: SearchResult) -> str:
    """The language/script of a passage: its stored language, checked against its characters."""
    lang = result.language or ""
    if lang in {"zh-Hans", "zh-Hant", "en"}:
        return lang
    return detect_language(result.text or result.snippet)


def _other_tongue(source: str, language: str) -> bool:
    """True when a passage in `source` is in another language than a question in `language` (en vs Chinese)."""
    return (language == "en" and source.startswith("zh")) or (language.startswith("zh") and source == "en")


def in_script(text: str, *, source: str, target: str) -> str:
    """Render a Chinese sentence in the customer's script (character conversion; English is untouched)."""
    if not _HAN.search(text) or source == target:
        return text
    if target == "zh-Hant" and source != "zh-Hant":
        return to_traditional(text)
    if target == "zh-Hans" and source == "zh-Hant":
        return to_simplified(text)
    return text


def is_referral(sentence: str) -> bool:
    """True for a sentence that hands the case to another procedure by name ("转入《…》办理", 'see "…"')."""
    return bool(_REFERRAL.search(sentence))


@lru_cache(maxsize=4096)
def own_content(text: str) -> str:
    """A passage without its referral sentences: what it says itself, not what it points to."""
    return "\n".join(s for s in split_sentences(text) if not is_referral(s))


# a candidate sentence: (score, passage rank, position in the passage, sentence, evidence it is on the question:
# query terms it holds, +1 when it states the kind of fact asked, +1 when its meaning is close to the turn's)
_Candidate = tuple[float, int, int, str, int]


def _answers(sentence: str, part: Part) -> bool:
    """True when `sentence` answers `part`: it states the kind of fact the part asks for, or (a part that asks
    for no kind of fact) it holds the part's words."""
    if part.kinds:
        return bool(holds(sentence, part.kinds))
    return bool(_tokens(sentence) & part.tokens)


def _pool(passages: list[SearchResult], language: str, exclude: set[str]) -> list[tuple[int, int, str, str, bool]]:
    """The sentences of `passages`: (rank, position, sentence, what it says itself, referral)."""
    pool: list[tuple[int, int, str, str, bool]] = []
    for rank, res in enumerate(passages):
        src = script_of(res)
        for pos, sent in enumerate(split_sentences(res.text or res.snippet)):
            # script conversion is slow (OpenCC in pure Python): only for exclusions and the chosen few
            if exclude and in_script(sent, source=src, target=language) in exclude:
                continue
            referral = is_referral(sent)
            # the words of the name pointed to are not what the sentence says itself
            pool.append((rank, pos, sent, _QUOTED_NAME.sub(" ", sent) if referral else sent, referral))
    return pool


def _new(candidate: _Candidate, chosen: list[_Candidate]) -> bool:
    """True when `candidate` says something not chosen yet (overlapping chunks repeat their edge sentences)."""
    return all(candidate[3] != c[3] for c in chosen)


@dataclass
class Question:
    """What the answer's sentences are scored against, besides the query's words.

    Attributes:
        text: the customer's own words this turn (else the query).
        vector: the turn's e5 query vector, or None.
    """

    text: str
    vector: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.kinds = frozenset(asks_for(self.text))
        self.parts = question_parts(self.text)


@dataclass
class Composition:
    """An answer and where each sentence came from."""

    answer: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[dict[str, Any]] = field(default_factory=list)  # {"text", "citation"} (1-based)
    source: str = "extractive"  # extractive | llm | llm_blocked_fallback | none
    results: list[SearchResult] = field(default_factory=list)


class ExtractiveComposer:
    """Picks the sentences of the top passages that answer the question: shared words, meaning (with
    `sentence_vectors` and the turn's vector), the kind of fact asked for, and every part of the question.

    Args:
        max_passages: passages considered.
        max_sections: other passages of the top passage's document considered as well (its other sections:
            the passage that ranks first is often the document's summary or steps, the fact is a section away).
        max_sentences: sentences in the answer.
        max_chars: soft length limit of the answer.
        expand: synonyms of the query's terms.
        sentence_vectors: the cache of sentence vectors (None: shared words and facts only).
        ranker: the learned order of the candidate sentences (`sentence_rank.load_ranker()`); None: the
            hand-set weights alone.
        document_passages: a document's passages by its id (`sentences.DocumentPassages`): the top document's
            sections that were not retrieved are scored too, up to `max_document` of them. None: only those
            retrieved.
    """

    def __init__(
        self,
        *,
        max_passages: int = 3,
        max_sections: int = 4,
        max_sentences: int = 3,
        max_chars: int = 280,
        expand: Callable[[frozenset[str]], frozenset[str]] | None = None,
        sentence_vectors: SentenceVectors | None = None,
        ranker: SentenceRanker | None = None,
        document_passages: Callable[[str], list[SearchResult]] | None = None,
        max_document: int = 12,
    ) -> None:
        if max_passages < 1 or max_sentences < 1 or max_chars < 20 or max_sections < 0 or max_document < 0:
            raise ValueError(
                f"bad composer limits: passages={max_passages}, sections={max_sections}, "
                f"sentences={max_sentences}, chars={max_chars}"
            )
        self.expand = expand or (lambda tokens: tokens)
        self.sentence_vectors = sentence_vectors
        self.ranker = ranker
        self.document_passages = document_passages
        self.max_document = max_document
        self.max_passages = max_passages
        self.max_sections = max_sections
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    def warm_up(self) -> None:
        """Load the tokenizer's dictionary (jieba) once."""
        tokenize("预热 warm up")

    def passages(self, results: list[SearchResult]) -> list[SearchResult]:
        """The passages an answer is drawn from: the best `max_passages`, where a document's untitled opening
        (its scope line) gives way to the next passage when the same document's sections are among `results`
        (an ended document's opening stays: it says that it ended); then up to `max_sections` further passages of
        the top passage's document (its other sections)."""
        sectioned = {r.document_id for r in results if r.section}
        kept = [r for r in results if r.section or r.ended or r.document_id not in sectioned]
        top = kept[: self.max_passages]
        if not top:
            return top
        doc = top[0].document_id
        return top + [r for r in kept[self.max_passages :] if r.document_id == doc][: self.max_sections]

    def widen(self, passages: list[SearchResult], vector: np.ndarray | None = None) -> list[SearchResult]:
        """`passages` (from `passages()`) and up to `max_document` of the top document's other passages that were
        not retrieved: with the turn's `vector`, those holding the sentence closest to the turn in meaning, else
        the first; in document order, each at the lowest score handed (they rank as further sections)."""
        if self.document_passages is None or not passages or self.max_document == 0:
            return passages
        have = {p.chunk_id for p in passages}
        floor = min(p.score for p in passages)
        rest = [r for r in self.document_passages(passages[0].document_id) if r.chunk_id not in have]
        if vector is not None and len(rest) > self.max_document:
            best = [
                max(similarities(vector, split_sentences(r.text), self.sentence_vectors), default=0.0) for r in rest
            ]
            keep = set(sorted(range(len(rest)), key=lambda i: -best[i])[: self.max_document])
            rest = [r for i, r in enumerate(rest) if i in keep]
        return passages + [replace(r, score=floor) for r in rest[: self.max_document]]

    @staticmethod
    def _score(sentence: str, query_tokens: frozenset[str]) -> tuple[int, float]:
        """(query terms the sentence holds, a mild length prior favouring sentences that say something)."""
        tokens = _tokens(sentence)
        if not tokens:
            return 0, 0.0
        return len(tokens & query_tokens), min(len(tokens), 30) / 300.0

    def run(
        self,
        *,
        query: str,
        results: list[SearchResult],
        language: str,
        focus: str | None = None,
        exclude: set[str] | None = None,
        vector: np.ndarray | None = None,
        pins: tuple[str, ...] = (),
    ) -> Composition:
        """Compose from `results` (already filtered to relevant ones, best first); `pins`, sentences of
        them (the sentence router's, best first), are chosen first (the answer keeps the passages' order).

        Args:
            query: the retrieval query.
            results: relevant passages, best first; empty means nothing relevant.
            language: the customer's language (zh-Hans, zh-Hant, en, mixed).
            focus: the customer's own words this turn (weighted above the context part of the query).
            exclude: sentences (as composed) to leave out, e.g. ones the guard blocked.
            vector: the turn's e5 query vector (sentences are then also scored by meaning).
        """
        if not results:
            return Composition(answer=no_answer_text(language), source="none")
        passages = self.widen(self.passages(results), vector)
        asked = Question(focus or query, vector)
        learned_order = self.ranker is not None and self.ranker.applies(asked.kinds)
        candidates, features = self.sentence_table(
            query=query,
            passages=passages,
            language=language,
            asked=asked,
            focus=focus,
            exclude=exclude,
            with_features=learned_order,
        )
        if not candidates:
            return Composition(answer=no_answer_text(language), source="none")
        keep = self.one_policy(candidates, passages, language, one_document=learned_order)
        if self.ranker is not None and learned_order:
            # the learned order replaces the hand score inside the document the answer is drawn from and fills
            # the answer too: its next best sentences that fit, from any of that document's passages, whether or
            # not they share a word with the question (the model weighs that) when they say something
            # (`fills`: not a list's bare "Step 7."); the rules of the choice (every part, at most three
            # sentences and `max_chars`) stay as they are
            meaning = None
            if self.ranker.meaning is not None:  # a model of the features alone needs no vectors
                meaning = meaning_rows(asked.vector, [c[3] for c in candidates], self.sentence_vectors)
            learned = self.ranker.score(features, meaning)
            learned = learned - LEARNED_REFERRAL_PENALTY * features[:, FEATURES.index("referral")]
            candidates = [
                (float(x), c[1], c[2], c[3], max(c[4], int(fills(c[3]))))
                for x, c in zip(learned, candidates, strict=True)
            ]
        if pins:  # first, in their order, and on the question
            lead = {p: max(c[0] for c in candidates) + len(pins) - k for k, p in enumerate(pins)}
            candidates = [(lead[c[3]], *c[1:4], max(c[4], 1)) if c[3] in lead else c for c in candidates]
        candidates = [c for c, k in zip(candidates, keep, strict=True) if k]
        sections_from = None if learned_order else self.max_passages
        return self._assemble(self._choose(candidates, asked.parts, sections_from=sections_from), passages, language)

    @staticmethod
    def one_policy(
        candidates: list[_Candidate], passages: list[SearchResult], language: str, *, one_document: bool = False
    ) -> list[bool]:
        """Which candidates the answer may use: one policy, one answer.

        When the top passage's document has a sentence on the question's terms, the answer comes from that
        document only (two branches' fee tables must not mix). A top document in another language than the
        question (a Hong Kong caller's branch policy, asked in English) cannot share its words: the ranking
        chose it, and it is answered from alone too. Otherwise every passage's sentences may be used, or, with
        `one_document` (the learned order is in force), those of the document of the best sentence by the hand
        score: the document cited first stays the passage ranking's and the hand score's choice, never the
        learned sentence order's.
        """
        top_doc = passages[0].document_id
        if _other_tongue(script_of(passages[0]), language) or any(
            c[4] > 0 and passages[c[1]].document_id == top_doc for c in candidates
        ):
            doc = top_doc
        elif one_document:
            doc = passages[max(candidates, key=lambda c: c[0])[1]].document_id
        else:
            return [True] * len(candidates)
        return [passages[c[1]].document_id == doc for c in candidates]

    def sentence_table(
        self,
        *,
        query: str,
        passages: list[SearchResult],
        language: str,
        asked: Question,
        focus: str | None = None,
        exclude: set[str] | None = None,
        with_features: bool = True,
    ) -> tuple[list[_Candidate], np.ndarray]:
        """Every candidate sentence of `passages` (from `passages()`) with its hand score, and (`with_features`)
        its features for the learned ranker (one row of `sentence_rank.FEATURES` each; else no rows)."""
        q_tokens = self.expand(_tokens(query))
        f_tokens = self.expand(_tokens(focus)) if focus else frozenset()
        candidates, rows = self._candidates(
            passages, q_tokens, f_tokens, language=language, exclude=exclude or set(), asked=asked
        )
        if not with_features or not passages:
            return candidates, np.zeros((0, len(FEATURES)), np.float32)
        top = passages[0].score
        return candidates, feature_matrix(rows, question=asked.text, asks_kind=bool(asked.kinds), top_score=top)

    def _candidates(
        self,
        passages: list[SearchResult],
        q_tokens: frozenset[str],
        f_tokens: frozenset[str],
        *,
        language: str,
        exclude: set[str],
        asked: Question,
    ) -> tuple[list[_Candidate], list[Raw]]:
        """Every sentence of `passages` with its hand score: (score, passage rank, position, sentence, evidence),
        and what the learned ranker's features are made of."""
        pool = _pool(passages, language, exclude)
        sims = similarities(asked.vector, [p[2] for p in pool], self.sentence_vectors)
        candidates: list[_Candidate] = []
        rows: list[Raw] = []
        for (rank, pos, sent, said, referral), sim in zip(pool, sims, strict=True):
            res = passages[rank]
            hits, prior = self._score(said, q_tokens)
            f_hits = self._score(said, f_tokens)[0] if f_tokens else 0
            # prefer the better passages on ties (the top document's further sections all rank after them)
            score = hits + 2.0 * f_hits + prior - 0.15 * min(rank, self.max_passages + 1)
            heading = _tokens(res.section) if res.section else frozenset()
            heading_hits = len((heading & (q_tokens | f_tokens)) - _tokens(said)) if heading else 0
            score += HEADING_WEIGHT * heading_hits
            fact = fact_bonus(said, asked.kinds) if asked.kinds else 0.0
            score += FACT_WEIGHT * fact + SEMANTIC_WEIGHT * max(0.0, sim - SEMANTIC_BASE)
            if referral:
                score -= REFERRAL_PENALTY
            if not res.section:
                score -= PREAMBLE_PENALTY
            evidence = hits + f_hits + (fact > 0) + (sim >= SEMANTIC_STRONG)
            candidates.append((score, rank, pos, sent, evidence))
            rows.append(
                Raw(
                    sentence=said,
                    hand=score,
                    hits=hits,
                    focus_hits=f_hits,
                    heading_hits=heading_hits,
                    fact=fact,
                    sim=sim,
                    rank=min(rank, self.max_passages + 1),
                    further_section=rank >= self.max_passages,
                    same_doc=res.document_id == passages[0].document_id,
                    passage_score=res.score,
                    position=pos,
                    referral=referral,
                    preamble=not res.section,
                )
            )
        return candidates, rows

    def _choose(
        self, candidates: list[_Candidate], parts: list[Part] | None = None, *, sections_from: int | None = None
    ) -> list[_Candidate]:
        """The best sentence; then, for a question of several parts, the best sentence on each part not yet
        answered; then the next best on the question that fit. In passage order.

        `sections_from`: passages from this rank on are the top document's further sections (see `passages`):
        they give the best sentence or a part's, but not the filling, unless the best sentence came from them.
        """
        candidates = sorted(candidates, key=lambda c: -c[0])
        chosen: list[_Candidate] = candidates[:1]
        if sections_from is not None and chosen and chosen[0][1] < sections_from:
            fill = [c for c in candidates if c[1] < sections_from]
        else:
            fill = candidates
        length = sum(len(c[3]) for c in chosen)
        for part in parts if parts and len(parts) > 1 else []:
            if len(chosen) >= self.max_sentences or any(_answers(c[3], part) for c in chosen):
                continue
            best = next((c for c in candidates if _new(c, chosen) and c[4] > 0 and _answers(c[3], part)), None)
            if best is not None and length + len(best[3]) <= self.max_chars:
                chosen.append(best)
                length += len(best[3])
        for cand in fill:
            if len(chosen) >= self.max_sentences:
                break
            # the others must be on the question and fit
            if not _new(cand, chosen) or cand[4] == 0 or length + len(cand[3]) > self.max_chars:
                continue
            chosen.append(cand)
            length += len(cand[3])
        chosen.sort(key=lambda c: (c[1], c[2]))
        return chosen

    @staticmethod
    def _assemble(chosen: list[_Candidate], passages: list[SearchResult], language: str) -> Composition:
        """The answer of the chosen sentences, in the customer's script, each marked with its citation."""
        chosen = [
            (c[0], c[1], c[2], in_script(c[3], source=script_of(passages[c[1]]), target=language), c[4]) for c in chosen
        ]
        used_ranks: list[int] = []
        for c in chosen:
            if c[1] not in used_ranks:
                used_ranks.append(c[1])
        citations = [passages[r].citation() for r in used_ranks]
        sentences = [{"text": c[3], "citation": used_ranks.index(c[1]) + 1} for c in chosen]
        sep = "" if language.startswith("zh") else " "
        answer = sep.join(f"{s['text']}[{s['citation']}]" for s in sentences)
        return Composition(
            answer=answer,
            citations=citations,
            sentences=sentences,
            source="extractive",
            results=[passages[r] for r in used_ranks],
        )
