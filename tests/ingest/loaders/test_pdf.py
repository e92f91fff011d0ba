"""PDF: pages, headings, running headers and page numbers, Chinese fonts, and the bad cases."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader
from tests.utils.documents import make_pdf, write


def test_pdf_pages_and_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    pdf = write(
        tmp_path / "mortgage.pdf",
        make_pdf(
            [
                [
                    "Mortgage prepayment",
                    "",
                    "You may prepay part or all of the loan after 12 months.",
                    "A fee of 1% applies.",
                ],
                ["Fees", "There is no fee after 36 months.", "", "3"],
            ]
        ),
    )
    doc = loader.run(pdf)
    assert doc.file_type == "pdf"
    assert doc.encoding is None
    assert doc.title == "Mortgage prepayment"  # reportlab's "untitled" metadata is ignored
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("heading", "Mortgage prepayment", 1),
        ("paragraph", "You may prepay part or all of the loan after 12 months.\nA fee of 1% applies.", 1),
        ("heading", "Fees", 2),
        ("paragraph", "There is no fee after 36 months.", 2),
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2]  # the first line is the title


def test_pdf_running_headers_page_numbers_and_short_lines(tmp_path: Path, loader: DocumentLoader) -> None:
    pages = [
        [
            "Harbor Bank - Internal",
            "Card fees",
            "The fees below apply from 1 January 2026.",
            "",
            "Replacement card",
            "10",
            "Cash advance",
            "3%",
            "",
            "Page 1 of 3",
        ],
        ["Harbor Bank - Internal", "Annual fee", "The annual fee is waived after six purchases.", "", "Page 2 of 3"],
        ["Harbor Bank - Internal", "Foreign fees", "A fee of 1.5% applies abroad.", "", "Page 3 of 3"],
    ]
    pages[0].insert(6, "Page 7 of 9")  # inside the text: not a footer, kept
    doc = loader.run(write(tmp_path / "fees.pdf", make_pdf(pages)))
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("heading", "Card fees", 1),
        # pypdf gives no blank lines; the short table lines stay text and are not taken for headings
        (
            "paragraph",
            "The fees below apply from 1 January 2026.\nReplacement card\n10\nPage 7 of 9\nCash advance\n3%",
            1,
        ),
        ("heading", "Annual fee", 2),
        ("paragraph", "The annual fee is waived after six purchases.", 2),
        ("heading", "Foreign fees", 3),
        ("paragraph", "A fee of 1.5% applies abroad.", 3),
    ]


@pytest.mark.parametrize(
    ("font", "heading", "body"),
    [
        ("STSong-Light", "提前还款", "贷款满十二个月后可申请提前还款，违约金为剩余本金的百分之一。"),
        ("MSung-Light", "提前還款", "貸款滿十二個月後可申請提前還款，違約金為剩餘本金的百分之一。"),
    ],
)
def test_pdf_chinese_text(tmp_path: Path, loader: DocumentLoader, font: str, heading: str, body: str) -> None:
    doc = loader.run(write(tmp_path / "zh.pdf", make_pdf([[heading, body]], font=font)))
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [("heading", heading, 1), ("paragraph", body, 1)]


def test_pdf_without_text_is_reported_as_scanned(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"scan\.pdf: no extractable text \(scanned PDF\?\)"):
        loader.run(write(tmp_path / "scan.pdf", make_pdf([[]])))


def test_corrupt_pdf(tmp_path: Path, loader: DocumentLoader) -> None:
    good = make_pdf([["Hello world. This is a page."]])
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / "broken.pdf", b"%PDF-1.4\n" + good[400:600]))
    assert err.value.source == "broken.pdf"
    assert err.value.reason.startswith(("corrupt or unreadable PDF", "no extractable text"))


def test_not_a_pdf_at_all(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"fake\.pdf: corrupt or unreadable PDF"):
        loader.run(write(tmp_path / "fake.pdf", "this is plain text pretending to be a PDF"))


def test_encrypted_pdf(tmp_path: Path, loader: DocumentLoader) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf([["Secret statement text."]]))).pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(LoadError, match=r"locked\.pdf: encrypted PDF"):
        loader.run(write(tmp_path / "locked.pdf", buf.getvalue()))
