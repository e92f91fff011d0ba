"""/metrics reports the size of the indexes the process serves, and follows an upload."""

from __future__ import annotations

from tests.utils.metrics import parse, value

DOC = "# 信用卡年费\n\n金卡年费每年三百元，刷卡满六次免次年年费。\n\n## 白金卡\n\n白金卡年费每年两千元。\n"


def test_index_size_follows_an_upload(client, headers) -> None:
    before = parse(client.get("/metrics").text)
    names = [e.name for e in client.app.state.knowledge.embedders]
    r = client.post("/v1/documents", headers=headers["editor"], files={"file": ("fees.md", DOC.encode())})
    assert r.status_code == 201, r.text
    after = parse(client.get("/metrics").text)
    added = value(after, "assist_index_chunks") - value(before, "assist_index_chunks")
    assert added == r.json()["chunks"] >= 1
    for name in names:  # one vector per chunk in every dense index
        assert value(after, "assist_index_vectors", index=name) == value(after, "assist_index_chunks")
