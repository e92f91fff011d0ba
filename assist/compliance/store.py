"""Rules in the database, as versions: reading the rules in force, changing them, and the audit of each change.

Every change (create, update, delete, import, an exception added from the review queue) adds a new
`RuleRecord` version; the previous ones stay readable. The newest version of each rule is in force unless it
is a deletion. A change is validated by compiling the guard it would leave in force; it is refused (422) when
a rule is invalid and (409) when no rule would be left.

YAML packs (seeding, import, export) are in :mod:`assist.compliance.packs`; building and swapping the running
guard is in :mod:`assist.compliance.swap`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from assist import audit
from assist.errors import ConflictError, InvalidInputError, NotFoundError, RulePackError
from assist.models.guard import DisclosureRecord, RuleRecord
from assist.models.keys import ApiKey

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Guard

logger = logging.getLogger(__name__)

MAX_RULE_ID_CHARS = 100


# ---------------------------------------------------------------- reading


def actor_name(actor: ApiKey | None) -> str:
    """Who a change is recorded as: the key's name, or the system."""
    return actor.name if actor is not None else audit.SYSTEM_ACTOR


def latest_records(*, session: Session, include_deleted: bool = False) -> list[RuleRecord]:
    """The newest version of every rule, sorted by rule id (deleted ones only if asked)."""
    newest = (
        select(RuleRecord.rule_id, func.max(RuleRecord.version).label("v")).group_by(col(RuleRecord.rule_id)).subquery()
    )
    stmt = (
        select(RuleRecord)
        .join(newest, (col(RuleRecord.rule_id) == newest.c.rule_id) & (col(RuleRecord.version) == newest.c.v))
        .order_by(col(RuleRecord.rule_id))
    )
    rows = list(session.exec(stmt).all())
    return rows if include_deleted else [r for r in rows if not r.deleted]


def current_rules(*, session: Session) -> list[dict[str, Any]]:
    """The rule bodies in force, as the guard takes them, each with its database `version`."""
    return [{**r.body, "version": r.version} for r in latest_records(session=session)]


def stored(body: dict[str, Any]) -> dict[str, Any]:
    """A rule body as stored: the database, not the body, numbers the versions."""
    return {k: v for k, v in body.items() if k != "version"}


def current_versions(*, session: Session) -> dict[str, int]:
    """rule id → version in force (for GuardEvent.rule_versions)."""
    return {r.rule_id: r.version for r in latest_records(session=session)}


def current_disclosures(*, session: Session) -> list[dict[str, Any]]:
    """The required disclosures in force."""
    row = session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.version).desc())).first()
    return list(row.items) if row else []


def get_versions(*, session: Session, rule_id: str) -> list[RuleRecord]:
    """Every version of a rule, newest first; NotFoundError if it never existed."""
    rows = list(
        session.exec(
            select(RuleRecord).where(RuleRecord.rule_id == rule_id).order_by(col(RuleRecord.version).desc())
        ).all()
    )
    if not rows:
        raise NotFoundError("rule", rule_id)
    return rows


def _latest(session: Session, rule_id: str) -> RuleRecord | None:
    return session.exec(
        select(RuleRecord).where(RuleRecord.rule_id == rule_id).order_by(col(RuleRecord.version).desc())
    ).first()


# ---------------------------------------------------------------- validation


def check_rule_id(value: Any, *, where: str = "rule") -> str:
    """A usable rule id, or RulePackError naming where it came from."""
    if not isinstance(value, str) or not value.strip():
        raise RulePackError(f"{where}: 'id' must be a non-empty string, got {value!r}")
    if value != value.strip() or "/" in value or len(value) > MAX_RULE_ID_CHARS:
        raise RulePackError(
            f"{where}: id {value!r} must have no surrounding spaces or '/' and at most {MAX_RULE_ID_CHARS} characters"
        )
    return value


def compile_guard(rules: list[dict[str, Any]], disclosures: list[dict[str, Any]] | None = None) -> Guard:
    """Compile a guard, turning any validation failure into a RulePackError (422) that names the rule."""
    from assist.compliance.guard.engine import Guard

    try:
        return Guard.from_rules(rules, disclosures)
    except RulePackError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise RulePackError(f"invalid rule: {exc}") from exc


def keep_a_rule(in_force: list[dict[str, Any]], guard: Guard) -> None:
    """Refuse a change that would leave no enabled rule where there was one: the guard would fail closed."""
    if not guard.rules and any(r.get("enabled", True) for r in in_force):
        raise ConflictError(
            "this change would leave no rule in force: the guard would then be unavailable, every agent turn "
            "would get a 'compliance check unavailable' alert and no suggestion would be shown; "
            "add or enable another rule first"
        )


def _validated_with(session: Session, body: dict[str, Any] | None, *, drop: str | None = None) -> None:
    """Compile the rules in force with `body` added or replaced (or `drop` removed); raise if invalid."""
    in_force = current_rules(session=session)
    rules = [r for r in in_force if r.get("id") not in {drop, (body or {}).get("id")}]
    if body is not None:
        rules.append(body)
    keep_a_rule(in_force, compile_guard(rules, current_disclosures(session=session) or None))


# ---------------------------------------------------------------- changes


def new_version(
    session: Session,
    *,
    rule_id: str,
    body: dict[str, Any],
    actor: ApiKey | None,
    change: str,
    deleted: bool = False,
    note: str | None = None,
    action: str,
) -> RuleRecord:
    """Add the next version of `rule_id` (version 1 for a new rule) and its audit entry; not committed."""
    prev = _latest(session, rule_id)
    rec = RuleRecord(
        rule_id=rule_id,
        version=(prev.version + 1) if prev else 1,
        body=body,
        deleted=deleted,
        author=actor_name(actor),
        change=change,
        note=note,
    )
    session.add(rec)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="rule",
        target_id=rule_id,
        before={"version": prev.version, "deleted": prev.deleted} if prev else None,
        after={"version": rec.version, "deleted": deleted, "note": note}
        if note
        else {"version": rec.version, "deleted": deleted},
    )
    return rec


def create_rule(*, session: Session, body: dict[str, Any], actor: ApiKey | None) -> RuleRecord:
    """Add a rule (version 1, or the next version of a deleted one). ConflictError if it is in force."""
    rid = check_rule_id(body.get("id"))
    body = stored(body)
    prev = _latest(session, rid)
    if prev is not None and not prev.deleted:
        raise ConflictError(f"rule {rid!r} already exists (version {prev.version}); use PATCH to change it")
    _validated_with(session, body)
    return new_version(session, rule_id=rid, body=body, actor=actor, change="create", action="rule.create")


def update_rule(
    *, session: Session, rule_id: str, changes: dict[str, Any], actor: ApiKey | None, note: str | None = None
) -> RuleRecord:
    """A new version with `changes` merged over the fields in force (a key set to None removes it)."""
    prev = _latest(session, rule_id)
    if prev is None or prev.deleted:
        raise NotFoundError("rule", rule_id)
    if "id" in changes and changes["id"] != rule_id:
        raise InvalidInputError(f"id: a rule's id cannot change ({rule_id!r} → {changes['id']!r})")
    body = stored({**prev.body, **changes})
    body = {k: v for k, v in body.items() if v is not None}
    body["id"] = rule_id
    if body == prev.body:
        return prev
    _validated_with(session, body)
    return new_version(
        session, rule_id=rule_id, body=body, actor=actor, change="update", note=note, action="rule.update"
    )


def delete_rule(*, session: Session, rule_id: str, actor: ApiKey | None) -> RuleRecord:
    """A deletion version: the rule stops applying; its history stays readable."""
    prev = _latest(session, rule_id)
    if prev is None or prev.deleted:
        raise NotFoundError("rule", rule_id)
    _validated_with(session, None, drop=rule_id)
    return new_version(
        session,
        rule_id=rule_id,
        body=prev.body,
        actor=actor,
        change="delete",
        deleted=True,
        action="rule.delete",
    )


def add_exception(
    *, session: Session, rule_id: str, phrase: str, actor: ApiKey | None, note: str | None = None
) -> RuleRecord:
    """Add `phrase` to the rule's exceptions as a new version (no-op if it is already there)."""
    prev = _latest(session, rule_id)
    if prev is None or prev.deleted:
        raise NotFoundError("rule", rule_id)
    current = prev.body.get("exceptions") or []
    if isinstance(current, dict):  # the {phrases: [...], regexes: [...]} form
        phrases = list(current.get("phrases") or [])
        if phrase in phrases:
            return prev
        exceptions: Any = {**current, "phrases": [*phrases, phrase]}
    else:
        listed = [current] if isinstance(current, str) else list(current)
        if phrase in listed:
            return prev
        exceptions = [*listed, phrase]
    body = {**prev.body, "exceptions": exceptions}
    _validated_with(session, body)
    return new_version(
        session,
        rule_id=rule_id,
        body=body,
        actor=actor,
        change="exception",
        note=note or f"exception added: {phrase}",
        action="rule.exception",
    )


# ---------------------------------------------------------------- upgrades of stored rules


# Regexes the shipped pack once held that the engine (RE2, see assist/compliance/guard/regex.py) cannot run, and what
# replaced them in the pack: (the trigger regex now, an exception regex now). A database seeded from the old
# pack gets the same change as a new version, once, at start, so its guard still builds.
_LEGACY_REGEXES: dict[str, tuple[str, str]] = {
    r"\b(?:can't|cannot|can not) (?:possibly )?lose\b(?! (?:your card|access|track|touch|it\b|this card|the card"
    r"|your place))": (
        r"\b(?:can't|cannot|can not) (?:possibly )?lose\b",
        r"\b(?:can't|cannot|can not) (?:possibly )?lose (?:your card|access|track|touch|it\b|this card|the card"
        r"|your place)",
    ),
}


def _upgraded(body: dict[str, Any]) -> dict[str, Any] | None:
    """`body` with its legacy regexes replaced (see _LEGACY_REGEXES), or None when it has none."""
    regexes = body.get("regexes")
    if not isinstance(regexes, list) or not any(r in _LEGACY_REGEXES for r in regexes):
        return None
    exc = body.get("exceptions")
    exceptions: dict[str, Any] = (
        dict(exc) if isinstance(exc, dict) else {"phrases": [exc] if isinstance(exc, str) else list(exc or [])}
    )
    extra = list(exceptions.get("regexes") or [])
    new_regexes = []
    for r in regexes:
        now, exception = _LEGACY_REGEXES.get(r, (r, None))
        new_regexes.append(now)
        if exception is not None and exception not in extra:
            extra.append(exception)
    exceptions["regexes"] = extra
    return {**body, "regexes": new_regexes, "exceptions": exceptions}


def upgrade_legacy_regexes(*, session: Session) -> list[str]:
    """Rewrite the rules in force that hold a regex of _LEGACY_REGEXES, as new versions; returns their ids."""
    changed = []
    for rec in latest_records(session=session):
        body = _upgraded(rec.body)
        if body is None:
            continue
        new_version(
            session,
            rule_id=rec.rule_id,
            body=body,
            actor=None,
            change="upgrade",
            note="regex rewritten for the linear-time engine (RE2 has no lookahead)",
            action="rule.upgrade",
        )
        changed.append(rec.rule_id)
    if changed:
        session.commit()
        logger.warning("rules upgraded for the regex engine", extra={"rules": changed})
    return changed
