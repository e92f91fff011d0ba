"""Knowledge gaps: what the knowledge editors should write next."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from assist.aftercall import gaps as svc
from assist.compliance.review import as_utc, parse_bound
from assist.deps import AfterCallDep, EditorOrComplianceKey, KnowledgeDep, SessionDep
from assist.routes.events import FromQuery

logger = logging.getLogger(__name__)

router = APIRouter(tags=["knowledge"])


@router.get("/v1/knowledge/gaps")
async def knowledge_gaps(
    session: SessionDep,
    knowledge: KnowledgeDep,
    after: AfterCallDep,
    _key: EditorOrComplianceKey,
    date_from: FromQuery = None,
    similarity: Annotated[float, Query(ge=0.3, le=0.99)] = 0.8,
    expiring_days: Annotated[int, Query(ge=0, le=365)] = 30,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> dict[str, Any]:
    """Questions with no approved answer, suggestions rated wrong, and answers from retired or expiring
    documents, grouped by near-duplicate, largest group first."""
    since = as_utc(parse_bound(date_from, field="from"))

    def _report() -> dict[str, Any]:
        items = svc.collect(session, since=since, expiring_days=expiring_days, limit=limit)
        groups = svc.group(items, svc.pick_embedder(knowledge), threshold=similarity)
        return svc.gap_report(groups, topics_in=after.playbooks.topics_in)

    return await run_in_threadpool(_report)
