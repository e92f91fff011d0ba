"""Ingest limits: decompression bombs, many-page PDFs, oversized text and parse-time traps are refused
with an error naming the limit, and nothing of them is stored or served."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from assist.errors import LimitExceededError, LoadError
from assist.models import Chunk, Document
from ingest.isolation import run_isolated
from ingest.limits import IngestLimits, check_archive
from ingest.loaders import DocumentLoader
from tests.factories import make_kb
from tests.utils import bombs


def load(name: str, data: bytes | str, loader: DocumentLoader | None = None):  # type: ignore[no-untyped-def]
    raw = data.encode() if isinstance(data, str) else data
    return (loader or DocumentLoader()).run(Path(name), data=raw, filename=name)


def refused(name: str, data: bytes | str, loader: DocumentLoader | None = None) -> LimitExceededError:
    with pytest.raises(LimitExceededError) as err:
        load(name, data, loader)
    assert err.value.status_code == 413
    assert err.value.source == name
    return err.value


def stored(kb) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with Session(kb.engine) as s:
        docs = s.exec(select(func.count()).select_from(Document)).one()
        chunks = s.exec(select(func.count()).select_from(Chunk)).one()
    return docs, chunks, len(kb.index)


# ------------------------------------------------------------------------------------------ archives


def test_the_reported_docx_bomb_is_refused_before_it_is_parsed_and_nothing_is_stored(_isolated_data_dir: Path) -> None:
    # the reproducer: ~60-100 KB on disk, 20 MB of XML inside; it ran 125 s and published 2,511 chunks
    bomb = bombs.docx_bomb(20_000_000)
    assert len(bomb) < 150_000
    kb = make_kb(_isolated_data_dir)
    with pytest.raises(LimitExceededError) as err:
        kb.ingest_upload(data=bomb, filename="bomb.docx")
    assert str(err.value).startswith("bomb.docx: archive entry 'word/document.xml' is compressed ")
    assert str(err.value).endswith(":1, over the limit of 100:1 (ASSIST_MAX_COMPRESSION_RATIO)")
    assert err.value.limit == "ASSIST_MAX_COMPRESSION_RATIO"
    assert stored(kb) == (0, 0, 0)


def test_an_entry_over_the_part_size_is_refused_whatever_its_ratio() -> None:
    err = refused("big.docx", bombs.docx_bomb(30_000_000))
    assert "archive entry 'word/document.xml' expands to 28.6 MB" in err.reason
    assert err.reason.endswith("over the limit of 20 MB (ASSIST_MAX_DECOMPRESSED_PART_MB)")


def test_a_huge_ratio_in_any_entry_is_refused() -> None:
    # a stray entry nothing reads still counts: a zip bomb is refused for what it is
    err = refused("zeros.docx", bombs.docx_with({"customXml/zeros.bin": b"\0" * 5_000_000}))
    assert err.reason.startswith("archive entry 'customXml/zeros.bin' is compressed ")
    assert err.limit == "ASSIST_MAX_COMPRESSION_RATIO"


def test_too_many_entries_and_too_much_in_total_are_refused() -> None:
    many = bombs.docx_with({f"word/media/x{i}.bin": b"x" for i in range(1_001)})
    err = refused("many.docx", many)
    assert "the archive has 1,0" in err.reason and err.reason.endswith("(ASSIST_MAX_ZIP_ENTRIES)")

    limits = IngestLimits(max_decompressed_mb=3, max_decompressed_part_mb=2)
    noise = random.Random(0)
    total = bombs.zip_of({f"part{i}.bin": noise.randbytes(1 << 20) for i in range(3)})  # 1 MB each, ratio ~1
    with pytest.raises(
        LimitExceededError, match=r"the archive expands to at least 3\.0 MB.*ASSIST_MAX_DECOMPRESSED_MB"
    ):
        check_archive(total, limits=IngestLimits(max_decompressed_mb=2.5, max_decompressed_part_mb=2), source="t")
    check_archive(total, limits=limits, source="t")  # 3 MB is within a 3 MB limit


def test_nested_archives_are_refused_except_office_embedded_objects_which_are_checked_too() -> None:
    inner = bombs.zip_of({"a.txt": b"hello"})
    err = refused("nested.docx", bombs.docx_with({"word/media/payload.bin": inner}))
    assert "archive entry 'word/media/payload.bin' is itself an archive" in err.reason
    assert err.limit == "nested archives"

    # an Excel sheet behind a chart is an archive inside the DOCX: allowed, and held to the same limits
    chart = bombs.zip_of({"xl/worksheets/sheet1.xml": b"<sheet/>"})
    doc = load("chart.docx", bombs.docx_with({"word/embeddings/Microsoft_Excel_Worksheet.xlsx": chart}))
    assert "A short policy paragraph." in doc.text
    zeros = bombs.zip_of({"xl/zeros.bin": b"\0" * 5_000_000})
    err = refused("chart.docx", bombs.docx_with({"word/embeddings/sheet.xlsx": zeros}))
    assert "archive entry 'word/embeddings/sheet.xlsx!/xl/zeros.bin' is compressed" in err.reason
    deeper = bombs.zip_of({"inner.zip": inner})
    err = refused("deep.docx", bombs.docx_with({"word/embeddings/sheet.xlsx": deeper}))
    assert "'word/embeddings/sheet.xlsx!/inner.zip' is itself an archive" in err.reason


def test_a_plain_docx_still_loads() -> None:
    doc = load("fine.docx", bombs.small_docx("Replacement cards cost 10 dollars."))
    assert doc.title == "Card fees" and "Replacement cards cost 10 dollars." in doc.text


# ----------------------------------------------------------------------------------------------- PDF


def test_a_pdf_with_too_many_pages_is_refused_before_its_text_is_extracted(_isolated_data_dir: Path) -> None:
    pdf = bombs.many_page_pdf(2_000)
    kb = make_kb(_isolated_data_dir)
    with pytest.raises(LimitExceededError) as err:
        kb.ingest_upload(data=pdf, filename="statement.pdf")
    assert str(err.value) == (
        "statement.pdf: the PDF has 2,000 pages, over the limit of 500 pages (ASSIST_MAX_PDF_PAGES)"
    )
    assert stored(kb) == (0, 0, 0)


def test_a_pdf_whose_text_is_too_long_is_refused() -> None:
    limits = IngestLimits(max_extracted_chars=2_000)
    err = refused("long.pdf", bombs.many_page_pdf(60), DocumentLoader(limits=limits))
    assert err.reason.endswith("over the limit of 2,000 characters (ASSIST_MAX_EXTRACTED_CHARS)")


def test_a_pdf_stream_that_expands_past_the_part_size_is_refused() -> None:
    pdf = bombs.pdf_with_a_big_stream(3_000_000)
    assert len(pdf) < 20_000
    limits = IngestLimits(max_decompressed_part_mb=1, max_decompressed_mb=2)
    err = refused("padded.pdf", pdf, DocumentLoader(limits=limits))
    assert err.reason == (
        "a stream of the PDF expands to more than allowed, over the limit of 1 MB (ASSIST_MAX_DECOMPRESSED_PART_MB)"
    )
    assert load("padded.pdf", pdf).text == "Card fees apply."  # within the default 20 MB


# --------------------------------------------------------------------------------------- text formats


def test_a_table_that_multiplies_its_header_is_refused_by_extracted_size(_isolated_data_dir: Path) -> None:
    # 90 KB of Markdown; each of its 100 rows repeats 30 KB of column names: 3 MB of text, 6,000+ chunks
    md = bombs.wide_table_markdown()
    assert len(md) < 100_000
    kb = make_kb(_isolated_data_dir)
    with pytest.raises(LimitExceededError) as err:
        kb.ingest_upload(data=md.encode(), filename="wide.md")
    assert err.value.reason.startswith("the extracted text reached ")
    assert err.value.reason.endswith("over the limit of 1,000,000 characters (ASSIST_MAX_EXTRACTED_CHARS)")
    assert stored(kb) == (0, 0, 0)


def test_a_document_that_makes_too_many_chunks_is_refused_and_nothing_is_stored(_isolated_data_dir: Path) -> None:
    md = "# Many sections\n\n" + "".join(f"## Section {i}\n\nRule {i} applies here.\n\n" for i in range(2_100))
    assert len(md) < 1_000_000
    kb = make_kb(_isolated_data_dir)
    with pytest.raises(LimitExceededError) as err:
        kb.ingest_upload(data=md.encode(), filename="sections.md")
    assert str(err.value) == (
        "sections.md: the document makes 2,100 chunks, over the limit of 2,000 chunks (ASSIST_MAX_CHUNKS_PER_DOCUMENT)"
    )
    assert stored(kb) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("long.md", "# Long\n\n" + "Plain words make a long text. " * 40_000),
        ("lines.md", "# Long\n\n" + "Plain words make a long text.\n" * 40_000),
        ("long.txt", "Plain words make a long text.\n" * 40_000),
        ("long.html", "<p>" + "Plain words make a long text. " * 40_000 + "</p>"),
    ],
    ids=["md-one-line", "md-lines", "txt", "html"],
)
def test_oversized_text_is_refused_in_every_format(name: str, content: str) -> None:
    err = refused(name, content)
    assert err.reason.startswith("the extracted text reached 1,")
    assert err.reason.endswith("characters, over the limit of 1,000,000 characters (ASSIST_MAX_EXTRACTED_CHARS)")


def test_csv_fields_and_rows_are_bounded(_isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge_answer = "question,answer\nWhat is the fee?," + "ten dollars " * 8_000 + "\n"  # 96,000 characters
    err = refused("faq.csv", huge_answer)
    assert err.reason == (
        "the CSV field ending on line 2 is too long, over the limit of 65,536 characters (ASSIST_MAX_CSV_FIELD_CHARS)"
    )

    monkeypatch.setenv("ASSIST_MAX_CSV_ROWS", "100")
    kb = make_kb(_isolated_data_dir)
    rows = "question,answer\n" + "".join(f"Question {i}?,Answer {i}.\n" for i in range(150))
    with pytest.raises(LimitExceededError) as err2:
        kb.ingest_upload(data=rows.encode(), filename="faq.csv")
    assert err2.value.reason == "the CSV has at least 101 rows, over the limit of 100 rows (ASSIST_MAX_CSV_ROWS)"
    assert stored(kb) == (0, 0, 0)
    ok = "question,answer\n" + "".join(f"Question {i}?,Answer {i}.\n" for i in range(100))
    assert kb.ingest_upload(data=ok.encode(), filename="faq.csv").chunks == 100


def test_html_nesting_is_bounded_but_unclosed_optional_tags_do_not_count() -> None:
    err = refused("deep.html", "<div>" * 300 + "text" + "</div>" * 300)
    assert err.reason == "HTML elements nest more than 256 deep, over the limit of 256 levels (ASSIST_MAX_HTML_DEPTH)"
    doc = load("sloppy.html", "<ul>" + "<li><p>item" * 1_000 + "</ul>")
    assert doc.text.count("item") == 1_000


def test_front_matter_aliases_are_refused() -> None:
    # 10^6 strings once expanded: hashed, stored and returned with the document's metadata
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    md = "---\n" + "\n".join(levels) + "\n---\n# Title\n\nBody text.\n"
    with pytest.raises(
        LoadError, match=r"laughs\.md: invalid YAML in front matter: aliases \(\*name\) are not allowed"
    ):
        load("laughs.md", md)
    with pytest.raises(LoadError, match=r"deep\.md: invalid YAML in front matter"):
        load("deep.md", "---\na: " + "[" * 5_000 + "\n---\n# T\n\nBody.\n")


# ----------------------------------------------------------------------------------------- parse time


def test_the_deadline_is_checked_inside_the_loaders_loops() -> None:
    ticks = itertools.count()
    loader = DocumentLoader(limits=IngestLimits(max_parse_seconds=50), isolate=False, clock=lambda: next(ticks))
    err = refused("slow.md", "# Title\n\n" + "A line of text.\n\n" * 100, loader)
    assert err.reason == "parsing took longer than allowed, over the limit of 50 s (ASSIST_MAX_PARSE_SECONDS)"
    ticks = itertools.count()
    assert load("fast.md", "# Title\n\nA line of text.\n", loader).title == "Title"


def test_a_parse_stuck_inside_one_call_is_killed_at_the_deadline() -> None:
    # a call that never returns to any loop of ours: only killing the parsing process stops it
    limits = IngestLimits(max_parse_seconds=1)
    with pytest.raises(LimitExceededError) as err:
        run_isolated(time.sleep, (3_600,), source="stuck.html", limits=limits)
    assert str(err.value) == (
        "stuck.html: parsing took longer than allowed, over the limit of 1 s (ASSIST_MAX_PARSE_SECONDS)"
    )


def test_html_that_trapped_the_standard_parser_loads_within_the_budget() -> None:
    # html.parser spent over two minutes on these 60 KB of unterminated start tags (2 s budget here)
    doc = load("trap.html", "<p>Fees</p>" + "<a " * 20_000, DocumentLoader(limits=IngestLimits(max_parse_seconds=2)))
    assert doc.text == "Fees"


def test_the_parsing_process_is_held_to_its_memory_limit() -> None:
    limits = IngestLimits(max_parse_memory_mb=64)
    with pytest.raises(LimitExceededError) as err:
        run_isolated(bytearray, (256 * 1024 * 1024,), source="greedy.pdf", limits=limits)
    assert str(err.value) == (
        "greedy.pdf: parsing needed more memory than allowed, over the limit of 64 MB (ASSIST_MAX_PARSE_MEMORY_MB)"
    )
    assert len(run_isolated(bytearray, (16 * 1024 * 1024,), source="fine.pdf", limits=limits)) == 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("# a" + " " * 20_000 + "x", "a x"),  # the ATX heading pattern backtracked cubically (5,000 spaces: 134 s)
        ("**a " * 5_000, "**a **a"),  # unclosed emphasis: each marker scanned the rest of the line
        ("![a" * 5_000, "![a![a"),
        ("<!--" * 100_000, "<!--<!--"),  # unclosed comments: each scanned the rest of the file
    ],
    ids=["heading-spaces", "emphasis", "images", "comments"],
)
def test_markdown_lines_that_made_the_patterns_backtrack_load_within_the_budget(line: str, kept: str) -> None:
    loader = DocumentLoader(limits=IngestLimits(max_parse_seconds=20))
    doc = load("odd.md", "# Title\n\n" + line + "\n", loader)
    assert doc.title == "Title" and kept in doc.text


def test_the_heading_pattern_still_reads_headings_as_before() -> None:
    # the same blocks as the regex it replaces gave
    md = "# One #\n\n## Two ##   \n\n####### seven\n\n#hashtag\n\n### \n\n## # #\n\nBody.\n"
    doc = load("h.md", md)
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "One", 1),
        ("heading", "Two", 2),
        ("paragraph", "####### seven", 0),
        ("paragraph", "#hashtag", 0),
        ("heading", "#", 2),
        ("paragraph", "Body.", 0),
    ]


# ------------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("ASSIST_MAX_PARSE_SECONDS", "0", "ASSIST_MAX_PARSE_SECONDS must be a positive finite number"),
        ("ASSIST_MAX_PARSE_SECONDS", "nan", "ASSIST_MAX_PARSE_SECONDS must be a positive finite number"),
        ("ASSIST_MAX_PARSE_SECONDS", "86400", "ASSIST_MAX_PARSE_SECONDS must be at most 3,600"),
        ("ASSIST_MAX_PDF_PAGES", "-1", "ASSIST_MAX_PDF_PAGES must be a positive finite number"),
        ("ASSIST_MAX_CHUNKS_PER_DOCUMENT", "0", "ASSIST_MAX_CHUNKS_PER_DOCUMENT must be a positive"),
        ("ASSIST_MAX_COMPRESSION_RATIO", "0.5", "ASSIST_MAX_COMPRESSION_RATIO must be at least 1"),
        ("ASSIST_MAX_DECOMPRESSED_PART_MB", "500", r"cannot be above ASSIST_MAX_DECOMPRESSED_MB \(100\)"),
        ("ASSIST_MAX_CSV_FIELD_CHARS", "99999999999", "ASSIST_MAX_CSV_FIELD_CHARS must be at most"),
    ],
)
def test_settings_refuse_nonsense_limits(monkeypatch: pytest.MonkeyPatch, env: str, value: str, message: str) -> None:
    from pydantic import ValidationError

    from assist.config import Settings

    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_settings_reach_the_loader(_isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_MAX_PDF_PAGES", "3")
    monkeypatch.setenv("ASSIST_MAX_EXTRACTED_CHARS", "5000")
    kb = make_kb(_isolated_data_dir)
    limits = kb.pipeline.loader.limits
    assert (limits.max_pdf_pages, limits.max_extracted_chars, limits.max_chunks_per_document) == (3, 5000, 2000)
