"""Encoding detection for the text formats: UTF-8 first, then the Chinese code pages, and binary content."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader, decode_bytes
from tests.utils.documents import EN, ZH_HANS, ZH_HANT, kinds, write


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (ZH_HANS, "gb18030", "gb18030"),
        (ZH_HANS, "gbk", "gb18030"),
        (ZH_HANS, "gb2312", "gb18030"),
        (ZH_HANT, "big5", "big5"),
        (ZH_HANT, "gb18030", "gb18030"),
        (ZH_HANS, "utf-8", "utf-8"),
        (ZH_HANT, "utf-8-sig", "utf-8-sig"),
        (EN, "utf-8", "utf-8"),
    ],
)
def test_text_encodings_round_trip(
    tmp_path: Path, loader: DocumentLoader, text: str, encoding: str, expected: str
) -> None:
    path = write(tmp_path / "doc.txt", text, encoding=encoding)
    doc = loader.run(path)
    assert doc.encoding == expected
    assert doc.blocks[-1].text == text
    assert "\ufeff" not in doc.text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("信用卡丢失后请立即挂失", "gb18030"),  # short: charset-normalizer alone guesses Korean cp949
        ("信用卡遺失後請立即掛失", "big5"),
        ("一、保障范围", "gbk"),
    ],
)
def test_short_chinese_texts_prefer_chinese_code_pages(text: str, encoding: str) -> None:
    decoded, used = decode_bytes(text.encode(encoding), "s.txt")
    assert decoded == text
    assert used in {"gb18030", "big5", "cp950", "big5hkscs"}


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Please contact 王小明 at the Harbor Bank branch for the card replacement form.", "gb18030"),
        ("Please contact 陳大文 at the Harbor Bank branch for the card replacement form.", "big5"),
        ("Fees: 年费 100 yuan; 取现 1% (min 10 yuan). Contact 95388.", "gbk"),
        ("Fees: 年費 100 元; 取現 1% (最低 10 元). Contact 95388.", "big5"),
        ("如果你張信用卡唔見咗，請即刻打電話俾我哋嘅客戶服務熱線，我哋會幫你暫停張卡。", "big5hkscs"),
        ("手續費為新臺幣", "gb18030"),  # Traditional characters in a GB encoding
        ("Ref 9 掛失生效 today.", "big5"),
        ("Café crème costs 5 € and the “quoted” naïve résumé stays intact.", "cp1252"),
    ],
)
def test_mixed_and_short_texts_decode_exactly(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), "m.txt")[0] == text


def test_utf16_with_bom_is_text(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "w.txt", "\ufeff" + ZH_HANS, encoding="utf-16-le"))
    assert doc.blocks[-1].text == ZH_HANS


def test_windows_line_ends_are_normalised(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "w.md", "# 标题\r\n\r\n第一段。\r\n\r\n第二段。\r\n", encoding="gb18030"))
    assert kinds(doc) == [("heading", "标题"), ("paragraph", "第一段。"), ("paragraph", "第二段。")]


def test_whitespace_only_in_a_chinese_encoding_is_empty(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^w\.txt: empty file$"):
        loader.run(write(tmp_path / "w.txt", "\u3000\u3000\n", encoding="gb18030"))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        ("data.txt", bytes(range(256)) * 4),
        ("sheet.csv", b"question,answer\n\x00\x01\x02\x03,\x04\x05\n"),
    ],
)
def test_binary_content_in_text_formats(tmp_path: Path, loader: DocumentLoader, name: str, content: bytes) -> None:
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / name, content))
    assert str(err.value) == f"{name}: binary or undecodable content"
