"""Rules in the database, as versions.

Every change (create, update, delete, import, an exception added from the review queue) adds a new
`RuleRecord` version; the previous ones stay readable. The newest version of each rule is in force unless it
is a deletion. On first start the store is seeded from the YAML packs in `settings.rules_path`.

The running guard is rebuilt from the database after each change and swapped in one assignment
(`rebuild_guard`), so a live call uses the new rules from its next turn, without a restart.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assist import audit
from assist.config import shipped_path
from assist.errors import ConflictError, InvalidInputError, NotFoundError, RulePackError
from assist.models.guard import DisclosureRecord, GuardEvent, RuleRecord
from assist.models.keys import ApiKey

if TYPE_CHECKING:
    from assist.compliance.guard.engine import Guard

logger = logging.getLogger(__name__)

# The labelled statements a draft rule is tried on: the repository's, or the copy a wheel carries.
DEFAULT_CASES_PATH = shipped_path("tests/data/guard_cases.jsonl", bundled="guard_cases.jsonl")
MAX_RULE_ID_CHARS = 100
_seed_lock = threading.Lock()
_swap_lock = threading.Lock()


class GuardSwapper(Protocol):
    """What the app keeps on `app.state`: the current guard and an atomic swap."""

    def get(self) -> Any: ...

    def swap(self, new_guard: Any) -> Any: ...


# ---------------------------------------------------------------- reading


def _actor_name(actor: ApiKey | None) -> str:
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


def _stored(body: dict[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------- packs and validation


MAX_PACK_NODES = 200_000


def _check_size(data: Any, *, source: str) -> None:
    """Refuse a pack that expands to more than MAX_PACK_NODES values (e.g. a YAML alias bomb)."""
    seen = 0
    stack = [data]
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_PACK_NODES:
            raise RulePackError(f"{source}: the pack expands to more than {MAX_PACK_NODES} values")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_yaml(text: str, *, source: str) -> Any:
    """Parse a rule pack's YAML; RulePackError (422) for bad YAML, absurd nesting or expansion."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulePackError(f"{source}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise RulePackError(f"{source}: the YAML is nested too deeply") from exc
    _check_size(data, source=source)
    return data


def parse_pack(data: Any, *, source: str = "pack") -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Rules and disclosures of a parsed YAML pack (`{rules: [...], disclosures: [...]}` or a bare list).

    Disclosures are None when the pack does not mention them.
    """
    if isinstance(data, list):
        rules, disclosures = data, None
    elif isinstance(data, dict) and isinstance(data.get("rules", []), list):
        rules, disclosures = data.get("rules", []), data.get("disclosures")
    else:
        raise RulePackError(f"{source}: a rule pack is a mapping with a 'rules' list")
    if disclosures is not None and not (
        isinstance(disclosures, list) and all(isinstance(d, dict) for d in disclosures)
    ):
        raise RulePackError(f"{source}: 'disclosures' must be a list of mappings")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise RulePackError(f"{source}: rule #{i + 1} is not a mapping")
        rid = check_rule_id(rule.get("id"), where=f"{source}: rule #{i + 1}")
        if rid in seen:
            raise RulePackError(f"{source}: rule {rid!r} appears twice")
        seen.add(rid)
        out.append(rule)
    return out, disclosures


def check_rule_id(value: Any, *, where: str = "rule") -> str:
    """A usable rule id, or RulePackError naming where it came from."""
    if not isinstance(value, str) or not value.strip():
        raise RulePackError(f"{where}: 'id' must be a non-empty string, got {value!r}")
    if value != value.strip() or "/" in value or len(value) > MAX_RULE_ID_CHARS:
        raise RulePackError(
            f"{where}: id {value!r} must have no surrounding spaces or '/' and at most {MAX_RULE_ID_CHARS} characters"
        )
    return value


def load_pack_files(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rules and disclosures from a YAML pack file, or from every *.yaml / *.yml in a folder."""
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    rules: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulePackError(f"{f.name}: cannot read the pack: {exc}") from exc
        data = load_yaml(text, source=f.name)
        if data is None:
            continue
        r, d = parse_pack(data, source=f.name)
        rules.extend(r)
        disclosures.extend(d or [])
    ids = [r["id"] for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RulePackError(f"{path}: rules defined twice across packs: {dupes}")
    return rules, disclosures


def compile_guard(rules: list[dict[str, Any]], disclosures: list[dict[str, Any]] | None = None) -> Guard:
    """Compile a guard, turning any validation failure into a RulePackError (422) that names the rule."""
    from assist.compliance.guard.engine import Guard

    try:
        return Guard.from_rules(rules, disclosures)
    except RulePackError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise RulePackError(f"invalid rule: {exc}") from exc


def export_pack(*, session: Session) -> str:
    """The rules and disclosures in force, as one YAML pack that `import_pack` and the guard both read."""
    versions = current_versions(session=session)
    header = (
        "# rule pack exported from assist; versions in force: "
        + ", ".join(f"{k}@{v}" for k, v in versions.items())
        + "\n"
    )
    body = {"rules": current_rules(session=session), "disclosures": current_disclosures(session=session)}
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


# ---------------------------------------------------------------- seeding and the running guard


def ensure_seeded(*, session: Session, rules_path: Path) -> int:
    """On first start (no rule rows at all) store the YAML packs as version 1. Returns rules added."""
    if session.exec(select(RuleRecord.id).limit(1)).first() is not None:
        return 0
    with _seed_lock:
        if session.exec(select(RuleRecord.id).limit(1)).first() is not None:
            return 0
        if not rules_path.exists():
            logger.warning("no rule pack to seed from", extra={"path": str(rules_path)})
            return 0
        rules, disclosures = load_pack_files(rules_path)
        if not rules and not disclosures:
            logger.warning("the rule pack is empty; nothing to seed", extra={"path": str(rules_path)})
            return 0
        rules = [_stored(r) for r in rules]
        compile_guard(rules, disclosures)
        for body in rules:
            session.add(RuleRecord(rule_id=body["id"], version=1, body=body, author="seed", change="seed"))
        if disclosures:
            session.add(DisclosureRecord(version=1, items=disclosures, author="seed"))
        audit.record(
            session,
            actor=None,
            action="rule.seed",
            target_type="rule_pack",
            target_id=str(rules_path.name),
            after={"rules": {r["id"]: 1 for r in rules}, "disclosures": len(disclosures)},
        )
        try:
            session.commit()
        except IntegrityError:  # another process seeded at the same moment
            session.rollback()
            return 0
        logger.info("seeded rules", extra={"rules": len(rules), "path": str(rules_path)})
        return len(rules)


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


def load_guard_into(*, session: Session, holder: Any, rules_path: Path) -> bool:
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


def rules_fingerprint(*, session: Session) -> tuple[int, int]:
    """Changes whenever any rule or disclosure version is added (newest row ids)."""
    rule = session.exec(select(func.max(RuleRecord.id))).one() or 0
    disc = session.exec(select(func.max(DisclosureRecord.id))).one() or 0
    return int(rule), int(disc)


def rebuild_guard(*, session: Session, holder: GuardSwapper) -> Guard:
    """Compile the rules now in the database and swap them into the running app.

    Call after the change is committed. The lock makes concurrent changes swap in commit order: each
    rebuild reads the database inside the lock, so the last swap always holds the newest rules.
    """
    with _swap_lock:
        session.expire_all()
        fingerprint = rules_fingerprint(session=session)
        guard = build_guard(session=session)
        holder.swap(guard)
        try:
            holder.rules_fingerprint = fingerprint  # type: ignore[attr-defined]
        except AttributeError:  # a holder with __slots__: refresh_if_stale will just rebuild
            pass
    logger.info("guard swapped", extra={"rules": len(current_versions(session=session))})
    return guard


def refresh_if_stale(*, session: Session, holder: GuardSwapper) -> bool:
    """Rebuild and swap when another process changed the rules since this holder's guard was built.

    Rule changes swap the guard of the process that served them at once. With several worker processes,
    call this periodically (or per turn: it costs one small query) so the others follow.
    """
    seed_path = getattr(holder, "seed_path", None)
    if seed_path is not None and not getattr(holder, "ready", True):
        return load_guard_into(session=session, holder=holder, rules_path=seed_path)  # try again: fail closed
    if getattr(holder, "rules_fingerprint", None) == rules_fingerprint(session=session):
        return False
    rebuild_guard(session=session, holder=holder)
    return True


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
        _new_version(
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


# ---------------------------------------------------------------- changes


def _validated_with(session: Session, body: dict[str, Any] | None, *, drop: str | None = None) -> None:
    """Compile the rules in force with `body` added or replaced (or `drop` removed); raise if invalid."""
    in_force = current_rules(session=session)
    rules = [r for r in in_force if r.get("id") not in {drop, (body or {}).get("id")}]
    if body is not None:
        rules.append(body)
    _keep_a_rule(in_force, compile_guard(rules, current_disclosures(session=session) or None))


def _keep_a_rule(in_force: list[dict[str, Any]], guard: Guard) -> None:
    """Refuse a change that would leave no enabled rule where there was one: the guard would fail closed."""
    if not guard.rules and any(r.get("enabled", True) for r in in_force):
        raise ConflictError(
            "this change would leave no rule in force: the guard would then be unavailable, every agent turn "
            "would get a 'compliance check unavailable' alert and no suggestion would be shown; "
            "add or enable another rule first"
        )


def _new_version(
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
    prev = _latest(session, rule_id)
    rec = RuleRecord(
        rule_id=rule_id,
        version=(prev.version + 1) if prev else 1,
        body=body,
        deleted=deleted,
        author=_actor_name(actor),
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
    body = _stored(body)
    prev = _latest(session, rid)
    if prev is not None and not prev.deleted:
        raise ConflictError(f"rule {rid!r} already exists (version {prev.version}); use PATCH to change it")
    _validated_with(session, body)
    return _new_version(session, rule_id=rid, body=body, actor=actor, change="create", action="rule.create")


def update_rule(
    *, session: Session, rule_id: str, changes: dict[str, Any], actor: ApiKey | None, note: str | None = None
) -> RuleRecord:
    """A new version with `changes` merged over the fields in force (a key set to None removes it)."""
    prev = _latest(session, rule_id)
    if prev is None or prev.deleted:
        raise NotFoundError("rule", rule_id)
    if "id" in changes and changes["id"] != rule_id:
        raise InvalidInputError(f"id: a rule's id cannot change ({rule_id!r} → {changes['id']!r})")
    body = _stored({**prev.body, **changes})
    body = {k: v for k, v in body.items() if v is not None}
    body["id"] = rule_id
    if body == prev.body:
        return prev
    _validated_with(session, body)
    return _new_version(
        session, rule_id=rule_id, body=body, actor=actor, change="update", note=note, action="rule.update"
    )


def delete_rule(*, session: Session, rule_id: str, actor: ApiKey | None) -> RuleRecord:
    """A deletion version: the rule stops applying; its history stays readable."""
    prev = _latest(session, rule_id)
    if prev is None or prev.deleted:
        raise NotFoundError("rule", rule_id)
    _validated_with(session, None, drop=rule_id)
    return _new_version(
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
    return _new_version(
        session,
        rule_id=rule_id,
        body=body,
        actor=actor,
        change="exception",
        note=note or f"exception added: {phrase}",
        action="rule.exception",
    )


@dataclass
class ImportResult:
    """What an import changed, by rule id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    disclosures_changed: bool = False


def import_pack(*, session: Session, text: str, actor: ApiKey | None, prune: bool = False) -> ImportResult:
    """Import a YAML pack, all or nothing: rules that differ get a new version, new ones version 1.

    With `prune`, rules in force that the pack does not contain are deleted. Disclosures are replaced
    when the pack has a `disclosures` key.
    """
    data = load_yaml(text, source="pack")
    rules, disclosures = parse_pack(data)
    rules = [_stored(r) for r in rules]
    in_force = {r.rule_id: r for r in latest_records(session=session)}
    result_rules = {rid: rec.body for rid, rec in in_force.items()}
    if prune:
        result_rules = {}
    result_rules.update({r["id"]: r for r in rules})
    new_disclosures = disclosures if disclosures is not None else current_disclosures(session=session)
    _keep_a_rule(
        [rec.body for rec in in_force.values()], compile_guard(list(result_rules.values()), new_disclosures or None)
    )

    result = ImportResult()
    for body in rules:
        rid = body["id"]
        prev = in_force.get(rid)
        if prev is not None and prev.body == body:
            result.unchanged.append(rid)
            continue
        (result.updated if prev is not None else result.created).append(rid)
        _new_version(session, rule_id=rid, body=body, actor=actor, change="import", action="rule.import")
    if prune:
        for rid, prev in in_force.items():
            if rid not in result_rules:
                result.deleted.append(rid)
                _new_version(
                    session,
                    rule_id=rid,
                    body=prev.body,
                    actor=actor,
                    change="import",
                    deleted=True,
                    action="rule.delete",
                )
    if disclosures is not None and disclosures != current_disclosures(session=session):
        last = session.exec(select(func.max(DisclosureRecord.version))).one() or 0
        session.add(DisclosureRecord(version=last + 1, items=disclosures, author=_actor_name(actor)))
        audit.record(
            session,
            actor=actor,
            action="disclosures.import",
            target_type="disclosures",
            before={"version": last or None},
            after={"version": last + 1, "items": len(disclosures)},
        )
        result.disclosures_changed = True
    session.flush()
    return result


# ---------------------------------------------------------------- draft testing


def _action(verdict: Any) -> str:
    action = verdict.get("action") if isinstance(verdict, dict) else getattr(verdict, "action", "allow")
    return str(getattr(action, "value", action))


def _rule_ids(verdict: Any) -> list[str]:
    matches = verdict.get("matches") if isinstance(verdict, dict) else getattr(verdict, "matches", [])
    out: list[str] = []
    for m in matches or []:
        rid = m.get("rule_id") if isinstance(m, dict) else getattr(m, "rule_id", None)
        if rid and rid not in out:
            out.append(str(rid))
    return out


@dataclass
class DraftChange:
    """One statement whose verdict the draft would change."""

    source: str  # case | event
    text: str
    speaker: str
    before: str
    after: str
    rules_before: list[str]
    rules_after: list[str]
    expect: str | None = None  # for labelled cases
    event_id: int | None = None


@dataclass
class DraftReport:
    """What a draft would newly block and stop blocking, and the labelled scores before and after."""

    newly_blocked: list[DraftChange]
    stops_blocking: list[DraftChange]
    cases: int
    events: int
    before: dict[str, float | None]
    after: dict[str, float | None]


def _scores(pairs: list[tuple[str, str]]) -> dict[str, float | None]:
    """recall and false-positive rate of (expected, got) pairs; a warn counts as not blocked."""
    pos = [got for exp, got in pairs if exp == "block"]
    neg = [got for exp, got in pairs if exp != "block"]
    return {
        "recall": round(sum(g == "block" for g in pos) / len(pos), 4) if pos else None,
        "false_positive_rate": round(sum(g == "block" for g in neg) / len(neg), 4) if neg else None,
    }


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Labelled statements `{"text", "speaker", "expect"}` from a JSON-lines file (missing file: none)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            if isinstance(case, dict) and isinstance(case.get("text"), str):
                out.append(case)
    return out


def try_draft(
    *,
    session: Session,
    rule: dict[str, Any] | None = None,
    delete_rule_id: str | None = None,
    cases_path: Path = DEFAULT_CASES_PATH,
    events_limit: int = 500,
) -> DraftReport:
    """Compare the rules in force with a draft (a new or changed `rule`, or `delete_rule_id` removed).

    Runs both over the labelled statements and the most recent guard events; nothing is stored.
    """
    if rule is None and delete_rule_id is None:
        raise InvalidInputError("rule: give a draft rule, or delete_rule_id")
    if rule is not None:
        check_rule_id(rule.get("id"), where="rule")
    disclosures = current_disclosures(session=session) or None
    in_force = current_rules(session=session)
    drop = {delete_rule_id, (rule or {}).get("id")}
    draft_rules = [r for r in in_force if r.get("id") not in drop] + ([rule] if rule is not None else [])
    now_guard = compile_guard(in_force, disclosures)
    draft_guard = compile_guard(draft_rules, disclosures)

    statements: list[tuple[str, str, str, str | None, int | None]] = [
        ("case", c["text"], str(c.get("speaker") or "agent"), c.get("expect"), None) for c in read_cases(cases_path)
    ]
    events = session.exec(select(GuardEvent).order_by(col(GuardEvent.id).desc()).limit(events_limit)).all()
    statements += [("event", e.text, e.speaker or "agent", None, e.id) for e in events]

    newly: list[DraftChange] = []
    stops: list[DraftChange] = []
    labelled_before: list[tuple[str, str]] = []
    labelled_after: list[tuple[str, str]] = []
    for source, text, speaker, expect, event_id in statements:
        v0, v1 = now_guard.check(text, speaker), draft_guard.check(text, speaker)
        a0, a1 = _action(v0), _action(v1)
        if expect is not None:
            labelled_before.append((expect, a0))
            labelled_after.append((expect, a1))
        if (a0 == "block") == (a1 == "block"):
            continue
        change = DraftChange(
            source=source,
            text=text,
            speaker=speaker,
            before=a0,
            after=a1,
            rules_before=_rule_ids(v0),
            rules_after=_rule_ids(v1),
            expect=expect,
            event_id=event_id,
        )
        (newly if a1 == "block" else stops).append(change)
    return DraftReport(
        newly_blocked=newly,
        stops_blocking=stops,
        cases=sum(1 for s in statements if s[0] == "case"),
        events=len(events),
        before=_scores(labelled_before),
        after=_scores(labelled_after),
    )
