"""`Idempotency-Key` on POSTs: a retry with the same key and body gets the first answer, and is not done twice.

The key's record is written in the database before the request runs (the primary key, API key id + key, makes
one request its owner, on any server), and the answer after. A retry then gets:

- the stored answer, when the first request was answered (header ``Idempotent-Replayed: true``);
- 409, when the first request is still running (retry shortly), or the key came with a different request
  (method, path or body): a key names one request;
- a fresh run, when the first request failed (its record is dropped) or its server died while it ran (its
  record is taken over once older than ``ASSIST_IDEMPOTENCY_PENDING_S``);
- the turn the first request stored, when its server died after storing the turn but before answering: the
  transaction that stores a turn also marks the key ``stored`` (:func:`mark_stored`), so a retry never runs the
  turn a second time (:class:`StoredTurn`; the route answers from the database).

Records are kept ``ASSIST_IDEMPOTENCY_TTL_HOURS``; older ones are deleted (at most once a minute per process).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import and_, delete, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from assist.errors import ConflictError, InvalidInputError
from assist.models.common import utcnow
from assist.models.idempotency import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
PURGE_EVERY_S = 60.0

#: the key the request running in this context claimed (owner, key), for :func:`mark_stored`
_CLAIM: ContextVar[tuple[str, str] | None] = ContextVar("idempotency_claim", default=None)


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first request."""

    status_code: int
    body: Any


@dataclass(frozen=True)
class StoredTurn:
    """The first request stored its turn, and its server died before it answered: answer from the database."""

    call_id: str
    turn: int


def mark_stored(session: Session, *, call_id: str, turn: int) -> None:
    """Inside the transaction that stores a turn: mark the running request's key as having stored it, so that
    a retry after this server's death gets that turn back instead of running it again (no-op without a key)."""
    claim = _CLAIM.get()
    if claim is None:
        return
    owner, key = claim
    session.execute(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.owner) == owner,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.status) == "pending",
        )
        .values(status="stored", response={"call_id": call_id, "turn": turn})
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fingerprint(method: str, path: str, body: Any) -> str:
    """What a key is bound to: the method, the path and the body (canonical JSON)."""
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> str:
    """The key as given, or InvalidInputError: 1 to 255 visible ASCII characters."""
    if not key or len(key) > MAX_KEY_CHARS or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInputError(
            f"{HEADER} must be 1 to {MAX_KEY_CHARS} visible ASCII characters (e.g. a UUID), got {key[:40]!r}"
        )
    return key


class IdempotencyStore:
    """The records of keyed requests, in the database (shared by every server on it). Thread-safe.

    Args:
        engine: the database.
        ttl_hours: how long an answer is kept for retries.
        pending_s: after how long a request still marked as running is taken over by a retry.
    """

    def __init__(self, engine: Engine, *, ttl_hours: float = 24.0, pending_s: float = 120.0) -> None:
        if ttl_hours <= 0 or pending_s <= 0:
            raise ValueError(f"ttl_hours and pending_s must be positive, got {ttl_hours} and {pending_s}")
        self.engine = engine
        self.ttl = timedelta(hours=ttl_hours)
        self.pending = timedelta(seconds=pending_s)
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete the records older than the retention; returns how many."""
        cutoff = (now or utcnow()) - self.ttl
        with Session(self.engine) as session:
            result = session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff))
            session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def _maybe_purge(self) -> None:
        with self._purge_lock:
            if time.monotonic() - self._last_purge < PURGE_EVERY_S:
                return
            self._last_purge = time.monotonic()
        try:
            self.purge()
        except Exception:  # retention is housekeeping: never fail a request over it
            logger.exception("could not delete expired idempotency records")

    def begin(self, *, owner: str, key: str, fingerprint: str) -> Replay | StoredTurn | None:
        """Claim `key` for this request (None: run it), or the first request's answer to replay.

        Raises:
            ConflictError: the key came with a different request, or its first request is still running.
        """
        self._maybe_purge()
        for _ in range(3):  # a record can vanish between the failed insert and the read: try again
            with Session(self.engine) as session:
                session.add(IdempotencyRecord(owner=owner, key=key, fingerprint=fingerprint))
                try:
                    session.commit()
                    return None
                except IntegrityError:
                    session.rollback()
                row = session.get(IdempotencyRecord, (owner, key))
                if row is None:
                    continue
                now = utcnow()
                if _aware(row.created_at) < now - self.ttl or (
                    row.status == "pending" and _aware(row.created_at) < now - self.pending
                ):
                    # expired, or its server died while answering: whoever deletes it first runs the request
                    session.execute(
                        delete(IdempotencyRecord).where(
                            col(IdempotencyRecord.owner) == owner,
                            col(IdempotencyRecord.key) == key,
                            or_(
                                col(IdempotencyRecord.created_at) < now - self.ttl,
                                and_(
                                    col(IdempotencyRecord.status) == "pending",
                                    col(IdempotencyRecord.created_at) < now - self.pending,
                                ),
                            ),
                        )
                    )
                    session.commit()
                    continue
                if row.fingerprint != fingerprint:
                    raise ConflictError(
                        f"{HEADER} {key!r} was already used with a different request (method, path or body); "
                        "use a new key for a new request"
                    )
                if row.status == "done" and row.status_code is not None:
                    return Replay(row.status_code, row.response)
                if row.status == "stored":  # its turn is stored: never run it twice, whether its server lives or not
                    return StoredTurn(str(row.response["call_id"]), int(row.response["turn"]))
                raise ConflictError(f"the request with {HEADER} {key!r} is still being answered; retry shortly")
        raise ConflictError(f"the request with {HEADER} {key!r} is being retried concurrently; retry shortly")

    def complete(self, *, owner: str, key: str, status_code: int, body: Any) -> None:
        """Store the answer of the request that claimed `key`."""
        with Session(self.engine) as session:
            session.execute(
                update(IdempotencyRecord)
                .where(col(IdempotencyRecord.owner) == owner, col(IdempotencyRecord.key) == key)
                .values(status="done", status_code=status_code, response=body, completed_at=utcnow())
            )
            session.commit()

    def abandon(self, *, owner: str, key: str) -> None:
        """Drop the claim of a request that failed, so that a retry runs it again."""
        with Session(self.engine) as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.owner) == owner,
                    col(IdempotencyRecord.key) == key,
                    col(IdempotencyRecord.status) == "pending",
                )
            )
            session.commit()

    def run(
        self,
        *,
        owner: str,
        key: str | None,
        fingerprint: str,
        status_code: int,
        call: Callable[[], Any],
    ) -> Any:
        """Run `call` once per key: its result (a model or JSON), or a JSONResponse replaying the first answer.

        With no key, `call` simply runs. An exception from `call` drops the claim and propagates.
        """
        if key is None:
            return call()
        check_key(key)
        replay = self.begin(owner=owner, key=key, fingerprint=fingerprint)
        if isinstance(replay, StoredTurn):
            logger.info("idempotent replay of a stored turn", extra={"call_id": replay.call_id, "turn": replay.turn})
            return replay
        if replay is not None:
            logger.info("idempotent replay", extra={"status": replay.status_code})
            return JSONResponse(replay.body, status_code=replay.status_code, headers={"Idempotent-Replayed": "true"})
        token = _CLAIM.set((owner, key))
        try:
            result = call()
        except BaseException:
            self.abandon(owner=owner, key=key)
            raise
        finally:
            _CLAIM.reset(token)
        self.complete(owner=owner, key=key, status_code=status_code, body=jsonable_encoder(result))
        return result
