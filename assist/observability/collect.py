"""What a scrape of /metrics reads when it comes: the database's calls in progress and first-contact
resolution, and the size of the indexes the answering process has loaded.

These are not counted by any one process. The database is the one truth for the calls of every replica, so
each replica reports the same figures (aggregate them across replicas with max, not sum); the index size is
that of the process that answers the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)


class ServiceCollector:
    """Gauges read at scrape time; a part that cannot be read is left out (and logged), the rest still shows.

    Args:
        db_engine: the database (None while the server starts: no database figures).
        knowledge: the knowledge base whose loaded indexes are measured (None while the server starts).
    """

    def __init__(self, *, db_engine: Engine | None, knowledge: Any) -> None:
        self.db_engine = db_engine
        self.knowledge = knowledge

    def collect(self) -> Iterator[Metric]:
        """The families of this scrape."""
        if self.db_engine is not None:
            try:
                yield from self._database()
            except Exception:  # the live counters keep serving when the database does not answer
                logger.exception("metrics from the database unavailable")
        if self.knowledge is not None:
            try:
                yield from index_size(self.knowledge)
            except Exception:
                logger.exception("index size unavailable")

    def _database(self) -> Iterator[Metric]:
        from sqlmodel import Session

        from assist.aftercall.fcr import fcr_metric_families

        assert self.db_engine is not None
        with Session(self.db_engine) as session:
            families = [active_calls(session), *fcr_metric_families(session)]
        yield from families


def active_calls(session: Any) -> GaugeMetricFamily:
    """``assist_active_calls``: calls started and not ended, from the database (every replica's)."""
    from sqlalchemy import func
    from sqlmodel import select

    from assist.models.calls import Call

    n = session.exec(select(func.count()).select_from(Call).where(Call.status == "active")).one()
    g = GaugeMetricFamily(
        "assist_active_calls", "Calls started and not yet ended, in the database (the same on every replica)."
    )
    g.add_metric([], float(n))
    return g


def index_size(knowledge: Any) -> list[GaugeMetricFamily]:
    """``assist_index_chunks`` and ``assist_index_vectors{index}`` of the indexes loaded in this process
    (nothing for a knowledge base without them, such as a test's fake)."""
    index = getattr(knowledge, "index", None)
    dense = getattr(index, "dense", None)
    if index is None or not isinstance(dense, dict):
        return []
    chunks = GaugeMetricFamily("assist_index_chunks", "Chunks in the index this process serves.")
    chunks.add_metric([], float(len(index)))
    vectors = GaugeMetricFamily(
        "assist_index_vectors",
        "Vectors in each dense index this process serves, by index (embedder).",
        labels=["index"],
    )
    for name, faiss_index in sorted(dense.items()):
        vectors.add_metric([str(name)], float(len(faiss_index)))
    return [chunks, vectors]
