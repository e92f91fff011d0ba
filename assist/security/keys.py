"""API keys: created once, stored as SHA-256, looked up by hash, revocable; and who may use which call.

Call ownership (docs/security.md): a call belongs to the key that started it (`Call.agent_key_id`).
`call_access` decides what a key may do with a call: the owner and admin everything; compliance may read
any call; an agent key may get `listen` (read and stream live: a supervisor) or `act` (everything the owner
may do: a telephony or ASR connector) on the calls of one key or of every key, through a grant an admin
makes with `assist keys grant`. Anyone else is told the call does not exist.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata

from sqlmodel import Session, col, select

from assist import audit
from assist.errors import InvalidInputError, NotFoundError
from assist.models.audit import _cli_actor  # the same "cli:<user>" actor as the key events
from assist.models.common import utcnow
from assist.models.keys import ApiKey, CallAccess, GrantAccess, KeyGrant, Role

logger = logging.getLogger(__name__)

KEY_PREFIX = "ak"


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


MAX_TEAM_CHARS = 64


def clean_team(team: str | None) -> str | None:
    """A team name as stored: trimmed, inner spaces collapsed (None: no team).

    Raises:
        InvalidInputError: a blank or over-long team, or one with control characters.
    """
    if team is None:
        return None
    if any(unicodedata.category(ch) == "Cc" for ch in team):
        raise InvalidInputError(f"team {team!r} contains control characters")
    cleaned = " ".join(team.split())
    if not cleaned or len(cleaned) > MAX_TEAM_CHARS:
        raise InvalidInputError(f"team must be 1 to {MAX_TEAM_CHARS} characters, got {team!r}")
    return cleaned


def create_key(session: Session, *, role: Role, name: str, team: str | None = None) -> tuple[ApiKey, str]:
    """Create a key for `role` (an agent's `team` groups its calls on the QA page); returns the stored row
    and the plaintext key (shown once, never stored).

    Raises:
        InvalidInputError: the name is empty, the role is unknown or the team is not a valid name.
    """
    name = name.strip()
    if not name:
        raise InvalidInputError("key name must not be empty")
    team = clean_team(team)
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInputError(f"unknown role {role!r}: use {', '.join(r.value for r in Role)}") from exc
    plaintext = f"{KEY_PREFIX}_{role.value}_{secrets.token_urlsafe(24)}"
    row = ApiKey(name=name, role=role, team=team, key_hash=hash_key(plaintext), prefix=plaintext[: len(role.value) + 7])
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


def set_team(session: Session, *, key_id: str, team: str | None) -> ApiKey:
    """Put a key's agent in `team` (None: no team); audited as ``key.team``. Calls started before keep the
    team they were started with.

    Raises:
        NotFoundError: no key has this id.
        InvalidInputError: the team is not a valid name.
    """
    team = clean_team(team)
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError("api key", key_id)
    if row.team != team:
        row.team = team
        session.add(row)
        session.commit()
        session.refresh(row)
        logger.info("api key team changed", extra={"key_id": key_id})
    return row


# -- grants and call access -----------------------------------------------------------------------
def _grant_ids(g: KeyGrant) -> dict[str, object]:
    return {"id": g.id, "grantee_key_id": g.grantee_key_id, "owner_key_id": g.owner_key_id, "access": g.access}


def grant_access(
    session: Session, *, grantee_key_id: str, owner_key_id: str | None, access: str, actor: ApiKey | None = None
) -> KeyGrant:
    """Let an agent key `listen` to or `act` on the calls of `owner_key_id` (None: of every key). Audited.

    Granting what is already granted returns the existing grant.

    Raises:
        NotFoundError: an unknown key id.
        InvalidInputError: an unknown access, a grantee that is not an active agent key, an owner that cannot
            start calls, or a key granted its own calls.
    """
    try:
        level = GrantAccess(access)
    except ValueError as exc:
        raise InvalidInputError(f"unknown access {access!r}: use {', '.join(a.value for a in GrantAccess)}") from exc
    grantee = session.get(ApiKey, grantee_key_id)
    if grantee is None:
        raise NotFoundError("api key", grantee_key_id)
    if grantee.revoked_at is not None:
        raise InvalidInputError(f"key {grantee_key_id!r} is revoked")
    if Role(grantee.role) != Role.agent:
        raise InvalidInputError(
            f"key {grantee_key_id!r} has role {Role(grantee.role).value!r}: grants are for agent keys "
            "(compliance already reads every call, admin does everything)"
        )
    if owner_key_id is not None:
        owner = session.get(ApiKey, owner_key_id)
        if owner is None:
            raise NotFoundError("api key", owner_key_id)
        if Role(owner.role) not in (Role.agent, Role.admin):
            raise InvalidInputError(f"key {owner_key_id!r} has role {Role(owner.role).value!r} and starts no calls")
        if owner_key_id == grantee_key_id:
            raise InvalidInputError("a key already has every access to its own calls")
    existing = session.exec(
        select(KeyGrant).where(
            KeyGrant.grantee_key_id == grantee_key_id,
            KeyGrant.owner_key_id == owner_key_id,
            KeyGrant.access == level.value,
            col(KeyGrant.removed_at).is_(None),
        )
    ).first()
    if existing is not None:
        return existing
    row = KeyGrant(grantee_key_id=grantee_key_id, owner_key_id=owner_key_id, access=level.value)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_name=_cli_actor()[0],
        action="grant.create",
        target_type="key_grant",
        target_id=row.id,
        after=_grant_ids(row),
    )
    session.commit()
    session.refresh(row)
    logger.info("grant created", extra=_grant_ids(row))
    return row


def list_grants(session: Session, *, include_removed: bool = False) -> list[KeyGrant]:
    """The grants in force (and, with `include_removed`, the removed ones too), oldest first."""
    stmt = select(KeyGrant)
    if not include_removed:
        stmt = stmt.where(col(KeyGrant.removed_at).is_(None))
    return list(session.exec(stmt.order_by(col(KeyGrant.created_at))))


def remove_grant(session: Session, *, grant_id: str, actor: ApiKey | None = None) -> KeyGrant:
    """End a grant (idempotent; audited). Open sockets that relied on it are closed within a second.

    Raises:
        NotFoundError: no grant has this id.
    """
    row = session.get(KeyGrant, grant_id)
    if row is None:
        raise NotFoundError("grant", grant_id)
    if row.removed_at is None:
        row.removed_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor=actor,
            actor_name=_cli_actor()[0],
            action="grant.remove",
            target_type="key_grant",
            target_id=row.id,
            before=_grant_ids(row),
        )
        session.commit()
        session.refresh(row)
        logger.info("grant removed", extra={"grant_id": grant_id})
    return row


def call_access(session: Session, *, key: ApiKey, owner_key_id: str | None) -> CallAccess:
    """What `key` may do with a call started by `owner_key_id` (None: a call with no recorded owner).

    admin: everything. The owner: everything. A grant in force for the owner (or for every key): listen or
    act. compliance: read. Anyone else: none. A call with no owner (started before ownership was recorded,
    or by a local tool) is read by compliance and handled by admin only.
    """
    role = Role(key.role)
    if role == Role.admin:
        return CallAccess.act
    best = CallAccess.read if role == Role.compliance else CallAccess.none
    if owner_key_id is None:
        return best
    if role == Role.agent and key.id == owner_key_id:
        return CallAccess.act
    if role == Role.agent:
        grants = session.exec(
            select(KeyGrant.access).where(
                KeyGrant.grantee_key_id == key.id,
                col(KeyGrant.removed_at).is_(None),
                (col(KeyGrant.owner_key_id) == owner_key_id) | col(KeyGrant.owner_key_id).is_(None),
            )
        ).all()
        for access in grants:
            best = max(best, CallAccess.act if access == GrantAccess.act else CallAccess.listen)
    return best
