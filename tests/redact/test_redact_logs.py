"""The log filter: URLs decoded before redaction, long lines cut, tracebacks redacted (issue #14)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from uvicorn.logging import AccessFormatter

from assist.redact import LOG_MAX_CHARS, install_log_redaction

ACCESS = '%s - "%s %s HTTP/%s" %d'  # what uvicorn's access logger is called with


@pytest.fixture
def access_log() -> Iterator[tuple[logging.Logger, io.StringIO, list[logging.LogRecord]]]:
    """A logger formatted like uvicorn's access log, with the redaction installed; records that fail to format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    log = logging.getLogger("test.redact.access")
    log.propagate = False
    log.addHandler(handler)
    install_log_redaction(log)
    errors: list[logging.LogRecord] = []
    handler.handleError = errors.append  # type: ignore[method-assign]
    try:
        yield log, stream, errors
    finally:
        log.removeHandler(handler)


def _access(access_log: tuple[logging.Logger, io.StringIO, list[logging.LogRecord]], path: str) -> str:
    log, stream, errors = access_log
    log.warning(ACCESS, "127.0.0.1:5000", "GET", path, "1.1", 200)
    assert errors == [], "the access line failed to format"
    line = stream.getvalue()
    assert line.count("\n") == 1, line  # one record, one line
    return line


@pytest.mark.parametrize(
    ("path", "raw", "token"),
    [
        ("/v1/search?q=li.si%40example.com", "li.si", "[EMAIL]"),
        ("/v1/search?q=li.si%2540example.com", "li.si", "[EMAIL]"),  # encoded twice
        ("/healthz?q=4111%201111%201111%201111", "4111%201111", "[CARD]"),
        ("/healthz?q=4111+1111+1111+1111", "4111+1111", "[CARD]"),
        ("/healthz?card=4111%2E1111%2E1111%2E1111&x=1", "4111%2E1111", "[CARD]"),
        ("/v1/calls?phone=%2B86%20138%201234%205678", "1234%205678", "[PHONE]"),
        ("/v1/calls?phone=138+1234+5678", "1234+5678", "[PHONE]"),
        ("/v1/search?q=%E9%AA%8C%E8%AF%81%E7%A0%81%E6%98%AF123456", "123456", "[OTP]"),  # 验证码是123456
        ("/v1/search?q=%E6%88%91%E5%8F%AB%E7%8E%8B%E8%8A%B3", "%E7%8E%8B%E8%8A%B3", "[NAME]"),  # 我叫王芳
        ("/v1/search?q=my%20name%20is%20John%20Smith", "Smith", "[NAME]"),
    ],
)
def test_percent_encoded_values_in_a_url_are_redacted(access_log, path: str, raw: str, token: str) -> None:
    line = _access(access_log, path)
    assert raw not in line and token in line, line
    assert " HTTP/1.1" in line and line.rstrip().endswith('" 200 OK')


def test_a_url_with_nothing_personal_is_logged_as_it_was(access_log) -> None:
    path = "/v1/documents?title=Card%20fees%202024&q=a+b&page=2"
    assert f'"GET {path} HTTP/1.1" 200 OK' in _access(access_log, path)


def test_a_decoded_line_break_cannot_split_the_line(access_log) -> None:
    line = _access(access_log, "/v1/search?q=li.si%40example.com%0D%0AINFO%20forged%20line")
    assert "li.si" not in line and "[EMAIL]" in line and "%0D%0AINFO" in line


def test_a_long_access_line_is_cut_with_a_marker_and_still_formatted(access_log) -> None:
    card = "4111-1111-1111-1111"
    # one card at the start, one across the cut, one past it
    head = "/healthz?q=" + card + "-" + "x" * (LOG_MAX_CHARS - 40)
    path = head + card + "-" + "y" * 100_000 + card
    line = _access(access_log, path)
    assert len(line) < LOG_MAX_CHARS + 200
    assert "[cut: " in line and "characters in all]" in line
    assert "4111" not in line and "1111-1111" not in line
    assert line.rstrip().endswith('" 200 OK')


def test_a_long_message_is_cut_before_it_is_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("test.redact.long")
    log.propagate = False
    log.addHandler(handler)
    install_log_redaction(log)
    try:
        log.warning("utterance: %s", "验证码是123456 " + "1 " * 200_000)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "123456" not in out and "[OTP]" in out and "[cut: " in out
    assert len(out) < LOG_MAX_CHARS + 200


def test_personal_data_in_a_traceback_is_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test.redact.traceback")
    log.propagate = False
    log.addHandler(handler)
    install_log_redaction(log)
    try:
        try:
            raise ValueError("bad card number 4111 1111 1111 1111 for li.si@example.com")
        except ValueError:
            log.exception("turn failed")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "Traceback (most recent call last)" in out and "ValueError: bad card number [CARD]" in out
    assert "4111" not in out and "li.si@example.com" not in out
