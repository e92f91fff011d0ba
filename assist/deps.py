"""Shared dependencies, with annotated aliases: `SessionDep`, `SettingsDep`, `GuardDep`, `CurrentKey`, ...

Heavy objects (embedders, indexes, the compiled guard, the call engine) are built once in the app's
lifespan (assist/app.py) and kept on `app.state`; these functions only hand them out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from sqlmodel import Session
from starlette.requests import HTTPConnection

from assist.compliance.holder import GuardHolder
from assist.config import Settings
from assist.errors import AssistError, AuthError, ForbiddenError, NotFoundError
from assist.models.keys import ApiKey, CallAccess, Role
from assist.protocols import Guard, Knowledge, Retriever
from assist.security.keys import lookup_key

if TYPE_CHECKING:
    from assist.aftercall.service import AfterCall
    from assist.calls.engine import CallEngine
    from assist.calls.hub import Hub
    from assist.idempotency import IdempotencyStore
    from assist.knowledge.documents import DocumentService
    from assist.security.gate import Security

logger = logging.getLogger(__name__)


class NotReadyError(AssistError):
    """A request that arrived before the lifespan finished loading."""

    status_code = 503


def _state(conn: HTTPConnection, name: str) -> Any:
    value = getattr(conn.app.state, name, None)
    if value is None:
        raise NotReadyError(f"service not ready: {name} is not loaded yet")
    return value


def get_settings_dep(conn: HTTPConnection) -> Settings:
    """The settings the app was built with."""
    return _state(conn, "settings")  # type: ignore[no-any-return]


def get_session(conn: HTTPConnection) -> Iterator[Session]:
    """A database session for one request."""
    with Session(_state(conn, "db_engine"), expire_on_commit=False) as session:
        yield session


def get_knowledge(conn: HTTPConnection) -> Knowledge:
    """The knowledge base (assist.knowledge.base.KnowledgeBase)."""
    return _state(conn, "knowledge")  # type: ignore[no-any-return]


def get_documents(conn: HTTPConnection) -> DocumentService:
    """The document service: upload, background jobs, retire, review (assist.knowledge.documents)."""
    return _state(conn, "documents")  # type: ignore[no-any-return]


def get_retriever(conn: HTTPConnection) -> Retriever:
    """The knowledge base's retriever."""
    return get_knowledge(conn).retriever


def get_guard_holder(conn: HTTPConnection) -> GuardHolder:
    """The holder of the guard in force (for the routes that swap it)."""
    return _state(conn, "guard_holder")  # type: ignore[no-any-return]


def get_guard(conn: HTTPConnection) -> Guard:
    """The guard in force right now (assist.compliance.guard.Guard); 503 when none with rules is in force."""
    return get_guard_holder(conn).get()


def get_call_engine(conn: HTTPConnection) -> CallEngine:
    """The live-call engine."""
    return _state(conn, "call_engine")  # type: ignore[no-any-return]


def get_call_hub(conn: HTTPConnection) -> Hub:
    """Who is watching which call (the WebSocket fan-out)."""
    return _state(conn, "call_hub")  # type: ignore[no-any-return]


def get_idempotency(conn: HTTPConnection) -> IdempotencyStore:
    """The records of requests sent with an Idempotency-Key (made on first use, kept on app.state)."""
    from assist.idempotency import IdempotencyStore

    store = getattr(conn.app.state, "idempotency", None)
    if store is None:
        settings: Settings = _state(conn, "settings")
        store = IdempotencyStore(
            _state(conn, "db_engine"),
            ttl_hours=settings.idempotency_ttl_hours,
            pending_s=settings.idempotency_pending_s,
        )
        conn.app.state.idempotency = store
    return store


def get_aftercall(conn: HTTPConnection) -> AfterCall:
    """Ticket templates, QA rubric and webhook sender (assist.aftercall.service), loaded on first use."""
    from assist.aftercall.service import aftercall_of

    return aftercall_of(conn.app.state, _state(conn, "settings"))


def key_from_socket(conn: HTTPConnection) -> str | None:
    """The key of a WebSocket handshake: `Authorization: Bearer <key>`, else `?token=<key>` (browsers cannot
    set headers on a WebSocket), else None. HTTP routes take the header only (assist/security/gate.py)."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    token = conn.query_params.get("token")
    return token.strip() if token and token.strip() else None


def authenticate(conn: HTTPConnection, session: Session) -> ApiKey:
    """The active key of `Authorization: Bearer <key>`, looked up directly (without the gate's cache).

    The gate (assist.security.gate.AuthGate) authenticates every /v1 request before it reaches a route; this is
    the fallback for an app assembled without it.

    Raises:
        AuthError: no key, or an unknown or revoked one.
    """
    from assist.security.gate import BAD_KEY, BAD_SCHEME, MISSING_KEY, bearer_credential

    key, malformed = bearer_credential(conn.headers)
    if key is None:
        raise AuthError(BAD_SCHEME if malformed else MISSING_KEY)
    row = lookup_key(session, key)
    if row is None:
        raise AuthError(BAD_KEY)
    return row


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
DocumentsDep = Annotated["DocumentService", Depends(get_documents)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
GuardDep = Annotated[Guard, Depends(get_guard)]
GuardHolderDep = Annotated[GuardHolder, Depends(get_guard_holder)]
CallEngineDep = Annotated["CallEngine", Depends(get_call_engine)]
IdempotencyDep = Annotated["IdempotencyStore", Depends(get_idempotency)]
AfterCallDep = Annotated["AfterCall", Depends(get_aftercall)]


def current_key(conn: HTTPConnection, session: SessionDep) -> ApiKey:
    """The caller's key, whatever its role (401 when missing, unknown or revoked): the one the gate
    authenticated before the request body was read."""
    from assist.security.gate import SCOPE_KEY

    key = conn.scope.get(SCOPE_KEY)
    if isinstance(key, ApiKey):
        return key
    return authenticate(conn, session)


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require_roles(*roles: Role) -> Callable[..., ApiKey]:
    """A dependency that admits keys of these roles (admin always) and returns the key.

    Usage: `AgentKey = Annotated[ApiKey, Depends(require_roles(Role.agent))]`.
    """
    allowed = frozenset(Role(r) for r in roles) | {Role.admin}

    def _dependency(key: CurrentKey) -> ApiKey:
        if Role(key.role) not in allowed:
            raise ForbiddenError(
                f"role {Role(key.role).value!r} may not do this; allowed: {', '.join(sorted(allowed))}"
            )
        return key

    return _dependency


AgentKey = Annotated[ApiKey, Depends(require_roles(Role.agent))]
AgentOrComplianceKey = Annotated[ApiKey, Depends(require_roles(Role.agent, Role.compliance))]
EditorKey = Annotated[ApiKey, Depends(require_roles(Role.editor))]
ComplianceKey = Annotated[ApiKey, Depends(require_roles(Role.compliance))]
AdminKey = Annotated[ApiKey, Depends(require_roles(Role.admin))]
EditorOrComplianceKey = Annotated[ApiKey, Depends(require_roles(Role.editor, Role.compliance))]


def get_security(conn: HTTPConnection) -> Security:
    """Key store and rate limits (assist.security.gate.Security)."""
    return _state(conn, "security")  # type: ignore[no-any-return]


SecurityDep = Annotated["Security", Depends(get_security)]


def require_call_access(engine: CallEngine, call_id: str, key: ApiKey, need: CallAccess, doing: str) -> CallAccess:
    """The key's access to the call, when it is at least `need`.

    Raises:
        NotFoundError: the call does not exist, or the key may not know that it does (no access at all).
        ForbiddenError: the key may see the call but not do this (e.g. a supervisor posting a turn).
    """
    have = engine.store.access(call_id, key)
    if have == CallAccess.none:
        raise NotFoundError("call", call_id)
    if have < need:
        raise ForbiddenError(f"this key may {have.name} call {call_id!r} but not {doing}")
    return have


def call_guard(need: CallAccess, doing: str, *roles: Role) -> Callable[..., ApiKey]:
    """A dependency for routes with a `{call_id}`: the role check (403), then the key's access to that call
    (404 when it has none, 403 when too little). Returns the key."""
    role_dep = require_roles(*roles)

    # a default, not Annotated[...]: annotations are strings here, and role_dep is not a module global
    def _dependency(call_id: str, engine: CallEngineDep, key: ApiKey = Depends(role_dep)) -> ApiKey:
        require_call_access(engine, call_id, key, need, doing)
        return key

    return _dependency


# Routes on one call: the key's role, then its access to that call (assist.security.keys.call_access).
CallActor = Annotated[ApiKey, Depends(call_guard(CallAccess.act, "add turns to it or end it", Role.agent))]
CallReader = Annotated[ApiKey, Depends(call_guard(CallAccess.read, "read it", Role.agent, Role.compliance))]
