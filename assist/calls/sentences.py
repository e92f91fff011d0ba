"""What an answer's sentences are scored on besides shared words: meaning, the kind of fact asked, the parts.

- Meaning: each candidate sentence's e5 passage vector against the turn's e5 query vector (the one vector the
  turn already has). Sentence vectors are cached (`SentenceVectors`): a passage's sentences are embedded
  once, in one batch, the first time the passage is composed from, and filled ahead for the whole
  knowledge base by `warm` (a background thread at start-up).
- The fact asked for: "how long" wants a period, "is there a charge" a fee, "up to how much" a number,
  "can I" a yes or no. A sentence that holds that kind of fact is preferred.
- Parts: "How long until the new one arrives, and is there a charge?" asks two things; each part should be
  answered by a sentence of its own.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from assist.knowledge.retrieval import chunk_result
from assist.protocols import SearchResult
from assist.text import normalize, tokenize

logger = logging.getLogger(__name__)

# -- the kind of fact a question asks for, and whether a sentence holds one (matched on normalize()d text) --
_ASKS: dict[str, re.Pattern[str]] = {
    "period": re.compile(
        r"多久|多长时间|多长|几天|几个工作日|几个月|几年|什么时候|何时|多快|几时|几耐|期限|时效|有效期|寄到|到账|到帐"
        r"|how long|how soon|how quickly|how many (?:days|weeks|months|years|hours)|when (?:will|do|does|can|is)"
        r"|by when|deadline|time limit|arrive|turnaround"
    ),
    "money": re.compile(
        r"多少钱|要钱|交钱|收钱|给钱|收费|收不收|费用|手续费|费吗|免费|罚|违约金|年费|几钱|几多钱"
        r"|扣钱|扣费|扣多少|使唔使钱|使钱|收唔收|畀钱|俾钱"  # "要扣钱吗", Cantonese "使唔使錢" / "收唔收錢"
        r"|charge|fee|cost|how much (?:is|does|will|would|do)|free|pay (?:for|anything)|price|penalt"
    ),
    "amount": re.compile(
        r"多少|上限|最高|最多|限额|额度|保障|赔|几多|limit|maximum|max\b|how much|how many|up to|cap\b|covered"
    ),
    "rate": re.compile(r"利率|利息|收益|回报|rate|interest|return|yield"),
}
_HOLDS: dict[str, re.Pattern[str]] = {
    "period": re.compile(
        r"\d+\s*(?:个|個)?\s*(?:工作日|工作天|营业日|自然日|日历日|历日|日|天|小时|分钟|个月|月|年|周|星期)|t\s*\+\s*\d"
        r"|\d+\s*(?:business|working|calendar)?\s*(?:days?|hours?|minutes?|weeks?|months?|years?)\b"
        r"|即时|立即|实时|当天|当日|immediately|same day|right away|instantly|within"
    ),
    "money": re.compile(
        r"[¥￥$]|rmb|hk\$|nt\$|\d\s*(?:元|块|港元|万元)|\d+(?:\.\d+)?\s*%|免费|免收|不收|豁免|waive|free|no charge"
        r"|\bfee\b|收取"
    ),
    "amount": re.compile(r"\d"),
    "rate": re.compile(r"\d+(?:\.\d+)?\s*%|厘"),
}
FACT_WEIGHT = {"period": 1.0, "money": 1.0, "amount": 0.5, "rate": 0.8}

# -- the parts of a question --
_PART_SPLIT = re.compile(
    r"[？?；;。!！]+|[，,]\s*(?:and|also|plus)\b|[，,]?\s*(?:还有|另外|以及|而且|并且)|\band\s+(?=is|are|do|does|can|will|how|what|when|if)\b",
    re.IGNORECASE,
)
_HAN_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_PUNCTUATION = re.compile(r"[？?；;。!！，,、]")  # a question typed or punctuated, not raw ASR


def asks_for(question: str) -> set[str]:
    """The kinds of fact a question (or one part of it) asks for: period, money, amount, rate."""
    norm = normalize(question)
    kinds = {k for k, pat in _ASKS.items() if pat.search(norm)}
    if "money" in kinds:
        kinds.discard("amount")  # "多少钱" asks for a fee, not any number
    return kinds


def holds(sentence: str, kinds: Iterable[str]) -> set[str]:
    """The kinds among `kinds` whose fact the sentence states (a period, a fee, a number, a rate)."""
    norm = normalize(sentence)
    return {k for k in kinds if _HOLDS[k].search(norm)}


def fact_bonus(sentence: str, kinds: Iterable[str]) -> float:
    """How much the sentence's facts are worth to a question asking for `kinds`."""
    return max((FACT_WEIGHT[k] for k in holds(sentence, kinds)), default=0.0)


@dataclass(frozen=True)
class Part:
    """One part of a question: its words (BM25 tokens) and the kinds of fact it asks for."""

    text: str
    tokens: frozenset[str]
    kinds: frozenset[str]


def question_parts(question: str) -> list[Part]:
    """The parts of a question that asks several things ("多久能到？要不要钱？"); one part otherwise.

    ASR text has no punctuation: a space between Chinese words splits too, and parts that ask for nothing
    of their own (no fact kind, fewer than two words) join the part before them. In such unpunctuated text a
    space is only a pause, not a new question: a piece that asks for no kind of fact joins the part before it
    whatever its length ("到现在钱还没回来 今天都第六个工作日了" is one complaint, not two questions each owed a
    sentence of the answer).
    """
    unpunctuated = not _PUNCTUATION.search(question)
    pieces = [p.strip() for p in _PART_SPLIT.split(_HAN_GAP.sub("，", question)) if p and p.strip()]
    pieces = [q for p in pieces for q in p.split("，")] if len(pieces) <= 1 else pieces
    parts: list[Part] = []
    for piece in pieces:
        toks = frozenset(tokenize(piece))
        kinds = frozenset(asks_for(piece))
        if parts and not kinds and (len(toks) < 2 or unpunctuated):
            prev = parts[-1]
            parts[-1] = Part(f"{prev.text} {piece}", prev.tokens | toks, prev.kinds)
        elif toks or kinds:
            parts.append(Part(piece, toks, kinds))
    return parts or [Part(question, frozenset(tokenize(question)), frozenset(asks_for(question)))]


# -- a passage's sentences --
# an English semicolon joins clauses ("Register the dispute; give the reference"); a Chinese one ends a sentence
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[\u3400-\u9fff];)|(?<=\.)\s+|\n+")
_MD_NOISE = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)、]\s*|>\s*)|\*\*|__|`")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}")
_LEAD_IN = re.compile(r"[:：?？]$")  # ends announcing what follows: a lead-in, or a question before its answer
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _join(first: str, rest: str) -> str:
    """Two pieces of one sentence: no space after Chinese, one after English."""
    return first + rest if _HAN.search(first[-2:]) or first[-1] in "：。！？；」』”" else f"{first} {rest}"


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, markdown list/heading/bold markers removed; table rows kept as one line.

    A sentence that only announces what follows ("坐席必须完整宣读：", "Customers can report a lost card:",
    a FAQ's "问：…能随时退吗？") answers nothing alone: it is kept together with the sentence it announces.
    """
    out: list[str] = []
    lead: str | None = None
    for piece in _pieces(text):
        if lead is not None:
            piece = _join(lead, piece)
            lead = None
        if _LEAD_IN.search(piece):
            lead = piece
        else:
            out.append(piece)
    if lead is not None:
        out.append(lead)
    return out


def _pieces(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _TABLE_SEP.match(line):
            continue
        if _TABLE_ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out.append(" | ".join(c for c in cells if c))
            continue
        if line.lstrip().startswith("#"):
            continue  # headings are in the citation's section already
        held = ""  # a sentence whose quotation is still open goes on to the one that closes it
        for piece in _SENTENCE_END.split(line):
            piece = _MD_NOISE.sub("", piece or "").strip()
            piece = _MD_NOISE.sub("", piece).strip()
            if held:
                piece = _join(held, piece) if piece else held
            held = piece if _open_quote(piece) else ""
            if not held and len(piece) >= 4:
                out.append(piece)
        if len(held) >= 4:
            out.append(held)
    return out


def _open_quote(text: str) -> bool:
    """True while a quotation in ``text`` is not closed ("…, 「…, “…)."""
    return (
        text.count('"') % 2 == 1
        or text.count("“") > text.count("”")
        or text.count("「") > text.count("」")
        or text.count("『") > text.count("』")
    )


# -- sentence vectors --
BatchEncoder = Callable[[list[str]], np.ndarray]


class SentenceVectors:
    """Unit e5 passage vectors of answer sentences, cached by text (a bounded LRU; thread-safe).

    Args:
        encode: texts → one row per text (the e5 embedder's `embed_documents`).
        max_entries: sentences kept.
        max_new: sentences a turn may embed (the latency budget); the others are queued for `warm_pending`
            and score by shared words on this turn.
    """

    def __init__(self, encode: BatchEncoder, *, max_entries: int = 50_000, max_new: int | None = None) -> None:
        if not callable(encode):
            raise ValueError(f"SentenceVectors needs a batch encoder, got {encode!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        if max_new is not None and max_new < 0:
            raise ValueError(f"max_new must not be negative, got {max_new}")
        self.max_new = max_new
        self.pending: OrderedDict[str, None] = OrderedDict()  # sentences a turn left for later
        self._encode = encode
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        # held while the encoder runs: the background waits its turn, a live turn never does (if the model is
        # busy, the turn's new sentences are left for later)
        self._model = threading.Lock()
        self.embedded = 0  # sentences embedded so far (for benchmarks and tests)

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, sentences: Sequence[str]) -> np.ndarray:
        """One unit row per sentence; the ones not cached are embedded in one batch (at most `max_new`: the
        rest get a row of NaN now and are queued in `pending` for the background)."""
        with self._lock:
            missing = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        now = missing if self.max_new is None else missing[: self.max_new]
        if now and not self._add(now, wait=False):
            now = []
        with self._lock:
            for s in missing[len(now) :]:
                self.pending[s] = None
            while len(self.pending) > self.max_entries:
                self.pending.popitem(last=False)
            rows = []
            dim = next(iter(self._cache.values())).shape[0] if self._cache else 0
            for s in sentences:
                vec = self._cache.get(s)
                if vec is None:  # left for later (or evicted meanwhile by another thread's batch)
                    vec = np.full(dim, np.nan, np.float32)
                else:
                    self._cache.move_to_end(s)
                rows.append(vec)
        return np.vstack(rows) if rows and dim else np.zeros((len(rows), 0), np.float32)

    def cached(self, sentences: Sequence[str]) -> np.ndarray:
        """One unit row per sentence from the cache alone: no encoder run, nothing queued, the LRU order untouched
        (a row of NaN for a sentence not cached; (n, 0) while the cache is empty)."""
        with self._lock:
            dim = next(iter(self._cache.values())).shape[0] if self._cache else 0
            if not sentences or not dim:
                return np.zeros((len(sentences), 0), np.float32)
            missing = np.full(dim, np.nan, np.float32)
            return np.vstack([self._cache.get(s, missing) for s in sentences])

    def warm_pending(self) -> int:
        """Embed the sentences turns left for later; returns how many."""
        with self._lock:
            todo = list(self.pending)
            self.pending.clear()
        return self.warm(todo)

    def warm(self, sentences: Iterable[str], *, batch: int = 8, stop: threading.Event | None = None) -> int:
        """Embed `sentences` ahead (until the cache is full or `stop` is set); returns how many were added."""
        added = 0
        chunk: list[str] = []
        for s in sentences:
            if stop is not None and stop.is_set():
                break
            if len(self._cache) + added >= self.max_entries:
                break
            if s not in self._cache and s not in chunk:
                chunk.append(s)
            if len(chunk) >= batch:
                self._add(chunk)
                added += len(chunk)
                chunk = []
        if chunk and not (stop is not None and stop.is_set()):
            self._add(chunk)
            added += len(chunk)
        return added

    def _embed(self, texts: list[str]) -> np.ndarray:
        vecs = np.asarray(self._encode(texts), np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        self.embedded += len(texts)
        return vecs / np.where(norms > 0, norms, 1.0)

    def _add(self, texts: list[str], *, wait: bool = True) -> bool:
        """Embed and cache `texts`; False (nothing done) when `wait` is False and the encoder is busy."""
        if not self._model.acquire(blocking=wait):
            return False
        try:
            vecs = self._embed(texts)
        finally:
            self._model.release()
        with self._lock:
            for s, v in zip(texts, vecs, strict=True):
                self._cache[s] = v
                self._cache.move_to_end(s)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return True


def similarities(
    query_vector: np.ndarray | None, sentences: Sequence[str], vectors: SentenceVectors | None
) -> list[float]:
    """Cosine of each sentence with the turn's vector; zeros without a vector or a cache (or on failure)."""
    if query_vector is None or vectors is None or not sentences:
        return [0.0] * len(sentences)
    q = np.asarray(query_vector, np.float32).ravel()
    norm = float(np.linalg.norm(q))
    if norm == 0:
        return [0.0] * len(sentences)
    try:
        rows = vectors.get(sentences)
    except Exception:  # the answer is still composed from shared words
        logger.exception("sentence vectors failed; the answer is chosen by shared words")
        return [0.0] * len(sentences)
    if rows.shape[1] == 0:  # nothing embedded yet: every sentence left for later
        return [0.0] * len(sentences)
    if rows.shape[1] != q.shape[0]:
        logger.warning(
            "sentence vectors and the turn's vector differ in size", extra={"sizes": [rows.shape[1], q.shape[0]]}
        )
        return [0.0] * len(sentences)
    return [0.0 if np.isnan(x) else float(x) for x in rows @ (q / norm)]


class DocumentPassages:
    """The passages of a document, by document id, from the index in force (every chunk of it in force today).

    The retriever returns a handful of passages; the fact asked for is often in a section of the top document
    that none of them is (the fee under another heading, the second half of a procedure). The composer scores
    those sections' sentences too (their vectors are in the sentence cache already): no search and no encoder
    run, a dictionary lookup per turn; the map from document to chunks is rebuilt when the index changes.

    Args:
        index: a function returning the index in force (with `chunks`: chunk id → its metadata), or None.
    """

    def __init__(self, index: Callable[[], Any]) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._by_document: dict[str, list[int]] = {}

    def __call__(self, document_id: str) -> list[SearchResult]:
        """The document's passages in chunk order (score 0; the composer sets it), [] when unknown."""
        index = self.index()
        chunks = getattr(index, "chunks", None)
        if not chunks:
            return []
        key = (id(index), len(chunks))
        with self._lock:
            if key != self._key:
                by: dict[str, list[int]] = {}
                for cid, meta in sorted(chunks.items()):
                    by.setdefault(meta.document_id, []).append(cid)
                self._by_document, self._key = by, key
            ids = self._by_document.get(document_id, [])
        today = date.today()
        metas = [chunks.get(cid) for cid in ids]
        return [_passage(m) for m in metas if m is not None and m.effective_on(today)]


def _passage(meta: Any) -> SearchResult:
    """A search result for an index chunk that was not retrieved."""
    return chunk_result(meta, 0.0)


def knowledge_sentences(knowledge: Any) -> Iterator[str]:
    """The sentences of every chunk in the knowledge base's index, in chunk order (as the composer splits)."""
    index = getattr(getattr(knowledge, "retriever", None), "index", None)
    chunks = dict(getattr(index, "chunks", None) or {})
    for cid in sorted(chunks):
        yield from split_sentences(chunks[cid].text)


def warm_in_background(
    vectors: SentenceVectors, knowledge: Any, *, limit: int, every_s: float = 0.5, stop: threading.Event | None = None
) -> threading.Thread:
    """On a daemon thread: embed up to `limit` of the knowledge base's sentences ahead, then, every `every_s`,
    the sentences turns left for later (`SentenceVectors.pending`) until `stop` is set. Set `stop` and join the
    thread before the process exits: a model run cut off by the interpreter's exit aborts the process."""
    stop = stop or threading.Event()

    def run() -> None:
        try:
            added = vectors.warm(itertools.islice(knowledge_sentences(knowledge), limit), stop=stop)
            logger.info("answer sentences embedded ahead", extra={"sentences": added})
        except Exception:  # the cache fills as sentences come up instead
            logger.exception("embedding answer sentences ahead failed")
        while not stop.wait(every_s):
            try:
                vectors.warm_pending()
            except Exception:  # tried again with the next turns' leftovers
                logger.exception("embedding pending answer sentences failed")

    thread = threading.Thread(target=run, name="sentence-warm", daemon=True)
    thread.start()
    return thread
