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

Modules: :mod:`.redaction` (``redact``: the steps in order), :mod:`.personal` (steps 1–3, 5, 8–10),
:mod:`.secrets` (step 4; API keys in log lines), :mod:`.cards` (steps 6–7: digit runs, separators, Luhn),
:mod:`.spoken` (digits said as words or Chinese numerals, full-width digits) and :mod:`.logs` (the filter).
"""

from assist.privacy.cards import luhn_ok
from assist.privacy.logs import LOG_MAX_CHARS, TRACEBACK_MAX_CHARS, RedactingFilter, install_log_redaction
from assist.privacy.personal import iban_ok, prc_id_ok
from assist.privacy.redaction import redact
from assist.privacy.secrets import redact_secrets

__all__ = [
    "LOG_MAX_CHARS",
    "TRACEBACK_MAX_CHARS",
    "RedactingFilter",
    "iban_ok",
    "install_log_redaction",
    "luhn_ok",
    "prc_id_ok",
    "redact",
    "redact_secrets",
]
