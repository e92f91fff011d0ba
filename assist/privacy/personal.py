"""Who the caller is: e-mail addresses, IBANs, dates of birth, PRC ID numbers, phone numbers, stated names and
addresses."""

from __future__ import annotations

import re

from assist.privacy.spoken import ascii_digits

# starts only where a run of local-part characters starts: one attempt per run keeps the scan linear
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

_PRC_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6}[ ]?\d{8}[ ]?\d{3}[0-9Xx])(?![0-9A-Za-z])")
_PHONE_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ \-.]?)?1[3-9]\d[ \-.]?\d{4}[ \-.]?\d{4}(?!\d)")
_PHONE_CN_LAND = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[ \-])\d{7,8}(?!\d)")
PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ \-.]?\(?\d{1,4}\)?){2,5}(?!\d)")
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


def prc_id_ok(value: str) -> bool:
    """Checksum of an 18-character PRC resident ID number (GB 11643-1999)."""
    v = value.replace(" ", "").upper()
    if len(v) != 18:
        return False
    body = ascii_digits(v[:17])
    if len(body) != 17:
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    last = v[17] if v[17] == "X" else (ascii_digits(v[17]) or "?")
    return last == check


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


def phone_digits_ok(m: re.Match[str]) -> bool:
    """Whether the phone-number match ``m`` holds 7 to 15 digits (E.164 allows 15)."""
    return 7 <= len(ascii_digits(m.group(0))) <= 15


def redact_emails(text: str) -> str:
    """Step 1 of :func:`assist.privacy.redact`: e-mail addresses → [EMAIL]."""
    return _EMAIL.sub("[EMAIL]", text)


def redact_ibans(text: str) -> str:
    """Step 2: IBANs (a known country's length, mod 97 giving 1; in groups or not) → [IBAN]."""
    return _IBAN.sub(_iban_sub, text)


def redact_dates_of_birth(text: str) -> str:
    """Step 3: a date said as a date of birth (English, Simplified, Traditional) → [DOB]."""
    out = _DOB_EN.sub(lambda m: m.group(1) + "[DOB]", text)
    out = _DOB_ZH.sub(lambda m: m.group(1) + "[DOB]", out)
    return _DOB_ZH_BORN.sub("[DOB]", out)


def redact_prc_ids(text: str) -> str:
    """Step 5: PRC resident ID numbers whose checksum holds → [ID]."""
    return _PRC_ID.sub(lambda m: "[ID]" if prc_id_ok(m.group(1)) else m.group(0), text)


def redact_phones(text: str) -> str:
    """Step 8: mainland mobiles, international numbers, landlines and North-American numbers → [PHONE]."""
    out = _PHONE_CN_MOBILE.sub("[PHONE]", text)
    out = PHONE_INTL.sub(lambda m: "[PHONE]" if phone_digits_ok(m) else m.group(0), out)
    out = _PHONE_CN_LAND.sub("[PHONE]", out)
    return _PHONE_NANP.sub("[PHONE]", out)


def redact_names(text: str) -> str:
    """Step 9: a name the speaker states (Chinese or English) → [NAME]; the words before it stay."""
    out = _SURNAME_SPELT.sub("[NAME]", text)
    out = _NAME_ZH_SURNAME.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_SAID.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_FIELD.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_ZH_IAM.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_EN_SAID.sub(lambda m: m.group(1) + "[NAME]", out)
    out = _NAME_EN_SPEAKING.sub(lambda m: m.group(1) + "[NAME]", out)
    return _NAME_EN_IAM.sub(lambda m: m.group(1) + "[NAME]", out)


def redact_addresses(text: str) -> str:
    """Step 10: an address the speaker gives, to the end of the clause → [ADDRESS]."""
    out = _ADDRESS_ZH.sub(_address_sub, text)
    return _ADDRESS_EN.sub(_address_sub, out)
