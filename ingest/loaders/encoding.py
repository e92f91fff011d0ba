"""Encoding detection for the text formats (md, txt, html, csv).

UTF-8 (with or without BOM) is tried first and strictly; anything else is left to charset-normalizer, with a
bias towards the Chinese code pages a bank in the region actually receives (GB18030 for the GB family, Big5
for Traditional Chinese).
"""

from __future__ import annotations

import logging
import re
import unicodedata

from assist.errors import LoadError
from ingest.limits import ParseBudget

logger = logging.getLogger(__name__)

_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn", "hz_gb_2312"}
_BIG5_FAMILY = {"big5", "cp950", "big5hkscs", "big5_hkscs"}
# Detections that are plausible byte-wise for Chinese text but wrong for this market.
_FOREIGN_MULTIBYTE = {
    "cp949", "euc_kr", "johab", "euc_jp", "euc_jis_2004", "euc_jisx0213", "shift_jis", "cp932",
    "shift_jis_2004", "shift_jisx0213", "iso2022_jp", "iso2022_kr", "utf_16", "utf_16_be", "utf_16_le",
    "utf_32", "utf_32_be", "utf_32_le",
}  # fmt: skip
_HANGUL_KANA = re.compile(r"[\u3040-\u30ff\u1100-\u11ff\uac00-\ud7af]")


def _codec_key(name: str) -> str:
    return name.lower().replace("-", "_")


def _decode_chinese(raw: bytes, family: str) -> tuple[str, str] | None:
    """Strictly decode with the widest codec of a family; None when none fits."""
    codecs = ("gb18030",) if family == "gb" else ("big5", "cp950", "big5hkscs")
    for codec in codecs:
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return None


def _normalise_charset(name: str) -> str | None:
    """Map a declared charset (e.g. from <meta charset>) to the codec we decode with."""
    key = _codec_key(name.strip().strip("\"'"))
    if key in _GB_FAMILY or key in {"x_gbk", "gb_2312_80"}:
        return "gb18030"
    try:
        import codecs

        return codecs.lookup(key).name
    except LookupError:
        return None


def decode_bytes(raw: bytes, source: str, *, declared: str | None = None) -> tuple[str, str]:
    """Decode the bytes of a text format.

    Args:
        raw: The file's bytes.
        source: The file's name, for error messages.
        declared: An encoding the file declares about itself (HTML <meta charset>), tried after UTF-8.

    Returns:
        (text, encoding). The text has no BOM and uses "\\n" line ends.

    Raises:
        LoadError: "binary or undecodable content".
    """
    text: str | None = None
    encoding = ""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LoadError(source, "binary or undecodable content") from exc
    elif b"\x00" in raw:
        raise LoadError(source, "binary or undecodable content")
    if text is None:
        try:
            if raw.startswith(b"\xef\xbb\xbf"):
                text, encoding = raw[3:].decode("utf-8"), "utf-8-sig"
            else:
                text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text = None
    if text is None and declared:
        codec = _normalise_charset(declared)
        if codec and _codec_key(codec) not in {"utf_8", "utf_8_sig"}:
            family = "gb" if codec == "gb18030" else "big5" if _codec_key(codec) in _BIG5_FAMILY else None
            decoded = _decode_chinese(raw, family) if family else None
            if decoded is None and family is None:
                try:
                    decoded = raw.decode(codec), codec
                except UnicodeDecodeError:
                    decoded = None
            if decoded is not None:
                text, encoding = decoded
    if text is None:
        text, encoding = _detect(raw, source)
    if _looks_binary(text):
        raise LoadError(source, "binary or undecodable content")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _detect(raw: bytes, source: str) -> tuple[str, str]:
    """charset-normalizer's guess, steered towards the code pages of this market.

    - A foreign multi-byte guess (Korean, Japanese, UTF-16 without BOM) for bytes that also decode as
      Chinese becomes GB18030 or Big5: short Chinese texts are often mistaken for Korean.
    - Between GB18030 and Big5, the one whose characters are the more common ones in its own
      standard wins (`_chinese_score`), then the one whose script fits (`_script_fits`), then
      charset-normalizer's pick. This settles short Chinese runs inside English text; runs of two
      or three characters remain ambiguous.
    - A Western single-byte guess becomes cp1252 when that decodes too (cp1250 turns "è" into "č").
    """
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(raw))
    names = [_codec_key(m.encoding) for m in matches]
    logger.debug("encoding candidates", extra={"source": source, "candidates": names[:6]})
    if not names:
        raise LoadError(source, "binary or undecodable content")
    best = names[0]
    chinese = best in _GB_FAMILY or best in _BIG5_FAMILY
    chinese = chinese or best in _FOREIGN_MULTIBYTE or bool(_HANGUL_KANA.search(str(matches[0])))
    if chinese:
        options = [d for d in (_decode_chinese(raw, "gb"), _decode_chinese(raw, "big5")) if d is not None]
        if options:
            return max(options, key=lambda d: (_chinese_score(*d), _script_fits(*d), d[1][:2] == best[:2]))
    if best in _WESTERN_SINGLE_BYTE and best != "cp1252":
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(matches[0]), best


_WESTERN_SINGLE_BYTE = {
    "cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_1", "iso8859_2", "iso8859_9",
    "iso8859_15", "mac_roman", "mac_latin2", "cp850", "cp437",
}  # fmt: skip


def _script_fits(text: str, codec: str) -> bool:
    """Tie-break: GB text is usually all Simplified; Big5 text always has some Traditional characters."""
    from assist.text import has_traditional

    traditional = has_traditional(text)
    return traditional if codec != "gb18030" else not traditional


def _chinese_score(text: str, codec: str) -> float:
    """Share of the non-ASCII characters that are frequent ones in the codec's own standard.

    GB2312 puts its 3,755 most common characters on lead bytes 0xB0-0xD7 and punctuation on
    0xA1-0xA3; Big5 puts its 5,401 frequent characters on 0xA4-0xC6 and punctuation on 0xA1-0xA3
    (0xA374 and up are bopomofo).
    Bytes decoded with the wrong one of the two land mostly on rare characters.
    """
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0
    gb = codec == "gb18030"
    if gb:  # Traditional text is also written in GB18030: judge each character by its Simplified form
        from assist.text import to_simplified

        wide = list(to_simplified("".join(wide)))
    common = 0
    for char in wide:
        try:
            lead, trail = char.encode("gb2312" if gb else "big5")[:2]
        except (UnicodeEncodeError, ValueError):
            continue
        if gb:
            common += 0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3  # not the kana on 0xA4-0xA5
        else:  # bopomofo (0xA374-0xA3BF) and the kana after 0xC6A1 are rare in running text
            common += 0xA1 <= lead <= 0xC6 and not (lead in (0xA3, 0xC6) and trail >= (0x74 if lead == 0xA3 else 0xA1))
    return common / len(wide)


def _looks_binary(text: str) -> bool:
    """More than 1% control characters (other than tab, newline, CR, form feed) means binary."""
    if not text:
        return False
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    return controls > max(2, len(text) // 100)


def decode_document(raw: bytes, source: str, budget: ParseBudget, *, declared: str | None = None) -> tuple[str, str]:
    """`decode_bytes`, then the parse deadline checked; a text of nothing but whitespace is an empty file.

    Raises:
        LoadError: "binary or undecodable content" or "empty file".
    """
    text, encoding = decode_bytes(raw, source, declared=declared)
    budget.check_time()
    if not text.strip():
        raise LoadError(source, "empty file")
    return text, encoding
