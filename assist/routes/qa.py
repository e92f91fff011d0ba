"""QA: a call's scorecard (computed when first asked for after the call ended), reviewers' overrides, the
scorecards worst first, the summary over time with first-contact resolution, and a CSV export."""

from __future__ import annotations

import csv
import io
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from assist.aftercall import scorecards as svc
from assist.aftercall.tickets import may_see_all
from assist.compliance.review import as_utc, parse_bound
from assist.deps import AfterCallDep, AgentOrComplianceKey, CallReader, ComplianceKey, SessionDep, SettingsDep
from assist.models.aftercall import Scorecard, ScorecardPublic, ScoreOverrideCreate
from assist.routes.events import FromQuery, ToQuery

logger = logging.getLogger(__name__)

router = APIRouter(tags=["qa"])

NOT_ENDED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The call has not ended: it is scored after it ends"}
}


@router.get("/v1/calls/{call_id}/scorecard", response_model=ScorecardPublic, responses=NOT_ENDED)
def get_scorecard(
    call_id: str, session: SessionDep, after: AfterCallDep, settings: SettingsDep, _key: CallReader
) -> ScorecardPublic:
    """The call's QA scorecard: score 0-100 and each criterion's verdict with the turns it rests on."""
    card = svc.ensure_scorecard(
        session,
        call_id=call_id,
        rubric=after.rubric,
        playbooks=after.playbooks,
        fcr_window_days=settings.fcr_window_days,
        chooser=after.chooser,
        judge=after.judge,
    )
    return svc.public(session, card)


@router.post(
    "/v1/calls/{call_id}/scorecard/overrides", response_model=ScorecardPublic, status_code=201, responses=NOT_ENDED
)
def override_criterion(
    call_id: str,
    body: ScoreOverrideCreate,
    session: SessionDep,
    after: AfterCallDep,
    settings: SettingsDep,
    key: ComplianceKey,
) -> ScorecardPublic:
    """A reviewer's verdict on one criterion, with a note (audited); returns the scorecard with it applied."""
    card = svc.ensure_scorecard(
        session,
        call_id=call_id,
        rubric=after.rubric,
        playbooks=after.playbooks,
        fcr_window_days=settings.fcr_window_days,
        chooser=after.chooser,
        judge=after.judge,
    )
    svc.add_override(session, card=card, body=body, key=key)
    return svc.public(session, card)


@router.get("/v1/qa/scorecards", response_model=list[ScorecardPublic])
def list_scorecards(
    session: SessionDep,
    key: AgentOrComplianceKey,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ScorecardPublic]:
    """Stored scorecards, worst first: an agent's own; every call's for compliance and admin."""
    return [svc.public(session, c) for c in _cards(session, key, date_from, date_to, limit)]


def _cards(session: Any, key: Any, date_from: str | None, date_to: str | None, limit: int) -> list[Scorecard]:
    stmt = select(Scorecard)
    if not may_see_all(key):
        stmt = stmt.where(Scorecard.agent_key_id == key.id)
    lo = as_utc(parse_bound(date_from, field="from"))
    hi = as_utc(parse_bound(date_to, field="to"), end_of_day=True)
    if lo:
        stmt = stmt.where(col(Scorecard.call_started_at) >= lo)
    if hi:
        stmt = stmt.where(col(Scorecard.call_started_at) < hi)
    return list(session.exec(stmt.order_by(col(Scorecard.score), col(Scorecard.created_at)).limit(limit)).all())


@router.get("/v1/qa/summary")
def qa_summary(
    session: SessionDep,
    _key: ComplianceKey,
    group: Literal["agent", "team", "topic"] = "agent",
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> dict[str, Any]:
    """Average scores per agent, team or topic and ISO week; first-contact resolution; auto/human agreement."""
    return svc.summary(
        session,
        group=group,
        date_from=as_utc(parse_bound(date_from, field="from")),
        date_to=as_utc(parse_bound(date_to, field="to"), end_of_day=True),
    )


@router.get("/v1/qa/export", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_scorecards(
    session: SessionDep,
    key: ComplianceKey,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """Scorecards as CSV: one row per call and criterion (overrides applied)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["call_id", "agent", "score", "auto_score", "criterion", "passed", "critical", "turns", "reason", "team"]
    )
    for card in _cards(session, key, date_from, date_to, limit):
        pub = svc.public(session, card)
        for v in pub.criteria:
            passed = "" if v.passed is None else str(v.passed).lower()
            turns = " ".join(map(str, v.turns))
            writer.writerow(
                [
                    pub.call_id,
                    pub.agent_name or "",
                    pub.score,
                    pub.auto_score,
                    v.id,
                    passed,
                    v.critical,
                    turns,
                    v.reason,
                    pub.team or "",
                ]
            )
    headers = {"Content-Disposition": 'attachment; filename="scorecards.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
