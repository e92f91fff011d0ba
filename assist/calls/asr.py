"""Speech-recognition text made readable for retrieval and answer selection (never for what is stored).

ASR turns come without punctuation, with fillers ("呃", "嗯", "um, so like"), stutters ("我 我剛剛",
"I I bought"), English words dropped into Chinese ("張卡 lost 咗") and, in Hong Kong, Cantonese words that
the written policies never use (咗 唔 嘅 喺 係 冇 睇 俾). `normalize_asr` rewrites a turn into the written
form the documents share words with: fillers and stutters out, English numbers said in words to digits
(`numbers.spoken_numbers`), Cantonese words to their written-Chinese forms, the common code-switched English words
to Chinese. It is applied to the retrieval query's words and
to the question the answer's sentences are scored against; the transcript keeps what was said.
"""

from __future__ import annotations

import logging
import re
import statistics
from functools import lru_cache

from assist.calls.numbers import spoken_numbers
from assist.text import has_traditional

logger = logging.getLogger(__name__)

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_HAN_RE = re.compile(f"[{_HAN}]")

# Fillers: Chinese hesitation sounds anywhere; English ones as whole words.
_ZH_FILLERS = re.compile(r"[呃嗯欸誒唉哎噢]+|那個那個|那个那个")
_EN_FILLERS = re.compile(
    r"\b(?:u+m+|u+h+|e+r+m*|h+m+|mhm|you know|i mean|kind of|sort of|basically|literally)\b[,.]?\s*", re.IGNORECASE
)
_EN_LIKE = re.compile(r"\b(?:so|and|but|um|uh)\s+like\b[,]?|,\s*like\s*,", re.IGNORECASE)
# A word said twice ("I I", "the the") or a Chinese piece restarted ("我 我剛剛", "结果 结果好像").
_EN_REPEAT = re.compile(r"\b([a-z']+)(?:\s+\1\b)+", re.IGNORECASE)
_ZH_RESTART = re.compile(f"([{_HAN}]{{1,4}})\\s+(?=\\1)")

# Cantonese → written Chinese (Traditional, as Hong Kong callers' turns are), longest first.
_CANTONESE: dict[str, str] = {
    "唔見咗": "遺失了",
    "唔見": "遺失",
    "點算好": "怎麼辦",
    "點算": "怎麼辦",
    "點樣": "怎樣",
    "點解": "為什麼",
    "可唔可以": "可不可以",
    "係咪": "是不是",
    "係唔係": "是不是",
    "使唔使": "要不要",
    "要唔要": "要不要",
    "有冇": "有沒有",
    "幾多錢": "多少錢",
    "幾多": "多少",
    "幾時": "什麼時候",
    "幾耐": "多久",
    "幾長": "多長",
    "乜嘢": "什麼",
    "咩嘢": "什麼",
    "邊度": "哪裡",
    "邊個": "哪個",
    "而家": "現在",
    "琴日": "昨天",
    "頭先": "剛才",
    "銀包": "錢包",
    "攞返": "取回",
    "攞": "拿",
    "搵": "找",
    "撳": "按",
    "睇": "看",
    "俾": "給",
    "畀": "給",
    "咗": "了",
    "唔": "不",
    "嘅": "的",
    "喺": "在",
    "冇": "沒有",
    "嘢": "東西",
    "啲": "些",
    "佢": "他",
    "哋": "們",
    "咩": "什麼",
    "嚟": "來",
    "嗰": "那",
    "蚊": "元",
    "仲": "還",
    "咁": "那",
    "係": "是",
    "㗎": "",
    "囉": "",
    "呀": "",
    "啦": "",
}
_CANTONESE_RE = re.compile("|".join(re.escape(k) for k in sorted(_CANTONESE, key=len, reverse=True)))
_CANTONESE_CUE = re.compile(r"咗|唔|嘅|喺|冇|睇|俾|嘢|啲|佢|哋|咩|嚟|嗰|㗎|點解|點算|係咪|幾多|而家|琴日|頭先")

# English words said inside a Chinese turn → the policies' words (Simplified; Traditional when the turn is).
_CODE_SWITCH: dict[str, tuple[str, str]] = {
    "lost": ("遗失", "遺失"),
    "stolen": ("被盗", "被盜"),
    "card": ("卡", "卡"),
    "credit card": ("信用卡", "信用卡"),
    "otp": ("验证码", "驗證碼"),
    "sms": ("短信", "短訊"),
    "link": ("链接", "連結"),
    "fee": ("费用", "費用"),
    "fees": ("费用", "費用"),
    "charge": ("收费", "收費"),
    "cancel": ("取消", "取消"),
    "refund": ("退款", "退款"),
    "limit": ("限额", "限額"),
    "account": ("账户", "帳戶"),
    "statement": ("账单", "月結單"),
    "transfer": ("转账", "轉帳"),
    "deposit": ("存款", "存款"),
    "fund": ("基金", "基金"),
    "policy": ("保单", "保單"),
    "freeze": ("冻结", "凍結"),
    "block": ("冻结", "凍結"),
    "interest": ("利息", "利息"),
    "rate": ("利率", "利率"),
    "risk": ("风险", "風險"),
    "scam": ("诈骗", "詐騙"),
}
_CODE_SWITCH_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_CODE_SWITCH, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")
# Chinese ASR engines that segment words put a space between every word ("补卡 费 是 每张 卡 每个 自然 年度"):
# neither the steps' phrases nor the encoder read Chinese written that way. Such a turn (at least `SEGMENTED_RUNS`
# runs of Han characters, half of them at most `SEGMENTED_RUN_CHARS` long) is joined back; spaces that mark pauses
# between phrases ("喂 喂 是海港银行吧 我昨天在你们那个取款机取钱") are kept.
SEGMENTED_RUNS = 5
SEGMENTED_RUN_CHARS = 2
_HAN_RUN = re.compile(f"[{_HAN}]+")
_HAN_GAP = re.compile(f"(?<=[{_HAN}]) +(?=[{_HAN}])")


@lru_cache(maxsize=4096)
def written_form(text: str) -> str:
    """A word-segmented Chinese turn with its words joined back ("好 核實 咗 身份 喇" → "好核實咗身份喇"); any other
    text unchanged."""
    runs = [len(r) for r in _HAN_RUN.findall(text)]
    if len(runs) < SEGMENTED_RUNS or statistics.median(runs) > SEGMENTED_RUN_CHARS:
        return text
    return _HAN_GAP.sub("", text)


@lru_cache(maxsize=4096)
def normalize_asr(text: str) -> str:
    """The turn in written form: fillers and stutters out, Cantonese and code-switched words rewritten.

    Text that needs none of it comes back unchanged (written questions are not touched).
    """
    out = _EN_LIKE.sub(lambda m: " " if "," in m.group() else m.group().split()[0] + " ", text)
    out = _EN_FILLERS.sub(" ", out)
    out = _EN_REPEAT.sub(r"\1", out)
    out = spoken_numbers(out)  # "forty-five or ninety" → "45 or 90", as the policies write them
    han = len(_HAN_RE.findall(out))
    if han:
        out = _ZH_FILLERS.sub(" ", out)
        out = _ZH_RESTART.sub("", out)
        if _CANTONESE_CUE.search(out):
            out = _CANTONESE_RE.sub(lambda m: _CANTONESE[m.group()], out)
        if han >= 4:  # a Chinese turn with English words in it, not an English turn with a Chinese name
            trad = has_traditional(out)
            out = _CODE_SWITCH_RE.sub(lambda m: _CODE_SWITCH[m.group().lower()][1 if trad else 0], out)
    out = _SPACES.sub(" ", out).strip(" ,，")
    return out or text.strip()
