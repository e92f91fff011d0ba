"""The format registry is the one list of supported types: the loader, the upload page and the CLI read it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assist.errors import UnsupportedTypeError
from ingest.loaders import FORMATS, REGISTRY, SUPPORTED, DocumentLoader
from ingest.loaders.registry import help_text
from tests.utils import bombs

ROOT = Path(__file__).resolve().parents[3]

SAMPLES = {
    "md": b"# Card fees\n\nThe gold card costs 300 a year.\n",
    "txt": b"Card fees\n\nThe gold card costs 300 a year.\n",
    "html": b"<h1>Card fees</h1><p>The gold card costs 300 a year.</p>",
    "csv": b"question,answer\nWhat does the gold card cost?,300 a year.\n",
}


def _sample(file_type: str) -> bytes:
    if file_type == "pdf":
        return bombs.many_page_pdf(1)
    if file_type == "docx":
        return bombs.small_docx("The gold card costs 300 a year.")
    return SAMPLES[file_type]


@pytest.mark.parametrize("suffix", SUPPORTED)
def test_every_registered_suffix_loads_as_its_format(tmp_path: Path, suffix: str) -> None:
    fmt = REGISTRY[suffix]
    doc = DocumentLoader(isolate=False).run(Path(f"card{suffix.upper()}"), data=_sample(fmt.file_type))
    assert doc.file_type == fmt.file_type and doc.blocks


def test_suffixes_are_lower_case_dotted_and_belong_to_one_format() -> None:
    every = [suffix for fmt in FORMATS for suffix in fmt.suffixes]
    assert len(every) == len(set(every)) == len(REGISTRY)
    assert all(re.fullmatch(r"\.[a-z0-9]+", suffix) for suffix in every)
    assert len({fmt.file_type for fmt in FORMATS}) == len(FORMATS)


def test_the_loader_supports_exactly_the_registry() -> None:
    assert SUPPORTED == (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".csv")  # in the order shown
    assert DocumentLoader.SUPPORTED == SUPPORTED
    with pytest.raises(UnsupportedTypeError) as err:
        DocumentLoader(isolate=False).run(Path("deck.pptx"), data=b"x")
    assert str(err.value) == f"deck.pptx: unsupported file type '.pptx' (supported: {', '.join(SUPPORTED)})"


def test_the_help_text_names_every_format() -> None:
    assert help_text() == "md, txt, html, pdf, docx, csv FAQ"
    assert help_text().split(", ") == [fmt.label for fmt in FORMATS]


def test_the_upload_page_offers_exactly_the_registered_suffixes() -> None:
    """The file picker's `accept` list is static HTML: this keeps it in step with the registry."""
    page = (ROOT / "assist" / "static" / "editor.html").read_text(encoding="utf-8")
    accept = re.search(r'id="file-input"[^>]*accept="([^"]*)"', page)
    assert accept is not None
    assert tuple(accept.group(1).split(",")) == SUPPORTED
