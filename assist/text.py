"""Text normalisation shared by indexing, retrieval and language detection.

Traditional→Simplified uses OpenCC's character table (from opencc-python-reimplemented), applied
character by character: fast, length-preserving (so offsets stay valid), and enough for matching. One
variant is folded on top: 帳/帐 → 账, so Taiwan's 轉帳/帳戶 meet the mainland's 转账/账户.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_TOKEN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:[.'][a-z0-9]+)*")

# The yes-no question of Mandarin and Cantonese, A-not-A (退唔退得返, 行不行), as a regex fragment for the turn
# readers' question patterns; a repeated no (不不不, 唔唔唔) is not one.
A_NOT_A = r"((?![不唔])[\u3400-\u9fff])[不唔]\1"

EN_STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being am do does did
    i me my we our you your he she it its they them their this that these those there here what which who whom
    how when where why can could would should will shall may might must have has had having not no so than too
    very just into about over under again further then once all any both each few more most other some such
    only own same s t don doesn didn isn aren wasn weren won wouldn shouldn couldn im ive id also
    get got""".split()
)
ZH_STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 哦 嗯 是 我 你 他 她 它 们 我们 你们 在 和 与 及 或 就 都 也 还 要 会 能 可以
    这 那 这个 那个 一个 请问 怎么 什么 如何 为什么 哪 有 没 不 个 么""".split()
)


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
            table[ord(parts[0])] = parts[1]
    return table


@lru_cache(maxsize=1)
def _simplified_only() -> frozenset[str]:
    """Characters that exist only in Simplified script (targets of t2s that differ from their source)."""
    return frozenset(v for k, v in _t2s_table().items() if chr(k) != v)


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """t2s, and 帳/帐 → 账: Taiwan writes accounts with 帳 (轉帳, 帳戶), which t2s makes 帐; mainland usage,
    and every Simplified policy, writes 账 (转账, 账户)."""
    return {**_t2s_table(), ord("帳"): "账", ord("帐"): "账"}


def to_simplified(text: str) -> str:
    """Traditional → Simplified, one character for one character (offsets are preserved)."""
    return text.translate(_fold_table())


def has_traditional(text: str) -> bool:
    """True when ``text`` holds a character that only Traditional script writes that way."""
    table = _t2s_table()
    return any(table.get(ord(c), c) != c for c in text)


@lru_cache(maxsize=16384)
def normalize(text: str) -> str:
    """NFKC (full width → half width), Traditional → Simplified, lower case.

    Cached: a live turn normalises the same passages and playbook phrases again and again."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def detect_language(text: str) -> str:
    """zh-Hans, zh-Hant, en or mixed, from the characters present."""
    han = _HAN.findall(text)
    latin_words = len(_LATIN_WORD.findall(text))
    if not han:
        return "en"
    table = _t2s_table()
    simp_only = _simplified_only()
    trad = sum(1 for c in han if ord(c) in table and table[ord(c)] != c)
    simp = sum(1 for c in han if c in simp_only)
    script = "zh-Hant" if trad > simp else "zh-Hans"
    # mostly English with a few Han characters, or the reverse: call it mixed
    if latin_words >= 3 and latin_words * 2 >= len(han) // 2:
        return "mixed"
    return script


def is_chinese(lang: str) -> bool:
    """True for zh-Hans and zh-Hant."""
    return lang.startswith("zh")


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    from assist.config import get_settings

    userdict = get_settings().kb_dir / "userdict.txt"
    if userdict.exists():
        jieba.load_userdict(str(userdict))
    jieba.initialize()
    return jieba


# Bump when tokenize() changes: BM25 index files made by another version are rebuilt, not trusted.
TOKENIZER_VERSION = 3


def _stem(word: str) -> str:
    """A light English suffix stripper: enough for BM25 to match card/cards, charge/charged/charges.

    A final "e" goes too (dispute, disputed → disput), as the suffixes take it with them."""
    for suf, min_len in (("ies", 5), ("ing", 6), ("ed", 5), ("es", 5), ("s", 4)):
        if word.endswith(suf) and len(word) >= min_len:
            if suf == "ies":
                return word[:-3] + "y"
            if suf == "s" and word.endswith("ss"):
                return word
            return word[: -len(suf)]
    return word[:-1] if len(word) >= 5 and word.endswith("e") else word


def tokenize(text: str) -> list[str]:
    """BM25 tokens: normalised, CJK segmented with jieba (plus single characters), English stemmed."""
    norm = normalize(text)
    tokens: list[str] = []
    for m in _TOKEN_RUN.finditer(norm):
        run = m.group()
        if _HAN.match(run):
            for w in _jieba().cut_for_search(run):
                if w not in ZH_STOPWORDS:
                    tokens.append(w)
        elif run not in EN_STOPWORDS:
            tokens.append(_stem(run))
    return tokens
