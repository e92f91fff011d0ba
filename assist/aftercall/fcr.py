"""First-contact resolution: a call may carry a customer reference, stored only as a keyed hash; a repeat
contact on the same topic within ASSIST_FCR_WINDOW_DAYS marks the earlier call not resolved.

Topics are the call's own (the live engine records them on the call). The link is made when the later call
is scored or summarised (`link_repeat_contacts`), so a call's topics are known by then.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from assist.config import Settings
from assist.errors import InvalidInputError
from assist.models.aftercall import CallContact
from assist.models.calls import Call

logger = logging.getLogger(__name__)

MAX_REF_CHARS = 200
KEY_FILE = "customer_ref.key"


def _key(settings: Settings) -> bytes:
    if settings.customer_ref_salt is not None:
        return settings.customer_ref_salt.get_secret_value().encode()
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="ascii") as fh:  # first writer wins; others read its key
                fh.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text(encoding="ascii").strip().encode()


def hash_customer_ref(ref: str, settings: Settings) -> str:
    """HMAC-SHA256 of the normalised reference (trimmed, case-folded) under the configured key.

    Raises:
        InvalidInputError: an empty or over-long reference.
    """
    norm = " ".join(ref.split()).casefold()
    if not norm or len(norm) > MAX_REF_CHARS:
        raise InvalidInputError(f"customer_ref must be 1 to {MAX_REF_CHARS} characters")
    return hmac.new(_key(settings), norm.encode(), hashlib.sha256).hexdigest()


def record_customer(session: Session, *, call_id: str, customer_hash: str, agent_key_id: str | None) -> None:
    """Store the call's hashed customer reference (`hash_customer_ref`; the reference itself never is)."""
    session.add(CallContact(call_id=call_id, customer_hash=customer_hash, agent_key_id=agent_key_id))
    session.commit()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def link_repeat_contacts(session: Session, *, call_id: str, window_days: int) -> list[str]:
    """Mark earlier calls of the same customer on a topic this call shares, within the window, not resolved.

    Returns the ids of the calls marked (empty when the call has no customer reference).
    """
    contact = session.get(CallContact, call_id)
    call = session.get(Call, call_id)
    if contact is None or call is None or not call.topics:
        return []
    since = _aware(contact.created_at) - timedelta(days=window_days)
    earlier = session.exec(
        select(CallContact, Call)
        .join(Call, col(Call.id) == col(CallContact.call_id))
        .where(CallContact.customer_hash == contact.customer_hash, CallContact.call_id != call_id)
    ).all()
    marked = []
    for prev, prev_call in earlier:
        when = _aware(prev.created_at)
        if not since <= when < _aware(contact.created_at) or not set(prev_call.topics) & set(call.topics):
            continue
        if prev.resolved or prev.repeat_call_id is None:
            prev.resolved, prev.repeat_call_id = False, call_id
            session.add(prev)
            marked.append(prev.call_id)
    if marked:
        session.commit()
        logger.info("repeat contact", extra={"call_id": call_id, "marked": len(marked)})
    return marked


def week_of(dt: datetime) -> str:
    """ISO week, e.g. 2024-W11."""
    year, week, _ = dt.isocalendar()
    return f"{year}-W{week:02d}"


def fcr_summary(
    session: Session, *, group: str, date_from: datetime | None = None, date_to: datetime | None = None
) -> list[dict[str, Any]]:
    """First-contact resolution of calls with a customer reference, per group (agent, topic or team) and
    ISO week: `{"group", "week", "calls", "resolved", "fcr"}`, fcr = resolved / calls."""
    stmt = select(CallContact, Call).join(Call, col(Call.id) == col(CallContact.call_id))
    if date_from:
        stmt = stmt.where(col(CallContact.created_at) >= date_from)
    if date_to:
        stmt = stmt.where(col(CallContact.created_at) < date_to)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for contact, call in session.exec(stmt).all():
        for k in group_keys(group, agent=call.agent_name, team=call.team, topics=call.topics):
            c = counts[(k, week_of(_aware(contact.created_at)))]
            c[0] += 1
            c[1] += int(contact.resolved)
    return [
        {"group": g, "week": w, "calls": n, "resolved": r, "fcr": round(r / n, 4)}
        for (g, w), (n, r) in sorted(counts.items())
    ]


NO_TEAM = "(no team)"


def group_keys(group: str, *, agent: str | None, team: str | None, topics: list[str]) -> list[str]:
    """The groups a call counts in: its agent, its team (the agent key's when the call started) or each of
    its topics; calls with none in one placeholder group."""
    if group == "agent":
        return [agent or "(unknown)"]
    if group == "topic":
        return list(topics) or ["(none)"]
    return [team or NO_TEAM]


METRICS_WINDOW_DAYS = 30


def fcr_metric_families(session: Session, *, days: int = METRICS_WINDOW_DAYS, now: datetime | None = None) -> list[Any]:
    """First-contact resolution of the calls with a customer reference started in the last `days` days, as
    Prometheus gauge families: per topic ``assist_fcr_calls``, ``assist_fcr_resolved`` and their ratio
    ``assist_fcr_ratio`` (a topic with no call has no ratio); per team the same as ``assist_fcr_team_calls``,
    ``assist_fcr_team_resolved``, ``assist_fcr_team_ratio``. Read from the database at scrape time."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    return [
        *_families(session, group="topic", since=since, days=days, prefix="assist_fcr"),
        *_families(session, group="team", since=since, days=days, prefix="assist_fcr_team"),
    ]


def _families(session: Session, *, group: str, since: datetime, days: int, prefix: str) -> list[Any]:
    from prometheus_client.core import GaugeMetricFamily

    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in fcr_summary(session, group=group, date_from=since):
        per[row["group"]][0] += row["calls"]
        per[row["group"]][1] += row["resolved"]
    window = f"started in the last {days} days"
    calls = GaugeMetricFamily(
        f"{prefix}_calls", f"Calls with a customer reference {window}, by {group}.", labels=[group]
    )
    resolved = GaugeMetricFamily(
        f"{prefix}_resolved",
        f"Of those, calls with no repeat contact on their topic {window}, by {group}.",
        labels=[group],
    )
    ratio = GaugeMetricFamily(
        f"{prefix}_ratio",
        f"First-contact resolution (resolved / calls) of calls {window}, by {group}.",
        labels=[group],
    )
    for key, (n, r) in sorted(per.items()):
        calls.add_metric([key], n)
        resolved.add_metric([key], r)
        if n:
            ratio.add_metric([key], round(r / n, 4))
    return [calls, resolved, ratio]
