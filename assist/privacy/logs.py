"""Log lines without personal data or API keys: the :class:`RedactingFilter`, URLs percent-decoded before they
are redacted, and caps on the length of a message and of a traceback. The filter redacts a record's ``extra``
fields too (:func:`record_extras`), so every formatter (text or JSON, assist/logs.py) prints clean values."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote

from assist.privacy.redaction import redact
from assist.privacy.secrets import redact_secrets

LOG_MAX_CHARS = 8192  # a longer log message is cut (with a marker) before it is redacted
TRACEBACK_MAX_CHARS = 65536  # a longer traceback keeps its end, where the exception's message is
# A cut text is redacted with this many characters past the cut, so that a value across the cut is seen whole;
# the redacted text loses as many characters at the end, so that a value cut at that second point is dropped
# unseen. Longer than any value redact() looks for (19 digits said as words with commas is under 300).
_CUT_MARGIN = 512
_URL_TOKEN = re.compile(r"[^\s\"'<>]+")
_PLUS_BETWEEN_DIGITS = re.compile(r"(?<=\d)\+(?=\d)")
_URL_SAFE = "/?&=:;,+@[]!$'()*~#"  # kept as they are when a redacted URL is encoded again
# The attributes every LogRecord has; anything else on a record came from ``extra={...}``.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_EXTRA_DEPTH = 4  # nested lists and dicts in an extra are redacted this deep; deeper ones are replaced whole


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


def record_extras(record: logging.LogRecord) -> dict[str, object]:
    """The fields ``extra={...}`` put on ``record`` (call_id, turn, timings, ...), by name."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS and not k.startswith("_")}


def _scrub_key(key: object) -> object:
    """A dict key of an extra: numbers, booleans and None as they are, anything else as redacted text (JSON
    takes no other keys)."""
    return key if key is None or isinstance(key, bool | int | float) else _scrub_log(str(key))


def _scrub_value(value: object, depth: int = 0) -> object:
    """An extra's value with every string in it redacted; numbers, booleans and None stay as they are, other
    objects become their redacted ``str()`` (what a formatter would print), containers are walked."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _scrub_log(value)
    if depth < _EXTRA_DEPTH and isinstance(value, dict):
        return {_scrub_key(k): _scrub_value(v, depth + 1) for k, v in value.items()}
    if depth < _EXTRA_DEPTH and isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v, depth + 1) for v in value]
    return _scrub_log(str(value))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's formatted message (attach it to handlers).

    Personal data (see :func:`redact`) and API keys are removed from the message, its arguments, the
    ``extra`` fields (strings in lists and dicts included) and any traceback. URLs are percent-decoded first.
    A message over :data:`LOG_MAX_CHARS` characters is cut, with a marker, before it is redacted: no log line
    can make the filter work for long.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text once it is set
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _scrub_log(record.exc_text, TRACEBACK_MAX_CHARS, keep_end=True)
        if record.stack_info:
            record.stack_info = _scrub_log(record.stack_info, TRACEBACK_MAX_CHARS, keep_end=True)
        for name, value in record_extras(record).items():
            setattr(record, name, _scrub_value(value))
        return self._redact_message(record)

    @staticmethod
    def _redact_message(record: logging.LogRecord) -> bool:
        """The message and its arguments redacted in place (the arguments' shape kept where it can be)."""
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
