"""The channels a ticket names (app, online, phone, branch, atm, email, sms, wechat) and the words for each in
three scripts, said directly ("手机银行", "branch") or indirectly (a phone number is a phone's, "打电话给我" and
"they called me" are by phone, 簡訊 is an SMS). Matched after width folding, English on word boundaries."""

from __future__ import annotations

import re

CHANNELS = {
    "手机银行": "app", "手機銀行": "app", "app": "app", "mobile app": "app", "mobile banking": "app",
    "网银": "online", "網銀": "online", "网上银行": "online", "網上銀行": "online", "网上": "online", "網上": "online",
    "online banking": "online", "online": "online", "电话": "phone", "電話": "phone", "热线": "phone",
    "熱線": "phone", "phone": "phone", "hotline": "phone", "网点": "branch", "網點": "branch", "分行": "branch",
    "支行": "branch",
    "柜台": "branch", "櫃檯": "branch", "櫃台": "branch", "branch": "branch", "counter": "branch", "atm": "atm",
    "柜员机": "atm", "櫃員機": "atm", "提款机": "atm", "提款機": "atm", "邮箱": "email", "郵箱": "email",
    "电邮": "email", "電郵": "email", "电子邮件": "email", "email": "email", "e-mail": "email", "短信": "sms",
    "短訊": "sms", "sms": "sms", "text message": "sms", "微信": "wechat",
    "wechat": "wechat",
    # said indirectly: the detail or the act names the channel (a number is a phone's, a call is by phone)
    "手机号": "phone", "手機號": "phone", "手机号码": "phone", "手機號碼": "phone", "电话号码": "phone",
    "電話號碼": "phone", "phone number": "phone", "mobile number": "phone", "打电话": "phone", "打電話": "phone",
    "打来": "phone", "打來": "phone", "打嚟": "phone", "called me": "phone", "rang me": "phone",
    "phoned me": "phone", "phone call": "phone", "a call from": "phone", "簡訊": "sms", "简讯": "sms",
    "a text": "sms", "texted me": "sms", "email address": "email", "邮箱地址": "email", "電郵地址": "email",
    "官网": "online", "官網": "online", "website": "online", "网站": "online", "網站": "online",
}  # fmt: skip
CHANNEL_ALT = "|".join(sorted(map(re.escape, CHANNELS), key=len, reverse=True))
CHANNEL = re.compile("(?i)(?<![a-z])(" + CHANNEL_ALT + ")(?![a-z])")
