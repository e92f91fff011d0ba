"""The rules store without HTTP: seeding, versions, exceptions in both YAML shapes, and the guard swap."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from assist.compliance import drafts, packs, store, swap
from assist.compliance.guard.evaluate import read_cases
from assist.compliance.holder import GuardHolder
from assist.config import get_settings
from assist.db import make_engine
from assist.errors import ConflictError, NotFoundError, RulePackError
from assist.models.audit import AuditEntry
from assist.models.guard import RuleRecord
from tests.compliance.conftest import RULE_PACK


@pytest.fixture
def session():
    engine = make_engine(get_settings())
    with Session(engine, expire_on_commit=False) as s:
        yield s


class Holder(GuardHolder):
    """The app's holder, counting its swaps."""

    def __init__(self) -> None:
        super().__init__(None, reason="not built yet")
        self.swaps = 0

    def swap(self, new_guard):
        self.swaps += 1
        return super().swap(new_guard)


def test_seed_once_from_the_pack_and_build_a_guard(session, rules_dir):
    assert packs.ensure_seeded(session=session, rules_path=rules_dir) == 2
    assert packs.ensure_seeded(session=session, rules_path=rules_dir) == 0
    assert store.current_versions(session=session) == {"guaranteed_return": 1, "no_risk": 1}
    assert [d["id"] for d in store.current_disclosures(session=session)] == ["wealth_risk_disclosure"]
    guard = swap.build_guard(session=session)
    v = guard.check("这款产品保本", "agent")
    assert v.action == "block" and v.matches[0].version == 1
    assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "rule.seed")).all()) == 1


def test_empty_or_missing_pack_seeds_nothing_and_logs_nothing(session, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.yaml").write_text("", encoding="utf-8")
    for path in (empty, tmp_path / "missing"):
        assert packs.ensure_seeded(session=session, rules_path=path) == 0
    assert session.exec(select(AuditEntry)).all() == []


def test_invalid_seed_pack_names_the_rule(session, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "p.yaml").write_text(RULE_PACK.replace("severity: block", "severity: loud", 1), encoding="utf-8")
    with pytest.raises(RulePackError, match="guaranteed_return"):
        packs.ensure_seeded(session=session, rules_path=d)
    assert session.exec(select(RuleRecord)).all() == []


def test_exceptions_are_added_in_either_yaml_shape_and_swap(session, rules_dir):
    packs.ensure_seeded(session=session, rules_path=rules_dir)
    rec = store.add_exception(session=session, rule_id="guaranteed_return", phrase="保本理财", actor=None)
    assert rec.version == 2 and rec.body["exceptions"] == ["保底归集", "保本理财"]
    again = store.add_exception(session=session, rule_id="guaranteed_return", phrase="保本理财", actor=None)
    assert again.version == 2  # already there: no new version
    store.update_rule(
        session=session,
        rule_id="no_risk",
        actor=None,
        changes={"exceptions": {"phrases": ["零风险等级"], "regexes": []}},
    )
    rec = store.add_exception(session=session, rule_id="no_risk", phrase="零风险测评", actor=None)
    assert rec.body["exceptions"] == {"phrases": ["零风险等级", "零风险测评"], "regexes": []}
    session.commit()
    holder = Holder()
    swap.rebuild_guard(session=session, holder=holder)
    assert holder.swaps == 1
    assert holder.get().check("我们的保本理财卖完了", "agent").action == "allow"
    assert holder.get().check("这款产品保本", "agent").action == "block"


def test_changes_to_missing_or_existing_rules(session, rules_dir):
    packs.ensure_seeded(session=session, rules_path=rules_dir)
    body = store.get_versions(session=session, rule_id="no_risk")[0].body
    with pytest.raises(ConflictError):
        store.create_rule(session=session, body=body, actor=None)
    for fn, kw in (
        (store.update_rule, {"changes": {}}),
        (store.delete_rule, {}),
        (store.add_exception, {"phrase": "x"}),
    ):
        with pytest.raises(NotFoundError):
            fn(session=session, rule_id="nope", actor=None, **kw)
    same = store.update_rule(session=session, rule_id="no_risk", changes={"severity": "block"}, actor=None)
    assert same.version == 1  # nothing changed: no new version


def test_parse_pack_errors_name_the_problem():
    with pytest.raises(RulePackError, match="twice"):
        packs.parse_pack({"rules": [{"id": "a"}, {"id": "a"}]})
    with pytest.raises(RulePackError, match="rule #2"):
        packs.parse_pack({"rules": [{"id": "a"}, "oops"]})
    with pytest.raises(RulePackError, match="'rules' list"):
        packs.parse_pack("text")


def test_another_process_follows_rule_changes_with_refresh_if_stale(session, rules_dir):
    packs.ensure_seeded(session=session, rules_path=rules_dir)
    mine, theirs = Holder(), Holder()
    swap.rebuild_guard(session=session, holder=mine)
    swap.rebuild_guard(session=session, holder=theirs)
    assert swap.refresh_if_stale(session=session, holder=theirs) is False
    store.delete_rule(session=session, rule_id="guaranteed_return", actor=None)
    session.commit()
    swap.rebuild_guard(session=session, holder=mine)  # the process that served the change
    assert theirs.get().check("这款产品保本", "agent").action == "block"  # still the old rules
    assert swap.refresh_if_stale(session=session, holder=theirs) is True
    assert theirs.get().check("这款产品保本", "agent").action == "allow"
    assert swap.refresh_if_stale(session=session, holder=theirs) is False


def test_the_default_pack_survives_the_database_and_a_yaml_round_trip(session):
    from assist.compliance.guard.engine import Guard
    from assist.config import PROJECT_ROOT

    pack_dir = PROJECT_ROOT / "kb_docs" / "rules"
    if not any(pack_dir.glob("*.yaml")):
        pytest.skip("no default rule pack in kb_docs/rules")
    n = packs.ensure_seeded(session=session, rules_path=pack_dir)
    assert n >= 9
    exported = packs.export_pack(session=session)
    result = packs.import_pack(session=session, text=exported, actor=None)
    assert len(result.unchanged) == n and not (result.created or result.updated or result.deleted)
    assert not result.disclosures_changed
    from_db, from_yaml = swap.build_guard(session=session), Guard.from_path(pack_dir)
    cases = read_cases(drafts.DEFAULT_CASES_PATH)
    assert len(cases) >= 150
    for case in cases:
        speaker = case.get("speaker", "agent")
        assert from_db.check(case["text"], speaker).action == from_yaml.check(case["text"], speaker).action, case


# The regex the shipped pack held before rule regexes ran on RE2 (which has no lookahead).
LEGACY_LOOKAHEAD = (
    r"\b(?:can't|cannot|can not) (?:possibly )?lose\b(?! (?:your card|access|track|touch|it\b|this card|the card"
    r"|your place))"
)


def test_a_database_seeded_from_the_old_pack_is_upgraded_once_and_its_guard_builds(session):
    import yaml

    from assist.config import PROJECT_ROOT

    pack_dir = PROJECT_ROOT / "kb_docs" / "rules"
    rules, _ = packs.load_pack_files(pack_dir)
    current = next(r for r in rules if r["id"] == "guaranteed_return")
    new_regex = r"\b(?:can't|cannot|can not) (?:possibly )?lose\b"
    exception = (
        r"\b(?:can't|cannot|can not) (?:possibly )?lose (?:your card|access|track|touch|it\b|this card|the card"
        r"|your place)"
    )
    assert new_regex in current["regexes"] and exception in current["exceptions"]["regexes"]
    old = yaml.safe_load(yaml.safe_dump(current))  # the rule as the old pack seeded it
    old["regexes"] = [LEGACY_LOOKAHEAD if r == new_regex else r for r in old["regexes"]]
    # the old rule lacked the legacy exception (exception regexes added since stay, ahead of it)
    old["exceptions"]["regexes"] = [r for r in old["exceptions"]["regexes"] if r != exception]
    for body in [old, *(r for r in rules if r["id"] != "guaranteed_return")]:
        session.add(RuleRecord(rule_id=body["id"], version=1, body=body, author="seed", change="seed"))
    session.commit()
    with pytest.raises(RulePackError, match="lookarounds are not supported"):
        swap.build_guard(session=session)  # what a server would have met at start

    guard = swap.load_guard(session=session, rules_path=pack_dir)
    assert guard.check("With this plan you can't lose.").action == "block"
    assert guard.check("You can't lose your card, it is insured.").action == "allow"
    versions = store.get_versions(session=session, rule_id="guaranteed_return")
    assert [(v.version, v.change, v.author) for v in versions] == [(2, "upgrade", "system"), (1, "seed", "seed")]
    assert versions[0].body == current and versions[1].body == old  # the old version stays readable
    swap.load_guard(session=session, rules_path=pack_dir)
    assert len(store.get_versions(session=session, rule_id="guaranteed_return")) == 2  # once
    actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.target_type == "rule"))]
    assert actions == ["rule.upgrade"]
