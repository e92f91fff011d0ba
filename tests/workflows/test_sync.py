"""A running server follows what another process wrote to the database: `assist ingest` while it serves,
or a rule changed through another worker."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from assist.app import sync_with_database
from assist.compliance import store
from tests.factories import make_kb, write


def _sync(client: TestClient) -> dict[str, bool]:
    st: Any = client.app.state  # type: ignore[attr-defined]
    return sync_with_database(st.knowledge, st.guard_holder, st.db_engine)


def test_a_document_ingested_by_another_process_is_served_after_sync(client: TestClient, tmp_path) -> None:
    st: Any = client.app.state  # type: ignore[attr-defined]
    assert _sync(client) == {"index": False, "rules": False}  # nothing changed yet
    other = make_kb(st.settings.data_dir)  # the CLI, in another process, on the same data directory
    doc = write(tmp_path / "new" / "safe_box.md", "# 保管箱\n\n保管箱年费为三百元，可在网点办理。\n")
    assert other.ingest_paths([doc]).summary()["failed"] == 0
    assert not any("保管箱" in h.text for h in st.knowledge.retriever.retrieve("保管箱年费", k=3))
    assert _sync(client)["index"] is True
    assert any("保管箱" in h.text for h in st.knowledge.retriever.retrieve("保管箱年费", k=3))
    assert _sync(client)["index"] is False


def test_a_rule_deleted_by_another_worker_stops_blocking_after_sync(client: TestClient) -> None:
    st: Any = client.app.state  # type: ignore[attr-defined]
    assert st.guard_holder.get().check("这款产品保本", "agent").action == "block"
    with Session(st.db_engine) as session:  # another worker serving DELETE /v1/rules/guaranteed_return
        store.delete_rule(session=session, rule_id="guaranteed_return", actor=None)
        session.commit()
    assert _sync(client)["rules"] is True
    assert st.guard_holder.get().check("这款产品保本", "agent").action == "allow"
    assert _sync(client)["rules"] is False
