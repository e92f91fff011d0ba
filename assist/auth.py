"""API keys: created once, stored as SHA-256, looked up by hash, revocable."""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlmodel import Session, select

from assist.errors import InvalidInputError, NotFoundError
from assist.models.common import utcnow
from assist.models.keys import ApiKey, Role

logger = logging.getLogger(__name__)

KEY_PREFIX = "ak"


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, *, role: Role, name: str) -> tuple[ApiKey, str]:
    """Create a key for `role`; returns the stored row and the plaintext key (shown once, never stored).

    Raises:
        InvalidInputError: the name is empty or the role is unknown.
    """
    name = name.strip()
    if not name:
        raise InvalidInputError("key name must not be empty")
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInputError(f"unknown role {role!r}: use {', '.join(r.value for r in Role)}") from exc
    plaintext = f"{KEY_PREFIX}_{role.value}_{secrets.token_urlsafe(24)}"
    row = ApiKey(name=name, role=role, key_hash=hash_key(plaintext), prefix=plaintext[: len(role.value) + 7])
    session.add(row)
    session.commit()
    session.refresh(row)
    logger.info("api key created", extra={"key_id": row.id, "role": role.value})
    return row, plaintext


def lookup_key(session: Session, key: str) -> ApiKey | None:
    """The active (not revoked) key with this plaintext, or None."""
    if not key:
        return None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (revoked ones included)."""
    return list(session.exec(select(ApiKey).order_by(ApiKey.created_at)))  # type: ignore[arg-type]


def revoke_key(session: Session, *, key_id: str) -> ApiKey:
    """Revoke a key by id (idempotent).

    Raises:
        NotFoundError: no key has this id.
    """
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError("api key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        logger.info("api key revoked", extra={"key_id": key_id})
    return row
