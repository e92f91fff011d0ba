"""YAML rule packs: reading them (safely), seeding an empty database, importing and exporting.

A pack is `{rules: [...], disclosures: [...]}` or a bare list of rules, the shape of `kb_docs/rules/*.yaml`.
Seeding and importing are idempotent: seeding only fills an empty database, and importing a pack identical
to the rules in force changes nothing (each rule is `unchanged`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assist import audit
from assist.compliance.store import (
    actor_name,
    check_rule_id,
    compile_guard,
    current_disclosures,
    current_rules,
    current_versions,
    keep_a_rule,
    latest_records,
    new_version,
    stored,
)
from assist.errors import RulePackError
from assist.models.guard import DisclosureRecord, RuleRecord
from assist.models.keys import ApiKey

logger = logging.getLogger(__name__)

MAX_PACK_NODES = 200_000
_seed_lock = threading.Lock()


# ---------------------------------------------------------------- reading packs


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


# ---------------------------------------------------------------- seeding


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
        rules = [stored(r) for r in rules]
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


# ---------------------------------------------------------------- export and import


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
    rules, disclosures = parse_pack(load_yaml(text, source="pack"))
    rules = [stored(r) for r in rules]
    in_force = {r.rule_id: r for r in latest_records(session=session)}
    result_rules = {} if prune else {rid: rec.body for rid, rec in in_force.items()}
    result_rules.update({r["id"]: r for r in rules})
    new_disclosures = disclosures if disclosures is not None else current_disclosures(session=session)
    keep_a_rule(
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
        new_version(session, rule_id=rid, body=body, actor=actor, change="import", action="rule.import")
    if prune:
        for rid, prev in in_force.items():
            if rid not in result_rules:
                result.deleted.append(rid)
                new_version(
                    session,
                    rule_id=rid,
                    body=prev.body,
                    actor=actor,
                    change="import",
                    deleted=True,
                    action="rule.delete",
                )
    if disclosures is not None and disclosures != current_disclosures(session=session):
        _new_disclosures(session, disclosures, actor)
        result.disclosures_changed = True
    session.flush()
    return result


def _new_disclosures(session: Session, disclosures: list[dict[str, Any]], actor: ApiKey | None) -> None:
    """Put `disclosures` in force as the next version, audited."""
    last = session.exec(select(func.max(DisclosureRecord.version))).one() or 0
    session.add(DisclosureRecord(version=last + 1, items=disclosures, author=actor_name(actor)))
    audit.record(
        session,
        actor=actor,
        action="disclosures.import",
        target_type="disclosures",
        before={"version": last or None},
        after={"version": last + 1, "items": len(disclosures)},
    )
