"""Rule packs: YAML files of rules and required disclosures, loaded and validated.

A pack file is a mapping::

    pack: {id: default, version: 3, description: ...}      # optional
    rules:
      - id: guaranteed_return
        category: guaranteed_return
        severity: block                      # block | warn
        languages: [zh-Hans, zh-Hant, en]
        phrases: [保本, 稳赚不赔, guaranteed returns]   # matched after normalisation
        regexes: ['保证(您的)?(本金|收益)']      # matched against the normalised text
        exceptions: [保底归集]                 # or {phrases: [...], regexes: [...]}; clause-scoped
        examples: {positive: [...], negative: [...]}
        advice: 请说明产品不保本……
        source: 广告法第二十五条
    disclosures:
      - id: wealth_risk_disclosure
        label: 理财风险提示
        parts:
          - {id: not_deposit, phrases: [理财非存款, not a deposit]}
        applies_to: {tags: [wealth], categories: [guaranteed_return]}

A bare list of rules is accepted too. Errors raise :class:`assist.errors.RulePackError` naming the rule
and the file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.compliance.guard.normalize import normalize_phrase
from assist.compliance.guard.regex import RegexRefused, compile_regex
from assist.errors import RulePackError

logger = logging.getLogger(__name__)

SEVERITIES = ("block", "warn")
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_REQUIRED = ("id", "category", "severity", "languages", "advice", "source")
_KNOWN = frozenset(
    _REQUIRED
    + (
        "phrases",
        "regexes",
        "exceptions",
        "examples",
        "version",
        "enabled",
        "description",
        "tags",
        "notes",
        "pack",
        "file",
    )
)
_DISCLOSURE_KNOWN = frozenset(("id", "label", "parts", "applies_to", "languages", "source", "description"))


@dataclass(frozen=True)
class Rule:
    """One validated rule.

    Attributes:
        id: Unique rule id.
        category: What kind of claim it catches (guaranteed_return, no_risk, ...).
        severity: ``block`` or ``warn``.
        languages: Languages the rule is written for.
        phrases: Trigger phrases as written.
        regexes: Trigger regular expressions (matched on normalised text).
        exceptions: Terms of art: a rule match is dropped when one of these is in the same clause.
        exception_regexes: Regex exceptions, clause-scoped the same way.
        positive: Example sentences the rule must catch.
        negative: Example sentences it must let through.
        advice: A compliant way to say it.
        source: The regulation the rule enforces.
        version: Version number (rules edited in the database carry one).
        origin: The file (or "db") the rule came from, for error messages.
    """

    id: str
    category: str
    severity: str
    languages: tuple[str, ...]
    phrases: tuple[str, ...]
    regexes: tuple[str, ...]
    exceptions: tuple[str, ...]
    exception_regexes: tuple[str, ...]
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    advice: str
    source: str
    version: int = 1
    enabled: bool = True
    description: str = ""
    origin: str = "<rules>"

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape of the rule (what the database stores and the API returns)."""
        return {
            "id": self.id,
            "category": self.category,
            "severity": self.severity,
            "languages": list(self.languages),
            "phrases": list(self.phrases),
            "regexes": list(self.regexes),
            "exceptions": {"phrases": list(self.exceptions), "regexes": list(self.exception_regexes)},
            "examples": {"positive": list(self.positive), "negative": list(self.negative)},
            "advice": self.advice,
            "source": self.source,
            "version": self.version,
            "enabled": self.enabled,
            "description": self.description,
        }


@dataclass(frozen=True)
class DisclosurePart:
    """One sentence of a required disclosure, said in any of its phrasings."""

    id: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Disclosure:
    """A disclosure the agent must read out (all of its parts, possibly across several turns).

    Attributes:
        id: Disclosure id, e.g. ``wealth_risk_disclosure``.
        label: What the checklist shows.
        parts: The parts; each is ticked when any of its phrases is said (not negated).
        applies_to: When the disclosure is required, e.g. ``{"tags": ["wealth"], "categories": [...]}``.
    """

    id: str
    label: str
    parts: tuple[DisclosurePart, ...]
    applies_to: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def part_ids(self) -> list[str]:
        """Qualified part ids, ``<disclosure id>.<part id>``."""
        return [f"{self.id}.{p.id}" for p in self.parts]

    def to_dict(self) -> dict[str, Any]:
        """The YAML shape."""
        return {
            "id": self.id,
            "label": self.label,
            "parts": [{"id": p.id, "phrases": list(p.phrases)} for p in self.parts],
            "applies_to": dict(self.applies_to),
            "source": self.source,
        }


@dataclass(frozen=True)
class RulePack:
    """Validated rules and disclosures, from one or more files (or from the database)."""

    rules: tuple[Rule, ...]
    disclosures: tuple[Disclosure, ...] = ()
    files: tuple[str, ...] = ()

    @classmethod
    def from_dicts(
        cls,
        rules: Iterable[Mapping[str, Any]],
        disclosures: Iterable[Mapping[str, Any]] | None = None,
        origin: str = "<rules>",
    ) -> RulePack:
        """Validate YAML-shaped dicts (e.g. rules edited in the database).

        Raises:
            RulePackError: A missing field, unknown severity, bad regex or duplicate id, naming the rule.
        """
        parsed = [parse_rule(r, origin) for r in rules]
        _check_unique([r.id for r in parsed], "rule", origin)
        discs = [parse_disclosure(d, origin) for d in (disclosures or [])]
        _check_unique([d.id for d in discs], "disclosure", origin)
        return cls(tuple(parsed), tuple(discs), (origin,))


def _check_unique(ids: list[str], what: str, origin: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise RulePackError(f"{origin}: duplicate {what} id {i!r}")
        seen.add(i)


def _str_list(value: Any, rule_id: str, key: str, origin: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulePackError(f"rule {rule_id!r} in {origin}: {key} must be a list of strings, got {value!r}")
    return tuple(v for v in value if v.strip())


def _compile(pattern: str, rule_id: str, origin: str) -> None:
    """Refuse a regex the guard cannot run safely: RE2 must accept it (assist/compliance/guard/regex.py says why)."""
    try:
        rx = compile_regex(pattern)
    except RegexRefused as exc:
        raise RulePackError(f"rule {rule_id!r} in {origin}: bad regex {pattern!r}: {exc}") from None
    if rx.groupindex:
        raise RulePackError(f"rule {rule_id!r} in {origin}: regex {pattern!r} uses named groups; use (?:...) instead")
    if pattern.lstrip().startswith("(?") and re.match(r"\(\?[aiLmsuxU]+\)", pattern.lstrip()):
        raise RulePackError(
            f"rule {rule_id!r} in {origin}: regex {pattern!r} sets global flags; text is already "
            "case-folded, write it in lower case"
        )
    if rx.match("") is not None:
        raise RulePackError(f"rule {rule_id!r} in {origin}: regex {pattern!r} matches the empty string")


def _check_phrases(phrases: Iterable[str], rule_id: str, key: str, origin: str) -> None:
    for p in phrases:
        if not normalize_phrase(p):
            raise RulePackError(f"rule {rule_id!r} in {origin}: {key} entry {p!r} is empty after normalisation")


# long function: one check per field of a rule, in the order of the YAML; split, they would scatter
def parse_rule(raw: Mapping[str, Any], origin: str = "<rules>") -> Rule:
    """Validate one YAML-shaped rule.

    Args:
        raw: The rule mapping.
        origin: The file it came from (for error messages).

    Raises:
        RulePackError: The message names the rule id and ``origin``.
    """
    if not isinstance(raw, Mapping):
        raise RulePackError(f"{origin}: a rule must be a mapping, got {raw!r}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RulePackError(f"{origin}: rule id must be a word like 'no_risk', got {rule_id!r}")
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "", [])]
    if missing:
        raise RulePackError(f"rule {rule_id!r} in {origin}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise RulePackError(f"rule {rule_id!r} in {origin}: unknown field(s) {', '.join(unknown)}")
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise RulePackError(f"rule {rule_id!r} in {origin}: unknown severity {severity!r}, use block or warn")
    languages = _str_list(raw["languages"], rule_id, "languages", origin)
    bad_lang = [lang for lang in languages if lang not in LANGUAGES]
    if bad_lang:
        raise RulePackError(f"rule {rule_id!r} in {origin}: unknown language(s) {bad_lang!r}, use {LANGUAGES}")
    phrases = _str_list(raw.get("phrases"), rule_id, "phrases", origin)
    regexes = _str_list(raw.get("regexes"), rule_id, "regexes", origin)
    if not phrases and not regexes:
        raise RulePackError(f"rule {rule_id!r} in {origin}: needs at least one of phrases or regexes")
    _check_phrases(phrases, rule_id, "phrases", origin)
    for rx in regexes:
        _compile(rx, rule_id, origin)
    exc = raw.get("exceptions")
    if isinstance(exc, Mapping):
        ex_phrases = _str_list(exc.get("phrases"), rule_id, "exceptions.phrases", origin)
        ex_regexes = _str_list(exc.get("regexes"), rule_id, "exceptions.regexes", origin)
    else:
        ex_phrases = _str_list(exc, rule_id, "exceptions", origin)
        ex_regexes = ()
    _check_phrases(ex_phrases, rule_id, "exceptions", origin)
    for rx in ex_regexes:
        _compile(rx, rule_id, origin)
    examples = raw.get("examples") or {}
    if not isinstance(examples, Mapping):
        raise RulePackError(f"rule {rule_id!r} in {origin}: examples must be a mapping of positive/negative")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RulePackError(f"rule {rule_id!r} in {origin}: version must be a positive integer, got {version!r}")
    for key in ("category", "advice", "source"):
        if not isinstance(raw[key], str):
            raise RulePackError(f"rule {rule_id!r} in {origin}: {key} must be a string, got {raw[key]!r}")
    return Rule(
        id=rule_id,
        category=raw["category"],
        severity=severity,
        languages=languages,
        phrases=phrases,
        regexes=regexes,
        exceptions=ex_phrases,
        exception_regexes=ex_regexes,
        positive=_str_list(examples.get("positive"), rule_id, "examples.positive", origin),
        negative=_str_list(examples.get("negative"), rule_id, "examples.negative", origin),
        advice=raw["advice"].strip(),
        source=raw["source"].strip(),
        version=version,
        enabled=bool(raw.get("enabled", True)),
        description=str(raw.get("description") or ""),
        origin=origin,
    )


def parse_disclosure(raw: Mapping[str, Any], origin: str = "<rules>") -> Disclosure:
    """Validate one required disclosure.

    Raises:
        RulePackError: Missing id, label or parts, or a part without phrases.
    """
    if not isinstance(raw, Mapping):
        raise RulePackError(f"{origin}: a disclosure must be a mapping, got {raw!r}")
    did = raw.get("id")
    if not isinstance(did, str) or not _ID.match(did):
        raise RulePackError(f"{origin}: disclosure id must be a word, got {did!r}")
    unknown = sorted(set(raw) - _DISCLOSURE_KNOWN)
    if unknown:
        raise RulePackError(f"disclosure {did!r} in {origin}: unknown field(s) {', '.join(unknown)}")
    parts_raw = raw.get("parts")
    if not isinstance(parts_raw, list) or not parts_raw:
        raise RulePackError(f"disclosure {did!r} in {origin}: parts must be a non-empty list")
    parts: list[DisclosurePart] = []
    for i, p in enumerate(parts_raw, 1):
        if not isinstance(p, Mapping):
            raise RulePackError(f"disclosure {did!r} in {origin}: part {i} must be a mapping with phrases")
        pid = p.get("id") or f"part{i}"
        phrases = _str_list(p.get("phrases"), f"{did}.{pid}", "phrases", origin)
        if not phrases:
            raise RulePackError(f"disclosure {did!r} in {origin}: part {pid!r} has no phrases")
        _check_phrases(phrases, f"{did}.{pid}", "phrases", origin)
        parts.append(DisclosurePart(str(pid), phrases))
    _check_unique([p.id for p in parts], f"part of disclosure {did!r}", origin)
    applies = raw.get("applies_to") or {}
    if not isinstance(applies, Mapping):
        raise RulePackError(f"disclosure {did!r} in {origin}: applies_to must be a mapping, got {applies!r}")
    return Disclosure(did, str(raw.get("label") or did), tuple(parts), dict(applies), str(raw.get("source") or ""))


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulePackError(f"{path}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(f"{path}: cannot read: {exc}") from exc


def load_rule_pack(path: Path | str) -> RulePack:
    """Load and validate a rule pack: one YAML file, or every ``*.yaml``/``*.yml`` in a directory.

    Rule ids must be unique across all files. Examples are checked when a :class:`~assist.compliance.guard.Guard`
    is built from the pack (see :func:`assist.compliance.guard.engine.check_examples`).

    Args:
        path: A YAML file or a directory of them.

    Raises:
        RulePackError: Unreadable file, bad YAML, or an invalid rule (naming it and its file).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise RulePackError(f"{path}: no *.yaml rule files in this directory")
    elif path.is_file():
        files = [path]
    else:
        raise RulePackError(f"{path}: no such rule file or directory")
    rules: list[Rule] = []
    disclosures: list[Disclosure] = []
    for f in files:
        data = _read_yaml(f)
        origin = str(f)
        if data is None:
            logger.warning("empty rule file %s", f)
            continue
        raw_rules: list[Any]
        raw_discs: list[Any]
        if isinstance(data, list):
            raw_rules, raw_discs = data, []
        elif isinstance(data, Mapping):
            raw_rules = data.get("rules") or []
            raw_discs = data.get("disclosures") or []
            if not isinstance(raw_rules, list) or not isinstance(raw_discs, list):
                raise RulePackError(f"{origin}: 'rules' and 'disclosures' must be lists")
        else:
            raise RulePackError(f"{origin}: expected a mapping with 'rules' or a list of rules")
        rules.extend(parse_rule(r, origin) for r in raw_rules)
        disclosures.extend(parse_disclosure(d, origin) for d in raw_discs)
    _check_unique([r.id for r in rules], "rule", str(path))
    _check_unique([d.id for d in disclosures], "disclosure", str(path))
    logger.info("loaded rule pack %s: %d rules, %d disclosures", path, len(rules), len(disclosures))
    return RulePack(tuple(rules), tuple(disclosures), tuple(str(f) for f in files))
