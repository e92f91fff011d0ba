"""The one redaction function: personal data out of transcripts, guard events and logs.

``redact(text)`` replaces, in this order (each step sees the tokens the earlier ones left):

1. e-mail addresses → ``[EMAIL]``;
2. IBANs (a known country code, its length, mod 97 = 1; in groups or not) → ``[IBAN]``;
3. a date said as a date of birth ("my date of birth is 3 May 1985", "DOB 1985-05-03", "born on the third of
   May nineteen eighty-five", 出生日期是1985年5月3日, 生日係…, 我是1985年5月3日出生的) → ``[DOB]``;
4. one-time passcodes, PINs, CVVs and passwords read out in a turn (验证码是123456, 驗證碼係兩八二九一三, "the
   code is four eight two nine one three", "OTP 1234", 密码是abc123, CVV 123) → ``[OTP]`` (``[CVV]``,
   ``[PASSWORD]``);
5. PRC resident ID numbers (18 characters, checksum verified, last may be X) → ``[ID]``;
6. a number said as a card or account number (卡号 / 賬號 / "card number" / "account no." followed by 8 or more
   digits, typed or said as words or Chinese numerals) → ``[CARD]`` / ``[ACCOUNT]``, checksum or not;
7. other card numbers: 13–19 digits that pass Luhn, in groups with spaces, dashes, dots or slashes between
   them (ASCII or full width, mixed), or said digit by digit ("four one one one, one one one one …", "double
   one", "oh"; 四一一一…, 幺, 两/兩, 〇/零) → ``[CARD]``;
8. phone numbers: mainland mobiles (with or without +86), landlines (010-12345678), international
   (+44 20 7946 0958) and North-American style (415-555-0132) → ``[PHONE]``;
9. a name the speaker states (我叫王芳, 我是李明, 本人姓陈, 我係陳大文, 姓名：张三, "my name is John Smith",
   "this is Mary Jones speaking", "I'm John Smith") → ``[NAME]``; after 我是 / 我係 / 本人 only a common
   surname, a one- or two-character given name and the end of the clause count (我是想问一下 stays);
10. an address the speaker gives (我住在… / 住喺… / 地址是… up to the next comma, "my address is …" / "I live
    at …" up to the end of the clause) → ``[ADDRESS]``.

The words around each value stay ("我叫[NAME]，手机号[PHONE]"). Digits may be full width (１２３); ``\\d`` in
Python matches them, and they are converted for checksums. Numbers that fail a checksum are left alone (an
order number is not a card number), unless they sit in a passcode, card-number or account-number context.

Every pattern runs in time linear in the text: repetitions are bounded or cannot overlap, a match can start
only where its trigger starts, and the card search tries at most 19 digit groups from each group (a card has
at most 19 digits), with prefix sums for the checksum. The log filter (:class:`RedactingFilter`) percent-decodes
URLs before redacting and cuts a message over :data:`LOG_MAX_CHARS` characters first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from itertools import accumulate
from urllib.parse import quote, unquote

logger = logging.getLogger(__name__)

# starts only where a run of local-part characters starts: one attempt per run keeps the scan linear
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# what people type between digit groups: spaces, dashes, dots, slashes (ASCII or full width), up to three in a row
_SEPARATOR = r"[ \t\u00a0\u3000\-\u2010-\u2015\uff0d./\uff0e\uff0f]{1,3}"
# digits said one by one, as an ASR transcript writes them. Chinese numerals (幺 and 两 for 1 and 2, 〇 and 零 for 0,
# Traditional 兩, the financial forms 壹贰叁…) with at most two spaces or commas between them; English words
# ("four one one one, double one …", "oh" and "nought" for zero), a word a group. Bounded separators keep every
# run a single pass.
_ZH_NUMERAL_DIGIT = {
    **dict.fromkeys("零〇", "0"),
    **dict.fromkeys("一幺壹", "1"),
    **dict.fromkeys("二两兩贰貳", "2"),
    **dict.fromkeys("三叁參", "3"),
    **dict.fromkeys("四肆", "4"),
    **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陆陸", "6"),
    **dict.fromkeys("七柒", "7"),
    **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖", "9"),
}
_ZH_NUMERAL = "[" + "".join(_ZH_NUMERAL_DIGIT) + "]"
_ZH_NUMERAL_SEP = r"[ \t,，、\-]{0,2}"
_EN_DIGIT_WORD = {
    "zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_EN_DIGIT = "(?:" + "|".join(_EN_DIGIT_WORD) + r")\b"
_EN_UNIT = rf"(?:(?:double|triple)[ \-]{_EN_DIGIT}|{_EN_DIGIT})"
_EN_UNIT_SEP = r"[ \t,.\-]{1,3}"
_EN_UNIT_RE = re.compile(rf"(?i)(?:(double|triple)[ \-])?({_EN_DIGIT})")


def _zh_numeral_run(min_units: int, max_units: int | None = None) -> str:
    return rf"{_ZH_NUMERAL}(?:{_ZH_NUMERAL_SEP}{_ZH_NUMERAL}){{{min_units - 1},{max_units - 1 if max_units else ''}}}"


def _en_digit_run(min_units: int, max_units: int | None = None) -> str:
    return rf"\b{_EN_UNIT}(?:{_EN_UNIT_SEP}{_EN_UNIT}){{{min_units - 1},{max_units - 1 if max_units else ''}}}"


_CODE_VALUE = rf"(?:\d(?:[ \-]?\d){{3,7}}|{_zh_numeral_run(4, 8)})"
_OTP_ZH = re.compile(
    r"((?:短信|手机)?(?:验证码|驗證碼|动态码|動態碼|校验码|校驗碼|短信码|簡訊碼|动态密码|動態密碼|一次性密码|口令)"
    r"(?:是|为|為|係|是多少|号|號)?[:：,， ]{0,6}(?:是|为|為|係)?[:：,， ]{0,6})" + rf"({_CODE_VALUE})(?!\d)"
)
_OTP_ZH_AFTER = re.compile(
    rf"(?<!\d)({_CODE_VALUE})" r"(\s{0,3}(?:是|就是|係)?(?:我的|您的|你的|我嘅)?(?:验证码|驗證碼|动态码|動態碼))"
)
_OTP_EN = re.compile(
    r"(?i)(?=[ovsapc])((?<![A-Za-z])(?:one[- ]time (?:pass)?code|verification code|security code"
    r"|auth(?:entication)? code|passcode|otp|code|pin)(?: number)?(?: is| was|:|#|=)?(?: it's| its)?[ :#]{0,6})"
    rf"(\d(?:[ \-]?\d){{3,7}}(?!\d)|{_en_digit_run(2, 8)})"
)
_CVV = re.compile(
    r"(?i)((?<![A-Za-z])(?:cvv2?|cvc2?|安全码|安全碼|背面三位(?:数|數)?)(?: is| was)?[是为為係:：#, ]{0,6})"
    rf"(\d{{3,4}}(?!\d)|{_en_digit_run(2, 4)}|{_zh_numeral_run(3, 4)})"
)
_PASSWORD = re.compile(
    r"(?i)(?=[登交查取网網密p])((?:登录|登入|交易|查询|取款|网银|網銀)?(?:密码|密碼)(?:是|为|為|係)[:：, ]{0,6}"
    r"|(?<![A-Za-z])password(?: is|:)\s{0,6})"
    rf"({_en_digit_run(4, 16)}|[^\s,，。.;；!！?？\[\]]{{4,64}})"
)
# a number said right after "card number" / "account number" is that number, checksum or not (a misheard
# digit, a passbook account): the words name it
_NUMBER_IS = r"(?:\s{0,3}(?:is|was|:|#)\s{0,3}|\s{0,3}(?:是|为|為|係|：|:|#)\s{0,3}|\s{1,3})?"
_CARD_CTX = re.compile(
    r"(?i)(?=[信银銀借扣卡c])((?:信用卡|银行卡|銀行卡|借记卡|借記卡|扣账卡|扣賬卡|卡)(?:号码|號碼|号|號)|(?<![A-Za-z])card\s+(?:number|no\.?|#))"
    + _NUMBER_IS
    + rf"(\d(?:(?:{_SEPARATOR})?\d){{7,18}}(?!\d)|{_zh_numeral_run(8, 19)}|{_en_digit_run(8, 19)})"
)
_ACCOUNT_CTX = re.compile(
    r"(?i)(?=[账賬帳户戶a])((?:账户|賬戶|帳戶|户口|戶口)(?:号码|號碼|号|號)?|账号|賬號|帳號|(?<![A-Za-z])account\s+(?:number|no\.?|#)"
    r"|(?<![A-Za-z])acct\.?(?:\s+no\.?)?)"
    + _NUMBER_IS
    + rf"(\d(?:(?:{_SEPARATOR})?\d){{7,29}}(?!\d)|{_zh_numeral_run(8, 30)}|{_en_digit_run(8, 30)})"
)
_PRC_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6}[ ]?\d{8}[ ]?\d{3}[0-9Xx])(?![0-9A-Za-z])")
# digit groups (one run: "4111 1111 1111 1111", "4111.1111.1111.1111", "4111/1111-1111 1111"); a run may follow a
# "+" (checked as a card only when it is too long for a phone number); digits and separators never overlap, so a
# run is matched in one pass
_DIGIT_RUN = re.compile(rf"(?<!\d)\d+(?:{_SEPARATOR}\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
# card numbers said digit by digit, without a context word: 13 or more numerals or digit words in a row
_ZH_NUMERAL_RUN = re.compile(_zh_numeral_run(13))
_ZH_NUMERAL_ONE = re.compile(_ZH_NUMERAL)
# "triple" counts three: five words can say 13 digits
_EN_DIGIT_RUN = re.compile("(?i)(?=[dtzonfse])" + _en_digit_run(5))
_PHONE_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ \-.]?)?1[3-9]\d[ \-.]?\d{4}[ \-.]?\d{4}(?!\d)")
_PHONE_CN_LAND = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[ \-])\d{7,8}(?!\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ \-.]?\(?\d{1,4}\)?){2,5}(?!\d)")
_PHONE_NANP = re.compile(r"(?<![\d\w])(?:\(\d{3}\)\s?|\d{3}[\-. ])\d{3}[\-. ]\d{4}(?!\d)")

# -- names and addresses, where the speaker states them ------------------------------------------------------
# The ~100 commonest Chinese surnames (mainland and Hong Kong), Simplified and Traditional, and compound ones.
_SURNAMES = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖萧蕭"
    "田董袁潘于蒋蔣蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范金石廖贾賈夏韦韋付傅方白邹鄒孟熊秦"
    "邱江尹薛闫閆阎閻段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔向汤湯温溫颜顏庄莊麦麥区區关關"
    "冼邝鄺欧歐"
)
_COMPOUND_SURNAMES = (
    "欧阳|歐陽|司马|司馬|上官|诸葛|諸葛|司徒|东方|東方|皇甫|令狐|慕容|端木|夏侯|公孙|公孫|长孙|長孫|宇文"
)
_SURNAME = rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])"
# characters that end a name rather than belong to it: function words, particles, pronouns, question words and
# the first characters of what people say next (手机, 电话, 身份证, 卡号, 账号, 住, 想, 要 …)
_NAME_STOP = (
    "的我你您他她它是在想要和跟与與了吗嗎呢啊呀吧嘛啦哦就也都还還今现現手电電身卡账賬帐帳住号號请請先人个個"
    "什怎哪么麼不没沒已被把给給从從到对對说說问問叫姓名"
)
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_GIVEN = rf"(?:(?![{_NAME_STOP}]){_CJK})"
_AFTER_NAME = rf"(?=[^\u3400-\u4dbf\u4e00-\u9fff]|$|[{_NAME_STOP}])"  # a name stated as such ends here
_CLAUSE_END = r"(?=[^\u3400-\u4dbf\u4e00-\u9fff]|$|[啊呀哦呢吧嘛啦])"  # a clause boundary (or a particle)
# 我叫王芳 / 我的名字是陳大文 / 我個名叫…: two or three characters (four with a compound surname) are the name
_NAME_ZH_SAID = re.compile(
    r"(?=[我本])((?:我的?名字|我個名|我嘅名|本人姓名|我的姓名)(?:是|叫|係|为|為)\s{0,2}|(?:我|本人)(?:名叫|叫做|叫作|叫)\s{0,2})"
    rf"((?:{_COMPOUND_SURNAMES}){_GIVEN}{{1,2}}|(?![一这這那些下上来來去过過]){_GIVEN}{{2,3}}){_AFTER_NAME}"
)
# 姓名：王芳 / 姓名王芳 / …，叫王芳: a surname from the table, then the given name
_NAME_ZH_FIELD = re.compile(
    rf"((?:姓名(?:是|为|為|係)?[:：]?|[，,]\s?(?:全名)?叫)\s{{0,2}})({_SURNAME}{_GIVEN}{{1,2}}){_AFTER_NAME}"
)
# 我是李明 / 我係陳大文 / 本人王芳: only a common surname, a short given name and the end of the clause make it a name
# (我是想问一下, 我是高中生, 我是江苏人 stay); before 先生 / 小姐 / 經理 … the surname alone
_NOT_A_NAME = "高中|初中|白领|白領|白金|金卡|黄金|黃金|任何|万一|萬一|于是|於是|韩国|韓國|方面|江湖|史上|夏天"
_NAME_ZH_IAM = re.compile(
    rf"((?:我是|我係|本人是|本人係|本人)\s?)(?!{_NOT_A_NAME})"
    rf"({_SURNAME}(?=先生|小姐|女士|太太|老师|老師|经理|經理|师傅|師傅)|{_SURNAME}{_GIVEN}{{1,2}}{_CLAUSE_END})"
)
# 我姓王 / 免贵姓陈 / 本人姓歐陽，名大文; and a surname spelt out (弓长张, 耳东陈)
_NAME_ZH_SURNAME = re.compile(
    r"(?=[我本免敝姓])((?:我|本人|免贵|免貴|敝人?|^|(?<=[，,。！？!?\s]))姓\s?)"
    rf"({_SURNAME}(?:[，, ]?(?:名|单名|單名|叫)\s?{_GIVEN}{{1,2}}{_AFTER_NAME})?)"
)
_SURNAME_SPELT = re.compile(
    "弓长张|弓長張|立早章|木子李|耳东陈|耳東陳|口天吴|口天吳|双木林|雙木林|古月胡|草头黄|草頭黃|三横王|三橫王|言午许|言午許"
    "|禾呈程|人可何|走肖赵|走肖趙|关耳郑|關耳鄭"
)
# English: after "my name is" (any case), in "this is … speaking", or two or three capitalised words after I'm
_NAME_WORD_STOP = (
    r"(?:and|but|or|so|because|i|i'm|im|from|calling|speaking|here|the|a|an|please|thanks|thank|with|is|was|my|"
    r"to|for|about|of|on|in|at|it|this|that|um|uh|er|just|not|spelled|spelt|also|as|by|if|can|could|would|ok|"
    r"okay|yes|no|right|sir|madam|ma'am|and)\b"
)
_NAME_WORD = rf"(?:[A-Z]\.|(?!{_NAME_WORD_STOP})[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]*)"  # or an initial
_NAME_EN_SAID = re.compile(
    r"(?i)(?=[mnti])((?<![A-Za-z])(?:my\s+(?:full\s+|first\s+|last\s+|given\s+|family\s+|sur)?name(?:\s+is|'s|’s|:)|name\s+on\s+the\s+"
    r"(?:card|account)\s+is|the\s+(?:account|card)\s*holder(?:'s)?(?:\s+name)?\s+is|i\s+go\s+by)\s{1,3})"
    rf"({_NAME_WORD}(?: {_NAME_WORD}){{0,3}})"
)
_NAME_EN_SPEAKING = re.compile(
    rf"(?i)((?<![A-Za-z])this\s+is\s+)({_NAME_WORD}(?: {_NAME_WORD}){{0,2}})(?=\s+(?:speaking|here|calling)\b)"
)
_CAPITALISED = r"[A-Z][a-zà-öø-ÿ'’\-]+"
_NAME_EN_IAM = re.compile(
    r"((?<![A-Za-z])(?:I'm|I’m|I am|i'm|i am)\s+)"
    rf"((?!(?:The|A|An|In|At|On|From|With|Your|My|Not|Just|Very|So)\b){_CAPITALISED}"
    rf"(?: {_CAPITALISED}){{1,2}})(?=\s*(?:[,.!?;]|$)|\s+(?:and|calling|speaking|here|from)\b)"
)

# an address, where the speaker gives their own: to the end of the clause (Chinese: the next comma; English: the
# next full stop that does not end an abbreviation), at most 120 characters, stopping before the words that
# start what they say next (想 / 要 / 请 / 手机; "and", "my", "please")
_ADDRESS_ZH_STOP = (
    r"(?:想|要|请|請|可以|能不能|能否|需要|怎么|怎麼|如何|吗|嗎|麻烦|麻煩|帮我|幫我|谢谢|謝謝|唔該|唔该|我|手机|手機|电话|電話"
    r"|身份|卡号|卡號|[，,。.!！?？;；\n\[])"
)
_ADDRESS_ZH = re.compile(
    r"(?=[我家本住地通居联聯收邮郵寄现現新户戶账帳])"  # the triggers' first characters: a cheap test at each position
    r"((?:我(?:现在|現在|目前|家)?住在|我(?:现在|現在|目前)?住喺|我屋企(?:喺|在)|我家(?:在|喺)|家住(?:在)?|本人住(?:在|喺)"
    r"|(?:^|(?<=[，,。！？!?\s]))住(?:在|喺)"
    r"|(?<!网点)(?<!網點)(?<!分行)(?<!支行)(?<!银行)(?<!銀行)(?<!公司)(?<!门店)(?<!門店)(?<!网站)(?<!網站)(?<!网页)"
    r"(?<!網頁)(?<!邮箱)(?<!郵箱)(?<!电邮)(?<!電郵)(?<!邮件)(?<!郵件)"
    r"(?:我的|我家|家庭|通讯|通訊|居住|联系|聯繫|联络|聯絡|收货|收貨|邮寄|郵寄|寄送|现|現|新|户籍|戶籍|住宅|账单|帳單)?"
    r"(?:地址|住址)(?:(?:是|为|為|係|系|在)[:：]?|[:：]))\s{0,3}+)"
    rf"(?![哪什甚啥多边邊\[?？]|(?i:www|http))((?:(?!{_ADDRESS_ZH_STOP}).){{2,60}})"
)
_ADDRESS_EN_STOP = (
    r"(?:[;!?\n\[]|\.(?!(?<=\bSt\.)|(?<=\bRd\.)|(?<=\bAve\.)|(?<=\bApt\.)|(?<=\bNo\.)|(?<=\bDr\.)|(?<=\bLn\.)|(?<=\d\.)\d)"
    r"|\b(?:and|but|so|because|please|thanks|thank|my|can|could|would|which|is)\b)"
)
# an English address starts with a house number (in digits or words), a capital (Rose Cottage), Flat / Apt / Unit
_ADDRESS_EN_START = re.compile(
    r"\d|[A-Z]|(?i:(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|flat"
    r"|apartment|apt|unit|suite|room|house|number|no)\b)"
)
_ADDRESS_EN = re.compile(
    r"(?i)((?<![A-Za-z])(?:(?:my|our)\s+(?:(?:home|postal|mailing|billing|residential|new|current|correspondence|street|"
    r"delivery)\s+)?address\s*(?:is|was|'s|’s|:)|i\s+(?:live|reside)\s+at|i'?m\s+(?:living|staying)\s+at|"
    r"we\s+live\s+at)\s{1,3}+)"
    rf"(?!\[)((?:(?!{_ADDRESS_EN_STOP}).){{3,120}})"
)

# IBAN: country code, two check digits, the account (BBAN); letters and digits, maybe in groups of four. The
# country's IBAN length says where it ends; mod 97 must give 1 (ISO 13616).
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})((?:[ \-]?[A-Za-z0-9]){11,30})")
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip

# a date of birth, said as one: after "date of birth" / DOB / birthday / born (on), 出生日期 / 生日 / 出生于, or a
# full date before 出生 / 出世 / 生的. A date is up to eight parts (digits, month names, number words, "the",
# "of") with at most three separators between them: bounded, so one pass.
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_NUMBER_WORD = (
    r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
    r"|thousand|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth"
    r"|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)\b"
)
_DATE_PART = rf"(?:(?:the|of)\s+)?(?:\d{{1,4}}(?:st|nd|rd|th)?\b|{_MONTH}|{_NUMBER_WORD}(?:-{_NUMBER_WORD})?)"
_DOB_EN = re.compile(
    r"(?i)(?=[db])((?<![A-Za-z])(?:date\s+of\s+birth|birth\s*date|birthday|d\.?o\.?b\b\.?|born(?:\s+(?:on|in))?)"
    r"(?:\s{0,3}(?:is|was|'s|:|-|=)\s{0,3}(?:on\s+)?|\s{1,3}))"
    rf"({_DATE_PART}(?:[ \t,./\-]{{1,3}}{_DATE_PART}){{0,7}})(?!\[)"  # not glued to a placeholder: "oh[PHONE]"
)
_ZH_DATE_NUMERAL = "[〇零一二三四五六七八九十两兩]"
_ZH_YEAR = rf"(?:\d{{4}}|\d{{2}}|{_ZH_DATE_NUMERAL}{{2,4}})"
_ZH_DAY = rf"(?:\d{{1,2}}|{_ZH_DATE_NUMERAL}{{1,3}})"
_ZH_FULL_DATE = rf"{_ZH_YEAR}\s?[年\-/.]\s?{_ZH_DAY}\s?[月\-/.]\s?{_ZH_DAY}(?:\s?[日号號])?(?!\d)"
_ZH_DATE = (
    rf"(?:{_ZH_FULL_DATE}|{_ZH_DAY}\s?月\s?{_ZH_DAY}\s?[日号號]?(?!\d)|{_ZH_YEAR}\s?年\s?{_ZH_DAY}\s?月|\d{{8}}(?!\d))"
)
_DOB_ZH = re.compile(
    r"((?:出生日期|出生年月日|出生年月|出生于|出生於|出世日期|生日)(?:是|为|為|係|系|在|:|：|\s){0,3})"
    + rf"({_ZH_DATE})"
)
_DOB_ZH_BORN = re.compile(rf"(?=[\d〇零一二三四五六七八九十两兩])(?<!\d){_ZH_FULL_DATE}(?=\s?(?:出生|出世|生的|生人))")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _digits(s: str) -> str:
    """The ASCII digits of ``s`` (full-width and other decimal digits converted, everything else dropped)."""
    if s.isascii():
        return "".join(c for c in s if "0" <= c <= "9")
    return "".join(str(unicodedata.digit(c)) for c in s if c.isdecimal())


def luhn_ok(number: str) -> bool:
    """Luhn checksum of a digit string (separators ignored)."""
    digits = _digits(number)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def prc_id_ok(value: str) -> bool:
    """Checksum of an 18-character PRC resident ID number (GB 11643-1999)."""
    v = value.replace(" ", "").upper()
    if len(v) != 18:
        return False
    body = _digits(v[:17])
    if len(body) != 17:
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    last = v[17] if v[17] == "X" else (_digits(v[17]) or "?")
    return last == check


def _luhn_windows(groups: list[str]) -> list[tuple[int, int]]:
    """The card numbers in a run of digit groups, as (first, last) group indexes.

    A card is a window of whole groups with 13–19 digits in all that passes Luhn. Scanning left to right, the
    longest such window that starts at a group wins and the scan goes on after it. A window holds at most
    19 groups (every group has a digit), and prefix sums give each window's checksum in constant time, so the
    work is linear in the number of digits.
    """
    digits = [ord(ch) - 48 for g in groups for ch in g]
    offsets = list(accumulate((len(g) for g in groups), initial=0))
    luhn_doubled = [2 * d - 9 if d > 4 else 2 * d for d in digits]
    # plain[par][x]: sum of the digits at positions p < x with p % 2 == par; doubled[par][x]: the same with
    # each digit doubled the Luhn way
    plain = [list(accumulate((d if p & 1 == par else 0 for p, d in enumerate(digits)), initial=0)) for par in (0, 1)]
    doubled = [
        list(accumulate((d if p & 1 == par else 0 for p, d in enumerate(luhn_doubled)), initial=0)) for par in (0, 1)
    ]

    def luhn(a: int, b: int) -> bool:  # digits a..b-1; the last one is not doubled, the one before it is
        keep = (b - 1) & 1
        total = plain[keep][b] - plain[keep][a] + doubled[1 - keep][b] - doubled[1 - keep][a]
        return total % 10 == 0

    found: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        # the windows starting at group i that hold 13 to 19 digits end at groups first..last
        first = bisect_left(offsets, offsets[i] + 13) - 1
        last = bisect_right(offsets, offsets[i] + 19) - 2
        best = next((j for j in range(last, first - 1, -1) if luhn(offsets[i], offsets[j + 1])), -1)
        if best >= 0:
            found.append((i, best))
            i = best + 1
        else:
            i += 1
    return found


def _replace_windows(text: str, spans: list[tuple[int, int]], windows: list[tuple[int, int]], token: str) -> str:
    """``text`` with each window of ``spans`` (group i's start to group j's end) replaced by ``token``."""
    pieces: list[str] = []
    pos = 0
    for i, j in windows:
        pieces.append(text[pos : spans[i][0]] + token)
        pos = spans[j][1]
    pieces.append(text[pos:])
    return "".join(pieces)


def _is_intl_phone(m: re.Match[str]) -> bool:
    """Whether the digit run ``m`` follows a "+" and is, whole, the number that the phone step replaces."""
    plus = m.start() - 1
    if plus < 0 or m.string[plus] != "+":
        return False
    phone = _PHONE_INTL.match(m.string, plus)
    return phone is not None and phone.end() == m.end() and _phone_digits_ok(phone)


def _card_sub(m: re.Match[str]) -> str:
    """Redact the Luhn-valid card numbers inside a run of digit groups ("4111 1111 1111 1111 0925")."""
    run = m.group(0)
    found = list(_DIGIT_GROUP.finditer(run))
    groups = [g.group() for g in found] if run.isascii() else [_digits(g.group()) for g in found]
    if sum(map(len, groups)) < 13 or _is_intl_phone(m):
        return run  # too short for a card, or a phone number that the phone step takes whole ("+86 138 1234 5678")
    windows = _luhn_windows(groups)
    return _replace_windows(run, [g.span() for g in found], windows, "[CARD]") if windows else run


def _spoken_card_sub(m: re.Match[str]) -> str:
    """Redact the Luhn-valid card numbers in a run of digits said as Chinese numerals or English words."""
    run = m.group(0)
    if run[0] in _ZH_NUMERAL_DIGIT:
        units = list(_ZH_NUMERAL_ONE.finditer(run))
        groups = [_ZH_NUMERAL_DIGIT[u.group()] for u in units]
    else:
        units = list(_EN_UNIT_RE.finditer(run))
        groups = [_EN_DIGIT_WORD[u.group(2).lower()] * _REPEAT.get((u.group(1) or "").lower(), 1) for u in units]
    if sum(map(len, groups)) < 13:
        return run
    windows = _luhn_windows(groups)
    return _replace_windows(run, [u.span() for u in units], windows, "[CARD]") if windows else run


_REPEAT = {"double": 2, "triple": 3}


def _spoken_digits(value: str) -> int:
    """How many digits ``value`` says: digits, Chinese numerals, or English digit words ("double oh" is two)."""
    words = list(_EN_UNIT_RE.finditer(value))
    if not words:
        return sum(1 for c in value if c.isdecimal() or c in _ZH_NUMERAL_DIGIT)
    return sum(_REPEAT.get((w.group(1) or "").lower(), 1) for w in words)


def iban_ok(value: str) -> bool:
    """Whether ``value`` (spaces and dashes ignored) is an IBAN: a known country's length, mod 97 giving 1."""
    v = re.sub(r"[ \-]", "", value).upper()
    if _IBAN_LENGTH.get(v[:2]) != len(v) or not v.isascii() or not v.isalnum() or not v[2:4].isdigit():
        return False
    return int("".join(str(int(c, 36)) for c in v[4:] + v[:4])) % 97 == 1


def _iban_sub(m: re.Match[str]) -> str:
    """[IBAN] for the country's length of characters from the match's start, when they form a valid IBAN."""
    length = _IBAN_LENGTH.get(m.group(1).upper())
    if length is None:
        return m.group(0)
    body = m.group(3)
    chars = [i for i, c in enumerate(body) if c.isalnum()]
    if len(chars) < length - 4:
        return m.group(0)
    end = chars[length - 5] + 1  # just after the IBAN's last character, within the body
    after = body[end] if end < len(body) else m.string[m.end() : m.end() + 1]
    if after.isascii() and after.isalnum() or not iban_ok(m.group(1) + m.group(2) + body[:end]):
        return m.group(0)  # runs on into a longer word, or fails the check
    return "[IBAN]" + body[end:]


def _address_sub(m: re.Match[str]) -> str:
    """[ADDRESS] for the stated address, keeping the words before it and any spaces or commas after it."""
    value = m.group(2)
    kept = value.rstrip(" \t,，、")
    if not any(c.isalnum() for c in kept) or (kept.isascii() and not _ADDRESS_EN_START.match(kept)):
        return m.group(0)  # "my address is incorrect on my file": not an address
    return m.group(1) + "[ADDRESS]" + value[len(kept) :]


def _phone_digits_ok(m: re.Match[str]) -> bool:
    return 7 <= len(_digits(m.group(0))) <= 15


def redact(text: str) -> str:
    """Replace personal data in ``text`` with tokens, in the order the module docstring gives.

    The tokens: [EMAIL], [IBAN], [DOB], [OTP], [CVV], [PASSWORD], [ID], [CARD], [ACCOUNT], [PHONE], [NAME],
    [ADDRESS]. Linear in ``len(text)``; redacting the result again is meant to change nothing (tests check it).

    Args:
        text: A transcript turn, a guard event text or a log message.

    Returns:
        The text with every recognised value replaced; everything else unchanged.
    """
    if not text:
        return text
    out = _EMAIL.sub("[EMAIL]", text)
    out = _IBAN.sub(_iban_sub, out)
    out = _DOB_EN.sub(lambda m: m.group(1) + "[DOB]", out)
    out = _DOB_ZH.sub(lambda m: m.group(1) + "[DOB]", out)
    out = _DOB_ZH_BORN.sub("[DOB]", out)
    out = _OTP_ZH.sub(lambda m: m.group(1) + "[OTP]", out)
    out = _OTP_ZH_AFTER.sub(lambda m: "[OTP]" + m.group(2), out)
    out = _CVV.sub(lambda m: m.group(1) + "[CVV]" if 3 <= _spoken_digits(m.group(2)) <= 4 else m.group(0), out)
    out = _OTP_EN.sub(lambda m: m.group(1) + "[OTP]" if 4 <= _spoken_digits(m.group(2)) <= 8 else m.group(0), out)
    out = _PASSWORD.sub(lambda m: m.group(1) + "[PASSWORD]", out)
    out = _PRC_ID.sub(lambda m: "[ID]" if prc_id_ok(m.group(1)) else m.group(0), out)
    out = _CARD_CTX.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + "[CARD]", out)
    out = _ACCOUNT_CTX.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + "[ACCOUNT]", out)
    out = _DIGIT_RUN.sub(_card_sub, out)
    out = _ZH_NUMERAL_RUN.sub(_spoken_card_sub, out)
    out = _EN_DIGIT_RUN.sub(_spoken_card_sub, out)
    out = _PHONE_CN_MOBILE.sub("[PHONE]", out)
    out = _PHONE_INTL.sub(lambda m: "[PHONE]" if _phone_digits_ok(m) else m.group(0), out)
    out = _PHONE_CN_LAND.sub("[PHONE]", out)
    out = _PHONE_NANP.sub("[PHONE]", out)
    out = _SURNAME_SPELT.sub("[NAME]", out)
    out = _NAME_ZH_SURNAME.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_SAID.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_FIELD.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_IAM.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_EN_SAID.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_EN_SPEAKING.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_EN_IAM.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _ADDRESS_ZH.sub(_address_sub, out)
    out = _ADDRESS_EN.sub(_address_sub, out)
    return out


# API keys in a log line: the WebSocket's ?token=… (uvicorn logs the path with its query) or a bare key.
_SECRET_QUERY = re.compile(r"((?<![A-Za-z])(?:token|api_key|access_token)=)[^&\s\"']+", re.IGNORECASE)
_API_KEY = re.compile(r"\bak_(?:agent|editor|compliance|admin)_[A-Za-z0-9_-]{8,}")


def redact_secrets(text: str) -> str:
    """Replace API keys (bare, or as a token= query parameter) with [KEY]."""
    return _API_KEY.sub("[KEY]", _SECRET_QUERY.sub(lambda m: m.group(1) + "[KEY]", text))


# -- log lines ------------------------------------------------------------------------------------------------
LOG_MAX_CHARS = 8192  # a longer log message is cut (with a marker) before it is redacted
TRACEBACK_MAX_CHARS = 65536  # a longer traceback keeps its end, where the exception's message is
# A cut text is redacted with this many characters past the cut, so that a value across the cut is seen whole;
# the redacted text loses as many characters at the end, so that a value cut at that second point is dropped
# unseen. Longer than any value redact() looks for (19 digits said as words with commas is under 300).
_CUT_MARGIN = 512
_URL_TOKEN = re.compile(r"[^\s\"'<>]+")
_PLUS_BETWEEN_DIGITS = re.compile(r"(?<=\d)\+(?=\d)")
_URL_SAFE = "/?&=:;,+@[]!$'()*~#"  # kept as they are when a redacted URL is encoded again


def _redact_url_token(m: re.Match[str]) -> str:
    """A URL or query as it was logged, or, when its decoded form holds personal data, that form redacted.

    Percent-encoding (twice at most: %2540) and a '+' between digits hide a value from the patterns
    (li.si%40example.com, 4111+1111+1111+1111). The decoded token is redacted on its own and encoded again, so
    a decoded space or line break cannot split the log line; a token with nothing personal stays byte for byte.
    """
    token = m.group(0)
    if "%" not in token and "+" not in token:
        return token
    decoded = token
    for _ in range(2):
        if "%" not in decoded:
            break
        decoded = unquote(decoded, errors="replace")
    decoded = _PLUS_BETWEEN_DIGITS.sub(" ", decoded)
    if decoded == token:
        return token
    clean = redact(redact_secrets(decoded))
    return token if clean == decoded else quote(clean, safe=_URL_SAFE)


def _scrub(text: str) -> str:
    """API keys and personal data out of a log text, URLs decoded first; linear in the text's length."""
    return redact(redact_secrets(_URL_TOKEN.sub(_redact_url_token, text)))


def _scrub_log(text: str, limit: int = LOG_MAX_CHARS, *, keep_end: bool = False) -> str:
    """:func:`_scrub` of at most ``limit`` characters of ``text`` (its start, or its end), with a marker if cut."""
    if len(text) <= limit:
        return _scrub(text)
    marker = f"[cut: {len(text)} characters in all]"
    if keep_end:
        return "…" + marker + " " + _scrub(text[-(limit + _CUT_MARGIN) :])[_CUT_MARGIN:][-limit:]
    return _scrub(text[: limit + _CUT_MARGIN])[:-_CUT_MARGIN][:limit] + "…" + marker


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's formatted message (attach it to handlers).

    Personal data (see :func:`redact`) and API keys are removed from the message, its arguments and any
    traceback. URLs are percent-decoded first. A message over :data:`LOG_MAX_CHARS` characters is cut, with a
    marker, before it is redacted: no log line can make the filter work for long.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text once it is set
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _scrub_log(record.exc_text, TRACEBACK_MAX_CHARS, keep_end=True)
        if record.stack_info:
            record.stack_info = _scrub_log(record.stack_info, TRACEBACK_MAX_CHARS, keep_end=True)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the logging machinery to report
            return True
        clean = _scrub_log(message)
        if clean == message:
            return True  # nothing to remove: the record stays as it was, arguments and all
        # Keep the arguments' shape where redacting them one by one is enough: formatters such as uvicorn's
        # access log unpack record.args and fail on a record whose arguments were folded into the message.
        if isinstance(record.msg, str) and isinstance(record.args, tuple):
            msg = _scrub_log(record.msg)
            args = tuple(_scrub_log(a) if isinstance(a, str) else a for a in record.args)
            try:
                formatted = msg % args
            except (TypeError, ValueError):
                formatted = None
            # the line the whole message gives, or one with nothing left to redact (an argument was cut, or
            # redacted without the words around it in another argument)
            if formatted is not None and (
                formatted == clean
                or (len(formatted) <= LOG_MAX_CHARS * (1 + len(args)) and _scrub(formatted) == formatted)
            ):
                record.msg, record.args = msg, args
                return True
        record.msg = clean
        record.args = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger).

    Handler filters see records from every child logger, so this covers the whole process. Call it after
    logging is configured (e.g. after ``logging.basicConfig``).
    """
    target = logger or logging.getLogger()
    filt = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt
