"""FAQ CSV → question/answer blocks: the columns are found by their (English or Chinese) header, the
delimiter from the header line; a `section` column adds headings; incomplete rows are skipped and counted."""

from __future__ import annotations

import csv
import io
import logging
import threading

from assist.errors import LoadError
from ingest.limits import ParseBudget
from ingest.loaders.encoding import decode_document
from ingest.loaders.lines import clean_line
from ingest.loaders.types import Block, Parsed

logger = logging.getLogger(__name__)


def parse(raw: bytes, source: str, budget: ParseBudget) -> Parsed:
    """A FAQ CSV's bytes → its question/answer blocks; `skipped_rows` in the metadata counts incomplete rows."""
    text, encoding = decode_document(raw, source, budget)
    parsed = Parsed([], encoding=encoding)
    parsed.blocks, skipped = _parse_faq_csv(text, source, budget=budget)
    if skipped:
        parsed.meta["skipped_rows"] = skipped
    if not parsed.blocks:
        raise LoadError(source, "FAQ CSV has no rows with both a question and an answer")
    return parsed


_QUESTION_COLUMNS = {"question", "questions", "q", "问题", "問題", "提问", "提問"}
_ANSWER_COLUMNS = {"answer", "answers", "a", "答案", "回答", "答复", "答覆"}
_SECTION_COLUMNS = {"section", "category", "分类", "分類", "类别", "類別", "章节", "章節"}


def _csv_cell(row: list[str], idx: int | None) -> str:
    return clean_line(row[idx]) if idx is not None and idx < len(row) else ""


_CSV_LIMIT_LOCK = threading.Lock()


def _read_csv_rows(text: str, delimiter: str, source: str, budget: ParseBudget) -> list[list[str]]:
    """The non-blank rows, at most `max_csv_rows` after the header, no field over `max_csv_field_chars`.

    `csv.field_size_limit` is process-wide: it is set for this parse and restored, under a lock.
    """
    limits = budget.limits
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    with _CSV_LIMIT_LOCK:
        previous = csv.field_size_limit(limits.max_csv_field_chars)
        try:
            for row in reader:
                budget.check_time()
                if not any(c.strip() for c in row):
                    continue
                if len(rows) > limits.max_csv_rows:  # the header and max_csv_rows rows are in already
                    raise budget.refuse("max_csv_rows", f"the CSV has at least {len(rows):,} rows")
                rows.append(row)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise budget.refuse(
                    "max_csv_field_chars", f"the CSV field ending on line {reader.line_num} is too long"
                ) from exc
            raise LoadError(source, f"malformed CSV ({exc})") from exc
        finally:
            csv.field_size_limit(previous)
    return rows


def _parse_faq_csv(text: str, source: str, *, budget: ParseBudget) -> tuple[list[Block], int]:
    """Rows of a question/answer CSV → "qa" blocks; a `section` column adds headings when it changes.

    Returns:
        (blocks, number of skipped incomplete rows).
    """
    # The header defines the columns, so it alone decides the delimiter (answers are full of commas
    # and semicolons, which can fool csv.Sniffer); a tie goes to the comma.
    header_line = next((line for line in text.split("\n") if line.strip()), "")
    delimiter = max(",\t;", key=lambda d: (header_line.count(d), d == ","))
    rows = _read_csv_rows(text, delimiter, source, budget)
    if not rows:
        raise LoadError(source, "empty file")
    header = [h.strip().lower() for h in rows[0]]

    def find(names: set[str]) -> int | None:
        for idx, name in enumerate(header):
            if name in names:
                return idx
        return None

    q_idx, a_idx, s_idx = find(_QUESTION_COLUMNS), find(_ANSWER_COLUMNS), find(_SECTION_COLUMNS)
    missing = [name for name, idx in (("question", q_idx), ("answer", a_idx)) if idx is None]
    if missing or q_idx is None or a_idx is None:
        raise LoadError(
            source,
            f"FAQ CSV is missing the {' and '.join(repr(m) for m in missing)} column (header: {', '.join(rows[0])})",
        )
    blocks: list[Block] = []
    skipped = 0
    section = ""
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) > len(header) and a_idx == len(header) - 1:
            row = [*row[:a_idx], delimiter.join(row[a_idx:])]  # an unquoted last answer with commas
        question, answer, row_section = (_csv_cell(row, idx) for idx in (q_idx, a_idx, s_idx))
        if not question or not answer:
            skipped += 1
            logger.warning("FAQ row skipped: no question or answer", extra={"source": source, "row": line_no})
            continue
        if row_section and row_section != section:
            budget.spend(len(row_section))
            blocks.append(Block("heading", row_section, level=1))
        section = row_section or section
        budget.spend(len(question) + len(answer))
        blocks.append(Block("qa", answer, question=question))
    return blocks, skipped
