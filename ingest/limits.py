"""What one document may cost to ingest: decompression, pages, parse time and memory, text and chunks.

Every loader works inside these limits (`IngestLimits`, filled from the ASSIST_* settings of the same
names). A document over any of them is refused with `LimitExceededError` (HTTP 413), whose reason names
the limit and its setting, and nothing of it is stored:

- archives (DOCX) are checked from their central directory before anything is decompressed
  (`check_archive`): entry count, size of each entry, total size, compression ratio, nested archives;
- PDFs: page count; every decompressed stream is capped by pypdf at the per-part size;
- every format: the extracted text (`ParseBudget.spend`, counted while it is produced), the parse time
  (`ParseBudget.check_time`, checked in the loaders' loops; the loader also runs the parse in a child
  process that is killed at the deadline, see `ingest.isolation`) and, in that child, the memory;
- the chunk count is checked by the pipeline, after chunking and before anything is embedded.
"""

from __future__ import annotations

import io
import math
import struct
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from assist.errors import LimitExceededError, LoadError

MB = 1024 * 1024
# Entries smaller than this are not held to the compression ratio: small XML parts (styles, settings)
# compress far better than 100:1 and cost nothing to expand.
RATIO_CHECK_FLOOR = 1 * MB
# Office puts embedded objects (an Excel sheet behind a chart, a Word document) here, as archives of their own.
OFFICE_EMBEDDINGS = ("word/embeddings/",)
_ZIP_MAGIC = b"PK\x03\x04"
_ARCHIVE_SUFFIXES = (".zip", ".jar", ".7z", ".rar", ".tar", ".tgz", ".docx", ".docm", ".xlsx", ".xlsm", ".pptx")
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_CD_ENTRY_MAX_BYTES = 4096  # a central-directory record is 46 bytes plus a name, extra field and comment


@dataclass(frozen=True)
class IngestLimits:
    """The limits one document is held to; every field is also an ASSIST_<FIELD> setting.

    Attributes:
        max_extracted_chars: Characters of text a document may yield (after markup is removed).
        max_chunks_per_document: Chunks a document may be split into.
        max_parse_seconds: Wall-clock time to decompress and parse one document.
        max_parse_memory_mb: Memory the parsing child process may take on top of what it starts with.
        max_decompressed_mb: Bytes an archive (DOCX) may expand to, all entries together.
        max_decompressed_part_mb: Bytes one archive entry or one PDF stream may expand to.
        max_compression_ratio: Uncompressed to compressed size of one archive entry (from 1 MB up).
        max_zip_entries: Entries in an archive.
        max_pdf_pages: Pages in a PDF.
        max_csv_rows: Data rows in a CSV.
        max_csv_field_chars: Characters in one CSV field.
        max_html_depth: Nesting depth of HTML elements (tags whose end tag is optional are not counted).
    """

    max_extracted_chars: int = 1_000_000
    max_chunks_per_document: int = 2_000
    max_parse_seconds: float = 60.0
    max_parse_memory_mb: float = 1024.0
    max_decompressed_mb: float = 100.0
    max_decompressed_part_mb: float = 20.0
    max_compression_ratio: float = 100.0
    max_zip_entries: int = 1_000
    max_pdf_pages: int = 500
    max_csv_rows: int = 50_000
    max_csv_field_chars: int = 65_536
    max_html_depth: int = 256

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{setting_name(f.name)} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{setting_name(f.name)} must be a positive finite number, got {value!r}")
            if f.type in ("int", int) and value != int(value):
                raise ValueError(f"{setting_name(f.name)} must be a whole number, got {value!r}")
            ceiling = _CEILINGS.get(f.name, _MAX_COUNT)
            if value > ceiling:
                raise ValueError(f"{setting_name(f.name)} must be at most {ceiling:,}, got {value!r}")
        if self.max_compression_ratio < 1:
            raise ValueError(f"ASSIST_MAX_COMPRESSION_RATIO must be at least 1, got {self.max_compression_ratio}")
        if self.max_decompressed_part_mb > self.max_decompressed_mb:
            raise ValueError(
                f"ASSIST_MAX_DECOMPRESSED_PART_MB ({self.max_decompressed_part_mb:g}) cannot be above "
                f"ASSIST_MAX_DECOMPRESSED_MB ({self.max_decompressed_mb:g})"
            )

    @classmethod
    def from_settings(cls, settings: Any) -> IngestLimits:
        """The limits from an object with attributes of the same names (the app's `Settings`)."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    @property
    def part_bytes(self) -> int:
        return int(self.max_decompressed_part_mb * MB)

    @property
    def total_bytes(self) -> int:
        return int(self.max_decompressed_mb * MB)


_MAX_COUNT = 2**31 - 1  # what the C code behind csv.field_size_limit and friends accepts
_CEILINGS = {"max_parse_seconds": 3600, "max_parse_memory_mb": 1 << 20, "max_decompressed_mb": 1 << 20}


def setting_name(field: str) -> str:
    """The environment variable of a limit: `max_pdf_pages` → `ASSIST_MAX_PDF_PAGES`."""
    return f"ASSIST_{field.upper()}"


_UNITS = {
    "max_extracted_chars": "characters",
    "max_chunks_per_document": "chunks",
    "max_parse_seconds": "s",
    "max_parse_memory_mb": "MB",
    "max_decompressed_mb": "MB",
    "max_decompressed_part_mb": "MB",
    "max_zip_entries": "entries",
    "max_pdf_pages": "pages",
    "max_csv_rows": "rows",
    "max_csv_field_chars": "characters",
    "max_html_depth": "levels",
}


def refusal(source: str, limits: IngestLimits, field: str, what: str) -> LimitExceededError:
    """`LimitExceededError` for `what` (e.g. "the PDF has 900 pages"), naming the limit and its setting."""
    value = getattr(limits, field)
    shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    limit = f"{shown}:1" if field == "max_compression_ratio" else f"{shown} {_UNITS[field]}"
    name = setting_name(field)
    return LimitExceededError(source, f"{what}, over the limit of {limit} ({name})", limit=name)


class ParseBudget:
    """The time and text one parse may use; the loaders call it from their loops.

    Args:
        limits: The limits.
        source: The document's name, for the messages.
        clock: Seconds as a float, monotonic (tests pass a fake one).
    """

    def __init__(self, limits: IngestLimits, source: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.source = source
        self._clock = clock
        self._deadline = clock() + limits.max_parse_seconds
        self.chars = 0

    def check_time(self) -> None:
        """Raise once the parse has run longer than `max_parse_seconds`."""
        if self._clock() > self._deadline:
            raise self.timeout()

    def timeout(self) -> LimitExceededError:
        return refusal(self.source, self.limits, "max_parse_seconds", "parsing took longer than allowed")

    def spend(self, chars: int) -> None:
        """Count `chars` of extracted text; raise once the document's text is over `max_extracted_chars`."""
        self.chars += chars
        if self.chars > self.limits.max_extracted_chars:
            raise refusal(
                self.source,
                self.limits,
                "max_extracted_chars",
                f"the extracted text reached {self.chars:,} characters",
            )
        self.check_time()

    def refuse(self, field: str, what: str) -> LimitExceededError:
        return refusal(self.source, self.limits, field, what)


# --------------------------------------------------------------------------------------------------
# Archives


def _central_directory(raw: bytes) -> tuple[int, int] | None:
    """(entries, central directory bytes) from the end-of-central-directory record; None if there is none."""
    tail = raw[-(_EOCD_SIZE + 0xFFFF) :]
    pos = tail.rfind(_EOCD)
    if pos < 0 or len(tail) - pos < _EOCD_SIZE:
        return None
    _sig, _disk, _cd_disk, _here, entries, cd_size, _offset, _comment = struct.unpack(
        "<4s4H2LH", tail[pos : pos + _EOCD_SIZE]
    )
    return entries, cd_size


def _is_archive(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if info.filename.lower().endswith(_ARCHIVE_SUFFIXES):
        return True
    if info.file_size < len(_ZIP_MAGIC):
        return False
    with zf.open(info) as fh:
        return fh.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC


def check_archive(raw: bytes, *, limits: IngestLimits, source: str, kind: str = "DOCX") -> None:
    """Refuse a zip-based document whose entries would expand past the limits, before any is decompressed.

    The sizes come from the central directory. Python's zipfile never yields more than an entry's declared
    size (a lying header fails its CRC check instead), so the declared sizes bound what a parser can
    expand. Office embedded objects (archives under word/embeddings/) are checked one level down with
    the same limits, their entries counted into the totals; any other archive inside is refused.

    Raises:
        LimitExceededError: Too many entries, an entry or the whole too large, a ratio too high, or a
            nested archive.
        LoadError: Not a readable zip archive.
    """
    _check_zip(raw, limits=limits, source=source, kind=kind, total=0, outer="")


def _check_zip(raw: bytes, *, limits: IngestLimits, source: str, kind: str, total: int, outer: str) -> int:
    """Check one archive (`outer` names it when it sits inside another); returns the running total size."""
    which = f"the archive {outer}" if outer else "the archive"
    found = _central_directory(raw)
    if found is not None:
        entries, cd_size = found
        if entries > limits.max_zip_entries or cd_size > limits.max_zip_entries * _CD_ENTRY_MAX_BYTES:
            shown = f"{entries:,} entries" if entries > limits.max_zip_entries else f"a {cd_size:,}-byte directory"
            raise refusal(source, limits, "max_zip_entries", f"{which} has {shown}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise LoadError(source, f"corrupt or unreadable {kind} ({reason})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_entries:
            raise refusal(source, limits, "max_zip_entries", f"{which} has {len(infos):,} entries")
        for info in infos:
            name = f"{outer}!/{info.filename}" if outer else info.filename
            if info.file_size > limits.part_bytes:
                raise refusal(
                    source,
                    limits,
                    "max_decompressed_part_mb",
                    f"archive entry '{name}' expands to {info.file_size / MB:,.1f} MB",
                )
            total += info.file_size
            if total > limits.total_bytes:
                raise refusal(
                    source, limits, "max_decompressed_mb", f"the archive expands to at least {total / MB:,.1f} MB"
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= RATIO_CHECK_FLOOR and ratio > limits.max_compression_ratio:
                raise refusal(
                    source,
                    limits,
                    "max_compression_ratio",
                    f"archive entry '{name}' is compressed {ratio:,.0f}:1",
                )
            if info.is_dir() or not _is_archive(zf, info):
                continue
            if outer or not info.filename.startswith(OFFICE_EMBEDDINGS):
                raise LimitExceededError(
                    source,
                    f"archive entry '{name}' is itself an archive; nested archives are not accepted "
                    f"(only Office embedded objects under {OFFICE_EMBEDDINGS[0]}, one level deep)",
                    limit="nested archives",
                )
            total = _check_zip(
                zf.read(info),
                limits=limits,
                source=source,
                kind=kind,
                total=total,
                outer=info.filename,
            )
    return total


__all__ = ["IngestLimits", "ParseBudget", "check_archive", "refusal", "setting_name"]
