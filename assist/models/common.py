"""Helpers shared by the table models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A short random id, safe in URLs."""
    return uuid.uuid4().hex[:16]
