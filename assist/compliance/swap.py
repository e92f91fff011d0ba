"""The guard hot swap: compile the rules in force in the database and put them into the running app.

The running guard is rebuilt from the database after each change and swapped in one assignment
(:func:`rebuild_guard`), so a live call uses the new rules from its next turn, without a restart. Other worker
processes follow with :func:`refresh_if_stale`, which compares the holder's rules fingerprint with the database's.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select

from assist.compliance.holder import GuardHolder
from assist.compliance.packs import ensure_seeded
from assist.compliance.store import (
    compile_guard,
    current_disclosures,
    current_rules,
    current_versions,
    upgrade_legacy_regexes,
)
from assist.errors import RulePackError
from assist.models.guard import DisclosureRecord, RuleRecord

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Guard

logger = logging.getLogger(__name__)

_swap_lock = threading.Lock()


def build_guard(*, session: Session) -> Guard:
    """A guard compiled from the rules and disclosures in force in the database."""
    return compile_guard(current_rules(session=session), current_disclosures(session=session) or None)


def load_guard(*, session: Session, rules_path: Path) -> Guard:
    """Seed on first start, then build the guard from the database (for the app's lifespan and the CLI).

    The guard may have no rules (an empty database and no pack to seed from): callers check
    :func:`assist.compliance.guard.engine.unavailable_reason` and fail closed.
    """
    ensure_seeded(session=session, rules_path=rules_path)
    upgrade_legacy_regexes(session=session)
    return build_guard(session=session)


def no_rules_reason(rules_path: Path) -> str:
    """Why a guard built from the database has no rules: what to do about it."""
    return (
        f"no rule is in force: the database holds none and there is no rule pack at {rules_path} to seed it "
        "from (set ASSIST_RULES_DIR, or import a pack through POST /v1/rules/import)"
    )


def rules_fingerprint(*, session: Session) -> tuple[int, int]:
    """Changes whenever any rule or disclosure version is added (newest row ids)."""
    rule = session.exec(select(func.max(RuleRecord.id))).one() or 0
    disc = session.exec(select(func.max(DisclosureRecord.id))).one() or 0
    return int(rule), int(disc)


def load_guard_into(*, session: Session, holder: GuardHolder, rules_path: Path) -> bool:
    """(Re)load the guard from the database into `holder`, seeding an empty database first.

    On failure the holder is marked unavailable with the reason (nothing passes unchecked) and the error
    is logged. Returns True when a guard with rules is in force.
    """
    try:
        guard = load_guard(session=session, rules_path=rules_path)
        fingerprint = rules_fingerprint(session=session)
    except Exception as exc:  # a broken rule pack, a stored rule the engine refuses, the database down
        session.rollback()
        detail = str(exc) if isinstance(exc, RulePackError) else f"{type(exc).__name__} reading the database"
        logger.exception("the compliance guard could not load its rules")
        holder.fail(f"the rules could not be loaded: {detail}")
        return False
    holder.swap(guard)
    holder.rules_fingerprint = fingerprint
    if not guard.rules:
        holder.fail(no_rules_reason(rules_path))
        return False
    return True


def rebuild_guard(*, session: Session, holder: GuardHolder) -> Guard:
    """Compile the rules now in the database and swap them into the running app.

    Call after the change is committed. The lock makes concurrent changes swap in commit order: each
    rebuild reads the database inside the lock, so the last swap always holds the newest rules.
    """
    with _swap_lock:
        session.expire_all()
        fingerprint = rules_fingerprint(session=session)
        guard = build_guard(session=session)
        holder.swap(guard)
        holder.rules_fingerprint = fingerprint
    logger.info("guard swapped", extra={"rules": len(current_versions(session=session))})
    return guard


def refresh_if_stale(*, session: Session, holder: GuardHolder) -> bool:
    """Rebuild and swap when another process changed the rules since this holder's guard was built.

    Rule changes swap the guard of the process that served them at once. With several worker processes,
    call this periodically (or per turn: it costs one small query) so the others follow.
    """
    if holder.seed_path is not None and not holder.ready:
        return load_guard_into(session=session, holder=holder, rules_path=holder.seed_path)  # try again: fail closed
    if holder.rules_fingerprint == rules_fingerprint(session=session):
        return False
    rebuild_guard(session=session, holder=holder)
    return True
