"""Routes for compliance rules: versioned changes that recompile and swap the running guard, draft
testing, and YAML import/export."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from assist.compliance import drafts, packs, store, swap
from assist.deps import CurrentKey, SessionDep, SettingsDep, get_guard_holder, require_roles
from assist.errors import InvalidInputError
from assist.models.guard import RulePublic
from assist.models.keys import Role

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/rules", tags=["rules"], dependencies=[Depends(require_roles(Role.compliance))])

MAX_PACK_BYTES = 2_000_000


# A YAML rule pack as packs.parse_pack reads it: a mapping with a `rules` list (and `disclosures`),
# or a bare list of rules. Each rule is then checked by the guard (a 422 names what is wrong).
PACK_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "rules": {"type": "array", "items": {"type": "object"}},
                "disclosures": {"type": ["array", "null"], "items": {"type": "object"}},
            },
        },
        {"type": "array", "items": {"type": "object"}},
    ]
}


class RuleBody(BaseModel):
    """A rule as in a YAML pack; the guard validates the fields beyond `id`."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=store.MAX_RULE_ID_CHARS)


class RuleDetail(BaseModel):
    """A rule in force (or deleted), with every version, newest first."""

    rule_id: str
    current: RulePublic
    versions: list[RulePublic]


class DraftTest(BaseModel):
    """A draft to try before publishing: a new or changed rule, or the removal of one."""

    # drafts.try_draft needs one of the two; the document says so (anyOf), try_draft gives the reason.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["rule"]}, {"required": ["delete_rule_id"]}]}
    )

    rule: RuleBody | None = None
    delete_rule_id: str | None = Field(None, max_length=store.MAX_RULE_ID_CHARS)
    events_limit: int = Field(500, ge=0, le=10_000)


class DraftChangePublic(BaseModel):
    """One statement whose verdict the draft would change."""

    source: str
    text: str
    speaker: str
    before: str
    after: str
    rules_before: list[str]
    rules_after: list[str]
    expect: str | None
    event_id: int | None


class DraftReportPublic(BaseModel):
    """What the draft would newly block and stop blocking, and the labelled scores before and after."""

    newly_blocked: list[DraftChangePublic]
    stops_blocking: list[DraftChangePublic]
    cases: int
    events: int
    before: dict[str, float | None]
    after: dict[str, float | None]


class ImportResultPublic(BaseModel):
    """What an import changed, by rule id."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]
    disclosures_changed: bool


def _public(rec: Any) -> RulePublic:
    return RulePublic.model_validate(rec, from_attributes=True)


def swap_guard(request: Request, session: Session) -> None:
    """Rebuild the guard from the committed rules, swap it into the running app, and tell the other replicas."""
    swap.rebuild_guard(session=session, holder=get_guard_holder(request))
    hub = getattr(request.app.state, "call_hub", None)
    if hub is not None:
        hub.announce("rules")


def _seeded(session: SessionDep, settings: SettingsDep) -> None:
    packs.ensure_seeded(session=session, rules_path=settings.rules_path)


Seeded = Depends(_seeded)


async def _raw_body(request: Request) -> bytes:
    """The pack: the request body itself, or the `file` field of a multipart form (a browser upload)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await request.body()
    try:
        form = await request.form()
    except Exception as exc:  # Starlette raises several kinds for a broken multipart body
        raise InvalidInputError(f"body: not a readable multipart form ({type(exc).__name__})") from exc
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInputError("file: send the rule pack as the body, or as the 'file' field of a form")
    return await upload.read(MAX_PACK_BYTES + 1)


@router.get("", response_model=list[RulePublic], dependencies=[Seeded])
def list_rules(session: SessionDep, include_deleted: bool = Query(False)) -> list[RulePublic]:
    """The rules in force (newest version of each), optionally with deleted ones."""
    return [_public(r) for r in store.latest_records(session=session, include_deleted=include_deleted)]


@router.post("", response_model=RulePublic, status_code=201, dependencies=[Seeded])
def create_rule(body: RuleBody, request: Request, session: SessionDep, key: CurrentKey) -> RulePublic:
    """Add a rule; the running guard uses it from the next turn of every call."""
    rec = store.create_rule(session=session, body=body.model_dump(), actor=key)
    session.commit()
    swap_guard(request, session)
    return _public(rec)


@router.get(
    "/export", response_class=Response, dependencies=[Seeded], responses={200: {"content": {"application/yaml": {}}}}
)
def export_rules(session: SessionDep) -> Response:
    """The rules and disclosures in force, as a YAML rule pack."""
    return Response(
        content=packs.export_pack(session=session).encode("utf-8"),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rules.yaml"'},
    )


@router.post(
    "/import",
    response_model=ImportResultPublic,
    dependencies=[Seeded],
    openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {"schema": PACK_SCHEMA}}}},
)
def import_rules(
    request: Request,
    session: SessionDep,
    key: CurrentKey,
    raw: bytes = Depends(_raw_body),
    prune: bool = Query(False),
) -> ImportResultPublic:
    """Import a YAML rule pack (the request body), all or nothing; `prune` deletes rules it lacks."""
    if len(raw) > MAX_PACK_BYTES:
        raise InvalidInputError(f"body: a rule pack may be at most {MAX_PACK_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"body: the rule pack is not UTF-8 ({exc.reason})") from exc
    if not text.strip():
        raise InvalidInputError("body: the rule pack is empty")
    result = packs.import_pack(session=session, text=text, actor=key, prune=prune)
    session.commit()
    if result.created or result.updated or result.deleted or result.disclosures_changed:
        swap_guard(request, session)
    return ImportResultPublic(**asdict(result))


@router.post("/test", response_model=DraftReportPublic, dependencies=[Seeded])
def test_rule(body: DraftTest, session: SessionDep) -> DraftReportPublic:
    """Try a draft on labelled statements and recent events: what it would newly block or stop blocking."""
    report = drafts.try_draft(
        session=session,
        rule=body.rule.model_dump() if body.rule else None,
        delete_rule_id=body.delete_rule_id,
        events_limit=body.events_limit,
    )
    return DraftReportPublic.model_validate(asdict(report))


@router.get("/{rule_id}", response_model=RuleDetail, dependencies=[Seeded])
def get_rule(rule_id: str, session: SessionDep) -> RuleDetail:
    """A rule with every version, newest first."""
    versions = store.get_versions(session=session, rule_id=rule_id)
    return RuleDetail(rule_id=rule_id, current=_public(versions[0]), versions=[_public(v) for v in versions])


@router.patch("/{rule_id}", response_model=RulePublic, dependencies=[Seeded])
def update_rule(
    rule_id: str,
    request: Request,
    session: SessionDep,
    key: CurrentKey,
    changes: dict[str, Any] = Body(..., description="fields to change; null removes a field"),
) -> RulePublic:
    """Change a rule: a new version; the previous one stays readable."""
    rec = store.update_rule(session=session, rule_id=rule_id, changes=changes, actor=key)
    session.commit()
    swap_guard(request, session)
    return _public(rec)


@router.delete("/{rule_id}", response_model=RulePublic, dependencies=[Seeded])
def delete_rule(rule_id: str, request: Request, session: SessionDep, key: CurrentKey) -> RulePublic:
    """Stop applying a rule: a deletion version; its history stays readable."""
    rec = store.delete_rule(session=session, rule_id=rule_id, actor=key)
    session.commit()
    swap_guard(request, session)
    return _public(rec)
