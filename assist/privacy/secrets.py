"""Secrets read out in a turn: one-time passcodes, PINs, CVVs and passwords; API keys in a log line."""

from __future__ import annotations

import re

from assist.privacy.spoken import en_digit_run, spoken_digit_count, zh_numeral_run

_CODE_VALUE = rf"(?:\d(?:[ \-]?\d){{3,7}}|{zh_numeral_run(4, 8)})"
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
    rf"(\d(?:[ \-]?\d){{3,7}}(?!\d)|{en_digit_run(2, 8)})"
)
_CVV = re.compile(
    r"(?i)((?<![A-Za-z])(?:cvv2?|cvc2?|安全码|安全碼|背面三位(?:数|數)?)(?: is| was)?[是为為係:：#, ]{0,6})"
    rf"(\d{{3,4}}(?!\d)|{en_digit_run(2, 4)}|{zh_numeral_run(3, 4)})"
)
_PASSWORD = re.compile(
    r"(?i)(?=[登交查取网網密p])((?:登录|登入|交易|查询|取款|网银|網銀)?(?:密码|密碼)(?:是|为|為|係)[:：, ]{0,6}"
    r"|(?<![A-Za-z])password(?: is|:)\s{0,6})"
    # Not a value but a question about the password: 密码是不是…, 密码是多少, 密碼係咪…, 密码是什么.
    r"(?!不是|否|多少|什么|什麼|甚麼|啥|几|幾|怎|哪|咪|唔係|乜|咩|not\b|what\b|wrong\b)"
    rf"({en_digit_run(4, 16)}|[^\s,，。.;；!！?？\[\]]{{4,64}})"
)


def redact_passcodes(text: str) -> str:
    """Step 4 of :func:`assist.privacy.redact`: passcodes, PINs, CVVs and passwords → [OTP], [CVV], [PASSWORD].

    A CVV must say 3 or 4 digits and a passcode 4 to 8 (in digits, numerals or words); the words before the
    value stay.
    """
    out = _OTP_ZH.sub(lambda m: m.group(1) + "[OTP]", text)
    out = _OTP_ZH_AFTER.sub(lambda m: "[OTP]" + m.group(2), out)
    out = _CVV.sub(lambda m: m.group(1) + "[CVV]" if 3 <= spoken_digit_count(m.group(2)) <= 4 else m.group(0), out)
    out = _OTP_EN.sub(lambda m: m.group(1) + "[OTP]" if 4 <= spoken_digit_count(m.group(2)) <= 8 else m.group(0), out)
    return _PASSWORD.sub(lambda m: m.group(1) + "[PASSWORD]", out)


# API keys in a log line: the WebSocket's ?token=… (uvicorn logs the path with its query) or a bare key.
_SECRET_QUERY = re.compile(r"((?<![A-Za-z])(?:token|api_key|access_token)=)[^&\s\"']+", re.IGNORECASE)
_API_KEY = re.compile(r"\bak_(?:agent|editor|compliance|admin)_[A-Za-z0-9_-]{8,}")


def redact_secrets(text: str) -> str:
    """Replace API keys (bare, or as a token= query parameter) with [KEY]."""
    return _API_KEY.sub("[KEY]", _SECRET_QUERY.sub(lambda m: m.group(1) + "[KEY]", text))
