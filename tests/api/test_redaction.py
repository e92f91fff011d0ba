"""Personal data is redacted (assist.privacy) before a turn, a suggestion query or a guard event is stored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from assist.models.calls import Suggestion, Turn
from assist.models.guard import GuardEvent
from assist.models.keys import Role
from tests.utils.api import bearer, new_key

SECRETS = ("4111 1111 1111 1111", "4111111111111111", "11010519491231002X", "13812345678", "834211")


def test_nothing_personal_is_stored(make_app) -> None:
    app = make_app(redactor=None)  # the real redaction function
    with TestClient(app) as c:
        h = bearer(new_key(app, Role.agent))
        cid = c.post("/v1/calls", headers=h).json()["call_id"]
        turns = [
            ("customer", "我的信用卡丢了怎么办？卡号是 4111 1111 1111 1111，身份证 11010519491231002X"),
            ("agent", "好的，请报一下验证码 834211，手机 13812345678，这款理财保本"),
        ]
        for speaker, text in turns:
            assert (
                c.post(f"/v1/calls/{cid}/utterances", headers=h, json={"speaker": speaker, "text": text}).status_code
                == 200
            )
        with Session(app.state.db_engine) as s:
            stored = [t.text for t in s.exec(select(Turn))]
            stored += [x.query for x in s.exec(select(Suggestion))]
            events = s.exec(select(GuardEvent)).all()
            assert events
            for e in events:
                stored += [e.text, str(e.context), str(e.matches)]
        blob = " ".join(stored)
        for secret in SECRETS:
            assert secret not in blob, secret
        assert "[CARD]" in blob and "[ID]" in blob
        transcript = c.get(f"/v1/calls/{cid}", headers=h).json()["turns"]
        assert all(s not in str(transcript) for s in SECRETS)


def test_api_keys_never_reach_a_log_line() -> None:
    import logging

    from assist.privacy import RedactingFilter

    key = "ak_agent_Q2xhc3NpZmllZF9rZXlfMTIzNDU2Nzg5"
    # what uvicorn logs for a WebSocket: the path with its query string
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        (("127.0.0.1", 5000), f"/v1/calls/c1/stream?token={key}&lang=en"),
        None,
    )
    RedactingFilter().filter(record)
    line = record.getMessage()
    assert key not in line and "token=[KEY]&lang=en" in line
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "auth failed for %s", (key,), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "auth failed for [KEY]"


def test_uvicorn_access_lines_are_redacted_and_still_formatted() -> None:
    import io
    import logging

    from uvicorn.logging import AccessFormatter

    from assist.privacy import install_log_redaction

    key = "ak_agent_Q2xhc3NpZmllZF9rZXlfMTIzNDU2Nzg5"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    log = logging.getLogger("test.uvicorn.access")
    log.propagate = False
    log.addHandler(handler)
    install_log_redaction(log)
    errors: list[logging.LogRecord] = []
    handler.handleError = errors.append  # type: ignore[method-assign]
    try:
        access = '%s - "%s %s HTTP/%s" %d'  # what uvicorn's access logger is called with
        log.warning(access, "127.0.0.1:5000", "GET", "/healthz", "1.1", 200)
        log.warning(access, "127.0.0.1:5000", "GET", f"/v1/calls/c1?token={key}", "1.1", 401)
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert errors == []
    assert '"GET /healthz HTTP/1.1" 200' in out
    assert key not in out and "token=[KEY]" in out and " 401" in out
