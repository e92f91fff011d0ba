"""PDF → blocks with 1-based pages, read with pypdf: running headers, footers and page numbers dropped,
headings told from their shape; encrypted, scanned and corrupt PDFs are refused with the reason."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

from assist.errors import LimitExceededError, LoadError
from ingest.limits import IngestLimits, ParseBudget
from ingest.loaders.lines import FINAL_PUNCT, clean_line, join_lines, looks_like_heading
from ingest.loaders.types import Block, Parsed


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """A PDF's bytes → its blocks and the title its document information declares."""
    blocks, title = _load_pdf(raw, source, budget)
    return Parsed(blocks, title)


def _pypdf_limits(limits: IngestLimits) -> Any:
    """pypdf's own caps on decompressed streams set to the per-part limit (pypdf 7 and later)."""
    try:
        from pypdf import apply_configuration
    except ImportError:  # older pypdf: its built-in caps (75 MB a stream) apply
        return contextlib.nullcontext()
    part = limits.part_bytes
    return apply_configuration(
        zlib_maximum_output_length=part,
        lzw_maximum_output_length=part,
        run_length_maximum_output_length=part,
        array_based_stream_maximum_output_length=part,
        brotli_maximum_output_length=part,
        jbig2_maximum_output_length=part,
    )


def _load_pdf(raw: bytes, source: str, budget: ParseBudget) -> tuple[list[Block], str]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    limits = budget.limits
    try:
        with _pypdf_limits(limits):
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception as exc:  # noqa: BLE001 - pypdf raises several types here
                    raise LoadError(source, f"encrypted PDF that cannot be opened ({exc})") from exc
                if not ok:
                    raise LoadError(source, "encrypted PDF (a password is required)")
            pages = len(reader.pages)
            if pages > limits.max_pdf_pages:
                raise budget.refuse("max_pdf_pages", f"the PDF has {pages:,} pages")
            texts: list[str] = []
            for page in reader.pages:
                budget.check_time()
                text = page.extract_text() or ""
                budget.spend(len(text))
                texts.append(text)
            running = _running_lines(texts) if len(texts) > 1 else set()
            blocks: list[Block] = []
            for page_no, page_text in enumerate(texts, start=1):
                budget.check_time()
                blocks.extend(_pdf_page_blocks(page_text, page_no, skip=running))
            if blocks and blocks[0].kind == "heading":
                # the first line of a PDF is its title: the headings after it sit one level below
                for block in blocks[1:]:
                    if block.kind == "heading":
                        block.level = min(6, block.level + 1)
            info_title = ""
            try:
                info = reader.metadata
                info_title = str(info.get("/Title") or "").strip() if info is not None else ""
            except PyPdfError:
                info_title = ""
    except LoadError:
        raise
    except LimitReachedError as exc:
        reason = " ".join(str(exc).split())
        if "decompress" in reason.lower():
            raise budget.refuse("max_decompressed_part_mb", "a stream of the PDF expands to more than allowed") from exc
        raise LimitExceededError(
            source, f"the PDF goes past a safety limit of the PDF parser ({reason})", limit="pypdf"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt PDF can fail in many ways inside pypdf
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise LoadError(source, f"corrupt or unreadable PDF ({reason})") from exc
    if not blocks:
        raise LoadError(source, "no extractable text (scanned PDF?)")
    return blocks, info_title


_PDF_NUMBERED = re.compile(r"^\d+(\.\d+)+\s")
_BULLET = re.compile(r"^([-*•·▪●◦]|\(?\d{1,3}[).、]|[（(][一二三四五六七八九十\d]+[）)])")


def _pdf_heading_like(line: str) -> bool:
    return looks_like_heading(line, max_len=40) and not _BULLET.match(line) and not line.endswith((":", "：", "|"))


def _edge_key(line: str) -> str:
    """A header/footer line with its numbers blanked, so that "Page 3 of 9" matches "Page 4 of 9"."""
    return re.sub(r"\d+", "#", line)


def _running_lines(page_texts: list[str]) -> set[str]:
    """Keys of lines at the top or bottom of at least half the pages (and two or more): headers, footers."""
    counts: dict[str, int] = {}
    for text in page_texts:
        lines = [x for x in (clean_line(y) for y in text.split("\n")) if x]
        edges = {_edge_key(x) for x in lines[:2] + lines[-2:] if len(x) <= 80}
        for key in edges:
            counts[key] = counts.get(key, 0) + 1
    need = max(2, (len(page_texts) + 1) // 2)
    return {key for key, n in counts.items() if n >= need}


_PAGE_NUMBER = re.compile(r"(-\s*)?\d{1,4}(\s*-)?|(page|第)\s*\d+\s*(页|頁)?(\s*(/|of)\s*\d+)?", re.I)


def _pdf_page_blocks(page_text: str, page_no: int, skip: set[str] | None = None) -> list[Block]:
    """Lines of one page → headings and paragraphs.

    A line is a heading when it is short, has no final punctuation, is not a list item, starts a new
    block (page start, after a blank line or after a finished sentence) and is followed by a line
    that is not heading-like itself (so table rows and address lines stay text). Running headers and
    footers (`skip`) and bare page numbers at the top or bottom of the page are dropped.
    """
    lines = [clean_line(x) for x in page_text.replace("\r", "\n").split("\n")]
    nonempty = [i for i, line in enumerate(lines) if line]
    if skip:
        for i in nonempty[:2] + nonempty[-2:]:  # only where running headers and footers sit
            if _edge_key(lines[i]) in skip:
                lines[i] = ""
        nonempty = [i for i in nonempty if lines[i]]
    for i in nonempty[:1] + nonempty[-1:]:
        if _PAGE_NUMBER.fullmatch(lines[i]):
            lines[i] = ""
    nonempty = [i for i in nonempty if lines[i]]
    following = {a: lines[b] for a, b in zip(nonempty, nonempty[1:], strict=False)}

    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            body = join_lines(para)
            if body:
                blocks.append(Block("paragraph", body, page=page_no))
            para.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        at_block_start = not para or para[-1].endswith(FINAL_PUNCT)
        nxt = following.get(i)
        if at_block_start and nxt is not None and _pdf_heading_like(line) and not _pdf_heading_like(nxt):
            flush()
            level = 2 if _PDF_NUMBERED.match(line) else 1
            blocks.append(Block("heading", line, level=level, page=page_no))
            continue
        para.append(line)
    flush()
    return blocks
