"""Builders of hostile documents: decompression bombs, many-page PDFs, oversized text. Each is built in
memory, small on disk and expensive to parse (the point of the limits in ingest/limits.py)."""

from __future__ import annotations

import io
import zipfile

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
RUN = "<w:p><w:r><w:t>Repeated junk text that pads the document out.</w:t></w:r></w:p>"


def small_docx(text: str = "A short policy paragraph.") -> bytes:
    """A real, small DOCX made by python-docx."""
    import docx

    document = docx.Document()
    document.add_heading("Card fees", level=1)
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _rezip(base: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def docx_bomb(xml_bytes: int) -> bytes:
    """A valid DOCX whose word/document.xml is about `xml_bytes` of repeated runs (compresses ~300:1)."""
    n = max(1, xml_bytes // len(RUN))
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    xml = f"{head}<w:document {_W}><w:body>{RUN * n}</w:body></w:document>"
    return _rezip(small_docx(), {"word/document.xml": xml.encode()})


def docx_with(add: dict[str, bytes]) -> bytes:
    """A small DOCX with extra archive entries."""
    return _rezip(small_docx(), {}, add)


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return out.getvalue()


def many_page_pdf(pages: int) -> bytes:
    """A PDF of `pages` pages, each with a few lines of its own text."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(1, pages + 1):
        c.drawString(60, 780, f"Clause {n} of the card agreement.")
        c.drawString(60, 760, f"Fee schedule item {n} applies to cards issued after month {n % 12 + 1}.")
        c.showPage()
    c.save()
    return buf.getvalue()


def pdf_with_a_big_stream(padding_bytes: int) -> bytes:
    """A one-page PDF whose content stream decompresses to about `padding_bytes` (comment lines)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(60, 780, "Card fees apply.")
    c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    page = writer.pages[0]
    stream = DecodedStreamObject()
    stream.set_data(page.get_contents().get_data() + b"\n" + b"% padding\n" * (padding_bytes // 10))
    page.replace_contents(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def wide_table_markdown(columns: int = 300, rows: int = 100, header_chars: int = 100) -> str:
    """A Markdown table whose rows each repeat its long column names: ~columns*header_chars per row."""
    header = "| " + " | ".join(f"column {i:03d} " + "x" * (header_chars - 11) for i in range(columns)) + " |"
    sep = "|" + "---|" * columns
    body = "\n".join("|" + "1|" * columns for _ in range(rows))
    return f"# Wide table\n\n{header}\n{sep}\n{body}\n"
