"""Text cues for the turn-understanding heads: normalisation, question/promise/completion marks, clauses and
the editors' phrases (topic keywords, `done_when` pins) matched the way the playbooks match them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from assist.calls.understanding.clauses import parts as turn_parts
from assist.calls.understanding.clauses import scope_parts
from assist.text import A_NOT_A
from assist.text import normalize as _product_normalize

Normalizer = Callable[[str], str]
NORMALIZER_NAME = "assist.text.normalize"


def default_normalizer() -> tuple[Normalizer, str]:
    """The engine's normaliser (NFKC, Traditional → Simplified, lower case) and the name recorded in a model."""
    return _product_normalize, NORMALIZER_NAME


# Patterns run on normalised text (Simplified, lower case; Cantonese folds too: 係 → 系, 緊 → 紧).
_QUESTION = re.compile(
    r"[?？]|吗|呢\s*$|咩|吧\s*$|是否|要不要|要唔要|使唔使|使不使|系咪|系唔系|是不是|可不可以|可唔可以|能不能|"
    r"有没有|有冇|对吗|对不对|好吗|好不好|啱唔啱|点样|怎么|几时|多少|几多|边个|哪|什么|乜嘢|"
    r"^(?:do|does|did|shall|should|would|could|can|is|are|was|were|have|has|may|will|what|when|where|how|"
    r"which|who|why)\b|\b(?:shall i|would you like|do you want|can you|could you|is that|right)\s*$"
)
_REQUEST = re.compile(
    r"请问|请您|请报|请说|请提供|麻烦您|麻烦你|报一下|说一下|讲一下|讲下|告诉我|提供一下|话我知|念一下|"
    r"\bcan i have\b|\bcould i have\b|\bmay i have\b|\bcould you\b|\bcan you\b|\bwhat's your\b|\bwhat is your\b|"
    r"\bi'll need\b|\bi need your\b|\bjust need\b"
)
_FUTURE = re.compile(
    r"会|将|马上|稍后|待会|等会|一会|之后|以后|然后|先.{0,12}再|等.{0,12}(?:再|就)|准备|打算|阵间|等阵|即将|"
    r"我先|先帮|先跟|先给|先核|先把|先确认|先同|帮您看看|帮你看看|给您查|帮您查|查一下|"
    r"\bwill\b|'ll\b|\bgoing to\b|\babout to\b|\bonce\b|\bafter\b|\bbefore\b|\bfirst\b|\bnext\b|\blater\b|"
    r"\blet me\b|\bi need to\b|\bwe need to\b|\bi'd need\b|\bas soon as\b|\bcan\b"
)
_NEGATION = re.compile(
    r"没|不|未|无法|冇|唔|别|尚未|失败|"
    r"\bnot\b|n't\b|\bunable\b|\bcannot\b|\bno\b|\bnever\b|\bfailed\b|\bunsuccessful|\bunfortunately\b|\bafraid\b"
)
_PROGRESS = re.compile(
    r"正在|在帮|在给|在为|在处理|紧|稍等|等一下|等等|请稍候|处理中|进行中|"
    r"\bbear with\b|\bloading\b|\bone moment\b|\bhold on\b|\bin progress\b|\bprocessing\b|\bpulling\b|"
    r"\b(?:i'm|i am|we're|we are) (?:just )?\w+ing\b|\bjust \w+ing\b"
)
_COMPLETION = re.compile(
    r"已|好了|完成|完毕|咗|搞掂|办好|成功|通过|无误|一致|对上|对得上|符合|生效|受理|登记了|申请了|冻结了|挂失了|"
    r"\S了(?:\s|$|，|。)|"
    r"\bdone\b|\bhas been\b|\bhave been\b|'ve\b|'s been\b|\bis now\b|\ball set\b|\bcomplete|\bconfirmed\b|"
    r"\bpassed\b|\bverified\b|\bsorted\b|\bregistered\b|\blogged\b|\blodged\b|\bordered\b|\brequested\b|"
    r"\bsubmitted\b|\bblocked\b|\bfrozen\b|\bmatch(?:es|ed)\b|\bchecks out\b|\bon its way\b|\bgone through\b"
)
# Gates of the ticker (not features of the heads: the heads were trained on the cues above, so those stay as they
# are). A completion said in perfective aspect or as a result, precisely: Cantonese 咗 but not 為咗 ("in order to")
# nor 咗嘅 ("the registered phone", an attribute); 好了 but not 太好了 ("great!") nor 就好了 ("that would be
# fine"); "registered" but not "your registered mobile".
_DONE_ASPECT = re.compile(
    r"已|(?<![太就])好了|完成|完毕|搞掂|办好|成功|通过|无误|对上|对得上|一致|生效|受理|(?<!为)咗(?!嘅)|"
    r"\bdone\b|\bhas been\b|\bhave been\b|'ve\b|\bis now\b|\bare now\b|\ball set\b|\bcompleted?\b|\bconfirmed\b|"
    r"\bpassed\b|\bverified\b|\bblocked\b|\bfrozen\b|\bcancell?ed\b|\bordered\b|\blogged\b|\blodged\b|"
    r"\bregistered\b(?!\s+(?:mobile|number|phone|address|e-?mail|contact|details))|\bsubmitted\b|\bmatch(?:es|ed)?\b|"
    r"\bthrough security\b|"
    # more verbs of the checklist's work said done, and results said in Cantonese or as a finished check (V好)
    r"\bsuspended\b|\bstopped\b|\bdeactivated\b|\bopened\b|\bis open\b|\braised\b|\bfiled\b|\bescalated\b|"
    r"啱晒|对晒|"
    # a risk assessment's result told ("结果是C3 还在有效期内", "结果是C2稳健型", "your questionnaire … gives a C2
    # profile", "it came out c three"): the assessment was checked (not "the result is valid for 12 months")
    r"结果(?:是|系|为)\s*(?:c\s?[1-5一二三四五]|[^，。,\s]{0,3}(?:保守|稳健|平衡|成长|进取)型)|"
    r"\b(?:result (?:is|was)|came (?:out|back)(?: as)?) (?:an? )?c\s?(?:[1-5]|one|two|three|four|five)\b|"
    r"\bc\s?[1-5] profile\b|"
    r"(?:核实|核对|核验|验证|登记|处理|安排|设置|设定|挂失|冻结|停用|申请|补领|补办)好(?![吗未唔没])"
)
# The ticker's gate for "not yet": the heads' future cue, except 将 after 已 ("已经将尾数 8802 的卡挂失" is the
# disposal 将 of a thing done, not "will"), and with a proposal ("let's get the card blocked").
_FUTURE_GATE = re.compile(_FUTURE.pattern.replace("|将|", "|(?<!已经)(?<!已)将|", 1) + r"|\blet's\b|\blet us\b")
# Not yet done: a condition or a prerequisite ("要先做评估", "if you'd like"), a request ("please ..."), what the
# agent is about to do first (Cantonese 先), or a means of confirmation sent for the customer to act on.
_PENDING = re.compile(
    r"要先|需要先|得先|须先|必须先|之前(?:我)?(?:要|需要|得|先)|如果|假如|就算|\bif\b|\bplease\s*$|"
    # a condition said after it ("已經轉出去的話": if it has gone already), what is to be done as soon as
    # possible ("要尽快拨 165 报案"), a recommendation ("建议直接挂失补一张新卡") and what comes next ("…，再睇吓
    # 你嘅風險承受能力評估") are not yet done
    r"(?:的|嘅)话|尽快|建议|^再(?![次见])|"
    # what another matter would need ("其他业务就需要持卡人本人核验了"), what follows once a thing is done ("報咗
    # 即刻停卡": once reported, the card stops), and a confirmation sent for the customer to press ("發咗個確認")
    r"(?:就|还|都|则)需要|咗(?:即刻|就)|发(?:咗|了)?个确认|"
    # "sent" with nothing after it ("…改用 app 推送確認 我已經發咗"): what was sent waits on the customer
    r"^\s*(?:我|我们|我哋)?\s*(?:已经|啱啱|刚刚|刚)?\s*发(?:咗|了|出去了?)\s*$|"
    # a request of the customer anywhere in the clause ("please tap confirm"; not "please note it's done")
    r"\bplease\b(?!\s+(?:note|be aware|rest assured))|"
    # Cantonese clause-final 先, "first" ("我而家幫你停咗張卡先": V咗…先 is what the agent is about to do)
    r"(?<![首原优预事])先[\s。.!！]*$|"
    # a means of confirmation sent to the customer: the check waits on them ("我喺 App 推送咗確認",
    # "我们刚发了验证码", "I've sent a code to your phone")
    r"推送|推播|\bpush notification\b|(?:发|send|sent)[^，。,.;；]{0,12}"
    r"(?:推送|推播|验证码|验证短信|链接|连结|\bcode\b|\bpasscode\b|\botp\b|\bnotification\b|\bpush\b|\blink\b|\bprompt\b)"
)
# The customer told where they stand in a period ("你仲喺冷靜期入面", "您还在犹豫期内", "you're still within the
# cooling-off period"): their standing, not the rule explained.
_STANDING = re.compile(
    r"(?:仲喺|仲系|还在|仍在|仍然在|依然在)[^，。,.;；]{0,8}(?:期|内|入面|之内|里面)|\bstill (?:within|in|inside)\b"
)
_PLEASE = re.compile(r"\bplease\s*$")
# A clause that only acknowledges what the customer said or did: it reports no work of the agent's.
_ACK_ONLY = re.compile(
    r"^\s*(?:收到|收到了|好的?|好嘅|明白|明白了|知道了|了解|了解了|嗯+|哦+|噢|行|得|ok(?:ay)?|alright|all right|got it|"
    r"noted|sure|right|i see)[\s。.!！,，]*$"
)
# The agent starting the work as they speak ("我现在给您登记欺诈案件", "而家幫你處理"): it is under way, not done.
_UNDER_WAY_NOW = re.compile(r"(?:现在|而家)(?:就)?(?:给|帮|为|同|替)(?:您|你)")
# What an agent asks the customer to say or do, in the words _REQUEST (shared with the customer's side) leaves out:
# Cantonese 唔該 + a verb (not 唔該晒, "thanks"), "請講", "講埋" (tell me … too), pressing a confirmation (撳).
_ASKS_CUSTOMER = re.compile(r"唔该(?![晒哂嗮])|请你|请讲|请按|请点|讲埋|讲一讲|揿|按一下|按确认")
# The agent promises to do something (first person, not yet): "我会开个案", "我而家即刻凍結", "I'll log it".
_PROMISE = re.compile(
    r"(?:我|我们|我哋)(?:会|将|马上|稍后|待会|等会|先|再|就会|准备|打算|即刻|而家即刻|现在就|这就)|"
    # a clause that opens with 再, what comes next ("再跟您核对一下出生日期"; not 再次 "again", 再见 "bye")
    r"^\s*再(?![次见])|"
    r"\b(?:i'll|i will|we'll|we will|i'm going to|we're going to|let me|let's|let us)\b"
)
# History: what was done before this call, not by this turn ("上个月已经挂失过", "it was blocked back in March").
_HISTORY = re.compile(
    r"之前|以前|上次|上个月|去年|前年|当时|那时|(?<![通超经])过(?![期来去])|"
    r"\bago\b|\bback in\b|\blast (?:year|month|week|time)\b|\bpreviously\b|\bsince\b"
)
# A result stated with a plain 了 after a verb of the checklist's work ("提款卡也挂失了", "补卡申请了"): the
# generic "V了" is no mark of its own ("对了" is "by the way", "知道了" an acknowledgement).
_DONE_VERB_LE = re.compile(
    r"(?:冻结|挂失|停用|止付|锁定|锁住|停掉|取消|注销|补办|补发|补领|寄出|提交|登记|记录|开立|建立|转接|上报|"
    r"报案|核实|核对|核验|验证|办理)了"
)
# "Fine", said of something ("身份核验没问题", "資料核對無問題"): a result, not a negation. On its own ("没问题")
# it is an acknowledgement and stays as it was.
_FINE = re.compile(r"(?<=[\u4e00-\u9fff])(?:没有?问题|无问题|冇问题|没毛病)")
# A closing consequence: "…so nothing else can go through", "…so that no one can use it".
_CONSEQUENCE = re.compile(r"[,\s]+so (?:that )?(?:nothing|no one|no-one|nobody|no more)\b[^.;!?]*")
# A supervisor introducing themself, the escalation done ("我是客服主管陳", "我係值班主管", "this is Anna, the duty
# supervisor"): it says no completion in so many words, so it is a mark of its own (`introduces_supervisor`).
_SUPERVISOR_INTRO = re.compile(
    r"(?:我是|我系|我叫)[^，。,.!！?？;；\s]{0,8}(?:主管|经理|组长|负责人)|"
    r"\b(?:this is|i'm|i am|my name is)\b(?:[\s,]+[\w'-]+){0,4}?[\s,]+(?:the |a |your )?"
    r"(?:duty |senior |shift |customer service |service )?(?:supervisor|manager|team lead(?:er)?)\b|"
    # put through to one, or one on the line: "you're through to Grace, the duty supervisor", "Ms Zhou, the
    # duty supervisor, is on the line now", "主管已经接手"
    r"\byou(?:'re| are) (?:now )?(?:through|speaking|talking|connected) (?:to|with)\b[^.;!?]{0,40}?"
    r"\b(?:supervisor|manager|team lead(?:er)?)\b|"
    r"\b(?:supervisor|manager|team lead(?:er)?)\b[^.;!?]{0,30}?\b(?:is|has) (?:now )?"
    r"(?:on the line|here with us|with us|joined)\b|"
    r"(?:主管|经理|组长)[^，。,.!！?？;；]{0,6}已(?:经)?(?:在线|接入|接听|加入|接手|介入|上线)"
)
# Expired or no longer valid: a check that must be redone is not done ("测评已经过期", "已经过了 12 个月有效期").
_LAPSED = re.compile(
    r"过期|过咗期|失效了|过了[^，。,.]{0,10}有效期|超过[^，。,.]{0,10}有效期|重做|"
    r"(?:要|需要|得|须|必须|先)重新(?:做|评估|测评)|"  # "要重新評估"; not "您今天重新評估，結果C3"
    r"\bexpired\b|\bout of date\b|\bno longer valid\b"
)
# A clause longer than this is judged near a step's phrase (`said_plainly`): so many characters or words before it
# and after it. A condition or negation comes before the phrase ("once you're verified", "还没有核验通过"), a
# question or a promise that follows is about the next thing.
LONG_CLAUSE_CHARS = 40
NEAR_CHARS_BEFORE, NEAR_CHARS_AFTER = 10, 4
NEAR_WORDS_BEFORE, NEAR_WORDS_AFTER = 5, 2
# A word that starts the next sentence of an unpunctuated English turn: the words after a phrase stop before it
# ("thank you that matches you're verified what can i help with": the "can" asks about the next thing).
_NEXT_SENTENCE = frozenset(
    "what which how could can would is are do does did may let i i'm i've i'll i'd it's and so now please".split()
)
# Clauses: punctuation, or the spaces an ASR transcript puts between Chinese phrases, or ". " in English.
_CLAUSE = re.compile(r"[。！？!?；;，,]\s*|(?<=[\u4e00-\u9fff])\s+|\s+(?=[\u4e00-\u9fff])|\.\s+")
# Cantonese, by the particles and words Mandarin does not use (on normalised text: 係 → 系 is left out).
_CANTONESE = re.compile(r"咗|嘅|唔|喺|冇|啲|嗰|佢|哋|嘢|嚟|睇|畀|咩|乜|而家|琴日")
# An English relative clause (a wh-word then its subject): "which you've given me", "when you called".
_RELATIVE = re.compile(r"\s*(?:and |but )?(?:which|who|whom|where|when|that)\s+(?:i|you|we|they|he|she|it)(?:'\w+)?\b")
# An English clause that goes on from its subject in the clause before ("Ms Zhou, the duty supervisor, | is on the
# line now"): an auxiliary not followed by a subject is no inverted question.
_CONTINUED = re.compile(
    r"\s*(?:and |but )?(?:is|are|was|were|has|have|had|will|can|could|would|should|may|do|does|did)\s+"
    r"(?!(?:i|you|he|she|it|we|they|there|this|that|these|those|the|a|an|your|my|his|her|its|our|their|"
    r"any|anyone|anything|someone|somebody|everything|everyone)\b)"
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# A question in so many words (`asks_outright`): a question word, a question particle or an A-not-A form in
# Chinese (also Cantonese: 点算, 几时, 边度, 系唔系, 咩), or an English clause that opens with a question word or an
# auxiliary before its subject. A bare "?" or a closing 吧 is not enough: "十二点多吧", "last Tuesday, the 7th?"
# check a detail, they ask for nothing.
_ASKS_ZH = re.compile(
    r"吗|呢(?=\s|$|[，。！？?,.!])|咩|什么|啥|怎么|怎样|点样|点算|点办|咋|(?<!好)几(?=[多时级钱天日耐个号点岁])|"
    r"多少|多久|多长|为什么|点解|哪|边度|边个|是不是|系唔系|系咪|有没有|有冇|要不要|使唔使|能不能|可不可以|"
    rf"可唔可以|会不会|会唔会|{A_NOT_A}"
)
_ASKS_EN = re.compile(
    r"(?:^|[.?!,;]\s*)(?:(?:so|and|but|ok|okay|um|uh|then|oh|well)[\s,]+)*(?:how|what|what's|when|where|why|which|who)\b|"
    r"(?:^|[.?!,;]\s*)(?:[\w']+[\s,]+){0,2}?(?:(?:can|could|would|will|is|are|do|does|did|should|shall|may)\s+"
    r"(?:i|you|it|we|they|there|he|she)|(?:isn't|aren't|don't|doesn't|didn't|won't|can't|wasn't)\s+"
    r"(?:i|you|it|we|they|there|he|she|that))\b"
)

# Questions that keep the line or the conversation going, not needs: the head decides these as before.
_SMALL_TALK = re.compile(
    r"\bhow are you\b|\bhow's it going\b|\bhow are things\b|\bhow (?:have|'ve) you been\b|"
    r"\b(?:can|could) you hear me\b|\bare you (?:still )?there\b|\bstill there\b|\bhello\?|"
    r"你好吗|您好吗|最近好吗|最近怎么样|最近点呀|吃(?:了|咗)(?:饭)?(?:吗|未)|食咗饭未|"
    r"听(?:得|唔)?(?:到|见)(?:吗|我|未|唔)|听唔听到|听不听得到|在吗|在不在|喺唔喺度|仲喺度"
)

NEED_CUES = ("question", "short", "long")
STEP_CUES = (
    "question",
    "request",
    "future",
    "negation",
    "in_progress",
    "completion",
    "asks_at_end",  # the last clause asks or requests ("…you're verified. Last four of the card?")
    "clean_completion",  # a clause with a completion mark and no question, promise or negation
    "completion_first",  # the first clause carries the completion mark
    "many_clauses",  # more than two clauses
)


def need_cues(norm: str) -> np.ndarray:
    """Cues of a customer turn: a question marker, short (≤ 4 Han characters + words), long (> 30 Han or
    > 20 words)."""
    han, words = len(_HAN.findall(norm)), len(_WORD.findall(norm))
    return np.array([bool(_QUESTION.search(norm)), han + words <= 4, han > 30 or words > 20], dtype=np.float32)


def asks_outright(norm: str) -> bool:
    """True when a normalised customer turn asks a question in so many words ("好 咁個定期呢", "那 R2 有什么",
    "so where's my money", "and will I get it back"), not only with a "?" or a closing 吧, and is not small talk
    or a check of the line ("how are you?", "can you hear me?", "喂 聽唔聽到")."""
    if _SMALL_TALK.search(norm):  # "can you hear me?", "你好吗": the head reads these
        return False
    return bool(_ASKS_ZH.search(norm) or _ASKS_EN.search(norm))


def clauses(norm: str) -> list[str]:
    """The clauses of a normalised turn (never empty)."""
    parts = [p.strip() for p in _CLAUSE.split(norm) if p and p.strip()]
    return parts or [norm]


def step_cues(norm: str) -> np.ndarray:
    """Cues of an agent turn (`STEP_CUES`), on the whole turn and per clause."""
    cl = clauses(norm)
    last = cl[-1]
    return np.array(
        [
            bool(_QUESTION.search(norm)),
            bool(_REQUEST.search(norm)),
            bool(_FUTURE.search(norm)),
            bool(_NEGATION.search(norm)),
            bool(_PROGRESS.search(norm)),
            bool(_COMPLETION.search(norm)),
            bool(_QUESTION.search(last) or _REQUEST.search(last)),
            any(
                _COMPLETION.search(c) and not (_QUESTION.search(c) or _FUTURE.search(c) or _NEGATION.search(c))
                for c in cl
            ),
            bool(_COMPLETION.search(cl[0])),
            len(cl) > 2,
        ],
        dtype=np.float32,
    )


def tick_clauses(text: str, normalize: Normalizer, *, limit: int = 3) -> list[str]:
    """The clauses of an agent turn that may tick a step on their own: none for a turn of one clause (the
    whole turn is read anyway), else the first `limit` clauses (in the turn's own words) that neither ask
    (a question word, or a question mark after it), request, promise, set a condition, negate nor say the work
    is under way ("核对无误，请问卡号后四位是？" → ["核对无误"]; "I'll freeze it once you're verified" → [];
    "我send咗個通知俾你，你撳一撳確認？" → ["我send咗個通知俾你"])."""
    parts = turn_parts(text)
    if len(parts) < 2:
        return []
    return [part for part, asks in parts if _may_tick(part, asks, normalize)][:limit]


def late_done_clauses(text: str, normalize: Normalizer, *, limit: int = 3, extra: int = 2) -> list[str]:
    """The clauses of a long turn past the first `limit` that may tick (`tick_clauses`) and that say done in so
    many words (`says_done`) or introduce a supervisor: at most `extra`, in the turn's own words and order. A
    long turn's completion often comes late ("Let's go through them: 6 December, …, RMB 46. … Both are now
    lodged as disputes"); these are read by the precise fast path only (`TurnUnderstanding.said_done`)."""
    parts = turn_parts(text)
    if len(parts) < 2:
        return []
    may = [part for part, asks in parts if _may_tick(part, asks, normalize)]
    return [p for p in may[limit:] if says_done(normalize(p)) or introduces_supervisor(normalize(p))][:extra]


def other_clauses(text: str, normalize: Normalizer, *, limit: int = 3) -> list[tuple[str, bool]]:
    """The clauses of a turn of several clauses that `tick_clauses` leaves out (it keeps the first `limit`
    that may tick), in the turn's own words, each with whether a question mark ends it: the questions, promises
    and further completions that tell whether a step read done is still open."""
    parts = turn_parts(text)
    if len(parts) < 2:
        return []
    ticking = set(tick_clauses(text, normalize, limit=limit)) | set(late_done_clauses(text, normalize, limit=limit))
    return [(part, asks) for part, asks in parts if part not in ticking]


def asks(text: str, normalize: Normalizer) -> bool:
    """A clause that asks: a question mark ends it, or a question word. An English relative clause cut off at
    its comma ("…the last four, which you've given me") or a predicate cut off from its subject ("…, is on the
    line now") asks nothing."""
    if text.rstrip().endswith(("?", "？")):
        return True
    norm = normalize(text)
    return not (_RELATIVE.match(norm) or _CONTINUED.match(norm)) and bool(_QUESTION.search(norm))


def requests(text: str, normalize: Normalizer) -> bool:
    """A clause that asks the customer to do something ("麻煩你撳確認", "請您按一下確認", "please tap confirm",
    "唔該你講一講你阿媽嘅全名", "同埋講埋你嘅出世日期")."""
    norm = normalize(text)
    return bool(
        _REQUEST.search(norm) or _PLEASE.search(norm) or _ASKS_CUSTOMER.search(norm) or re.search(r"\bplease\b", norm)
    )


def lapsed(text: str, normalize: Normalizer) -> bool:
    """A clause that says a check has lapsed and must be redone ("已經過期了", "要重新評估", "it has expired")."""
    return bool(_LAPSED.search(normalize(text)))


def keeps_open(text: str, normalize: Normalizer, *, promises_too: bool, closing: bool) -> bool:
    """A clause that leaves the step it is about open: a question, a lapsed check, a promise (`promises_too`) or a
    request that closes the turn (`closing`; one that opens it asks the customer for their own part)."""
    if asks(text, normalize) or lapsed(text, normalize) or (closing and requests(text, normalize)):
        return True
    norm = normalize(text)
    # the work starts as the agent speaks ("我现在给您登记欺诈案件"; not "…登记了", "…已经登记好了"): under way
    if _UNDER_WAY_NOW.search(norm) and not (_DONE_ASPECT.search(norm) or _DONE_VERB_LE.search(norm)):
        return True
    return promises_too and promises(text, normalize)


def promises(text: str, normalize: Normalizer) -> bool:
    """A clause in which the agent promises to do something ("我会开个案", "我而家即刻凍結", "I'll log it")."""
    return bool(_PROMISE.search(normalize(text)))


def _may_tick(part: str, asks: bool, normalize: Normalizer) -> bool:
    """A clause that may tick on its own: it does not ask, is not "not yet" (`not_done`) and is more than an
    acknowledgement ("收到了" before "再跟您核对一下出生日期" carries the turn's meaning in its vector, not a
    result)."""
    norm = normalize(part)
    return not asks and not not_done(norm) and not _ACK_ONLY.match(norm)


def not_done(norm: str) -> bool:
    """The clause asks, requests, promises, sets a condition, negates, says the work is under way or that a
    check has lapsed ("fine" said of something is no negation: "身份核验没问题")."""
    norm = affirm(norm)
    gates = (_QUESTION, _REQUEST, _ASKS_CUSTOMER, _FUTURE_GATE, _NEGATION, _PROGRESS, _PENDING, _LAPSED)
    return any(rx.search(norm) for rx in gates)


def affirm(norm: str) -> str:
    """The normalised clause `norm` with "fine" said of something ("核验没问题", "核對無問題", "核对冇问题") read
    as the result it is, and without a closing consequence that nothing more can happen ("I've blocked the card
    so nothing else can go through": the "can" and "nothing" there tell the result, they do not offer or negate
    it)."""
    return _CONSEQUENCE.sub("", _FINE.sub("无误", norm))


def is_cantonese(norm: str) -> bool:
    """True when the normalised text is Cantonese (a particle or word Mandarin does not use: 咗, 嘅, 唔, 喺, 冇…)."""
    return bool(_CANTONESE.search(norm))


def introduces_supervisor(norm: str) -> bool:
    """A normalised clause or sentence in which a supervisor introduces themself ("我是客服主管陳", "我係值班
    主管", "this is Anna, the duty supervisor") and that neither asks, promises nor negates: the escalation is
    done."""
    return bool(_SUPERVISOR_INTRO.search(norm)) and not not_done(norm)


def introducing_sentence(text: str, normalize: Normalizer) -> str | None:
    """The first sentence of the turn (cut at sentence ends only) that is a supervisor's introduction
    (`introduces_supervisor`), in the turn's own words; the whole turn when it is one sentence; else None."""
    sentences = [s.strip() for s in re.split(r"[。！？!?；;]+|\.\s+", text) if s.strip()]
    for s in sentences:
        if introduces_supervisor(normalize(s)):
            return text if len(sentences) == 1 else s
    return None


def is_one_clause(text: str) -> bool:
    """True when the turn has at most one clause (`tick_clauses` gives none: the whole turn is the clause)."""
    return len(turn_parts(text)) < 2


def says_done(norm: str, *, asks: bool = False) -> bool:
    """A precise completion: the normalised clause says something is finished (已, 了, 咗, 完成, 通过, done,
    has been, I've, verified, blocked...) and neither asks (`asks`: a question mark ends it), requests,
    promises, sets a condition, negates, says the work is under way nor tells of an earlier time ("上次已经
    补过", "blocked back in March"). "身份核对完成" and "the card is now
    blocked" say done; "我先帮您核实一下", "I'll freeze it once you're verified" and "您要冻结吗" do not."""
    marked = _DONE_ASPECT.search(affirm(norm)) or _DONE_VERB_LE.search(norm)
    return bool(marked) and not asks and not not_done(norm) and not _HISTORY.search(norm)


def said_plainly(text: str, normalize: Normalizer, phrases: list[tuple[str, re.Pattern[str] | None]]) -> bool:
    """True when one of `phrases` (compiled) is said in a clause that neither asks, requests, promises, sets a
    condition, negates nor says the work is under way: "没有 24 小时冷静期" or "要先做风险承受能力评估" say the
    phrase but not that the step is done. Clauses here are cut at punctuation and at ASR spaces between Chinese
    phrases only (a space next to digits or Latin words stays inside the clause: "没有 24 小时冷静期").

    A long clause (an unpunctuated ASR turn is one) is judged near the phrase (`_near`): a negation or a question
    further on is about something else ("身份核验通过了您这张卡…卡就不能解冻了", "you're verified mr ho … you can't
    ask for a review yet"); one right after it still counts ("you're verified can you tell me the amount")."""
    for part, asks in scope_parts(text):
        norm = affirm(normalize(part))
        if not hit(norm, phrases):
            continue
        if len(norm) <= LONG_CLAUSE_CHARS:
            if not asks and not not_done(norm) and not _STANDING.search(norm):
                return True
            continue
        for near, at_end in _near(norm, phrases):
            if not (asks and at_end) and not not_done(near) and not _STANDING.search(near):
                return True
    return False


def _near(norm: str, phrases: list[tuple[str, re.Pattern[str] | None]]) -> list[tuple[str, bool]]:
    """The stretch of a long clause around each place a phrase is said (a few words before it, fewer after), and
    whether the stretch reaches the clause's end."""
    out = []
    for p, rx in phrases:
        spans = [m.span() for m in rx.finditer(norm)] if rx else [m.span() for m in re.finditer(re.escape(p), norm)]
        for a, b in spans:
            if norm[a:b].isascii():
                before, after = norm[:a].split()[-NEAR_WORDS_BEFORE:], norm[b:].split()[:NEAR_WORDS_AFTER]
                cut = next((k for k, w in enumerate(after) if w in _NEXT_SENTENCE), len(after))
                after = after[:cut]
                start = a - len(" ".join(before)) - (1 if before else 0)
                end = b + len(" ".join(after)) + (1 if after else 0)
            else:
                start, end = a - NEAR_CHARS_BEFORE, b + NEAR_CHARS_AFTER
            out.append((norm[max(start, 0) : end], end >= len(norm)))
    return out


def tells_standing_only(text: str, normalize: Normalizer, phrases: list[tuple[str, re.Pattern[str] | None]]) -> bool:
    """True when every clause of the turn that says one of `phrases` tells the customer where they stand in a
    period ("你仲喺冷靜期入面", "you're still within the cooling-off period") and none explains it."""
    said = [affirm(normalize(part)) for part, _ in scope_parts(text)]
    said = [norm for norm in said if hit(norm, phrases)]
    return bool(said) and all(_STANDING.search(norm) for norm in said)


def asks_or_requests(text: str, normalize: Normalizer = _product_normalize) -> bool:
    """True when one of the last two clauses of a turn asks (a question mark or word) or requests
    ("请问您贵姓，证件号后六位是多少？", "date of birth please", "麻烦说一下出生日期")."""
    for part, asks in scope_parts(text)[-2:]:
        norm = normalize(part)
        if asks or _QUESTION.search(norm) or _REQUEST.search(norm) or _PLEASE.search(norm):
            return True
    return False


def compile_phrases(phrases: Iterable[str], normalize: Normalizer) -> list[tuple[str, re.Pattern[str] | None]]:
    """Phrases matched the way the playbooks match them: substring for Chinese, word boundaries for ASCII."""
    out: list[tuple[str, re.Pattern[str] | None]] = []
    for p in phrases:
        norm = normalize(str(p)).strip()
        if not norm:
            continue
        if norm.isascii():
            body = re.escape(norm).replace(r"\ ", r"\s+")
            out.append((norm, re.compile(r"(?<![a-z0-9])" + body + r"(?![a-z0-9])")))
        else:
            out.append((norm, None))
    return out


def hit(norm: str, compiled: list[tuple[str, re.Pattern[str] | None]]) -> bool:
    """True when the normalised text contains one of the compiled phrases."""
    return any((rx.search(norm) if rx else p in norm) for p, rx in compiled)
