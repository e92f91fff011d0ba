"""`DocumentLoader`: one document (a file, or the bytes of an upload) → `LoadedDocument`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assist.errors import LoadError, TooLargeError, UnsupportedTypeError
from ingest.limits import IngestLimits
from ingest.loaders import registry
from ingest.loaders.meta import document_title, merge_meta, read_sidecar
from ingest.loaders.registry import parse_content, unsupported_reason
from ingest.loaders.types import LoadedDocument, Parsed, document_text

logger = logging.getLogger(__name__)


class DocumentLoader:
    """Loads one document (a file, or the bytes of an upload) into a `LoadedDocument`.

    Args:
        max_bytes: Reject files larger than this with `TooLargeError`; None for no limit.
        limits: What parsing one document may cost (`IngestLimits`; its defaults when None).
        isolate: Parse in a child process killed at the deadline (`ingest.isolation`); False parses in
            this process, where the deadline is only checked between steps (for tests and tools).
        clock: Monotonic seconds for the in-process deadline checks (tests pass a fake one).

    Example:
        >>> loader = DocumentLoader(max_bytes=20_000_000)
        >>> doc = loader.run(Path("kb_docs/cards/loss.md"), base_dir=Path("kb_docs"))
    """

    SUPPORTED = registry.SUPPORTED  # the suffixes of `ingest.loaders.registry.FORMATS`, in order

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        limits: IngestLimits | None = None,
        isolate: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)):
            raise ValueError(f"max_bytes must be an int or None, got {max_bytes!r}")
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        if limits is not None and not isinstance(limits, IngestLimits):
            raise ValueError(f"limits must be IngestLimits or None, got {limits!r}")
        self.max_bytes = max_bytes
        self.limits = limits or IngestLimits()
        self.isolate = isolate
        self._clock = clock

    def run(
        self,
        path: Path,
        *,
        base_dir: Path | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> LoadedDocument:
        """Load a document.

        Args:
            path: The file. For uploads, any path whose name carries the extension (e.g. Path(filename)).
            base_dir: The folder `source` is relative to; default: the file's own folder.
            data: The content of an upload (then nothing is read from disk and no sidecar is looked for).
            filename: The upload's file name; used for the source, the type and the title fallback.
            meta: Metadata that overrides front matter and sidecar (e.g. HTTP form fields).

        Returns:
            The loaded document.

        Raises:
            UnsupportedTypeError: The extension is not one of `SUPPORTED`.
            TooLargeError: The file exceeds `max_bytes`.
            LimitExceededError: The document is over one of the `limits` (the reason names it).
            LoadError: The file is missing, empty, binary, corrupt or malformed (the reason says which).
        """
        path = Path(path)
        name = Path(filename).name if filename else path.name
        source = self._source_name(path, base_dir, filename)
        file_type = self._file_type(name, source)
        raw = self._read(path, source, data)
        if not raw.strip():
            raise LoadError(source, "empty file")
        sidecar = read_sidecar(path, source) if data is None else {}
        parsed = self._parse(raw, file_type, source)
        merged = merge_meta(sidecar, parsed.meta, meta, source)
        if not parsed.blocks:
            raise LoadError(source, "no text content")
        if merged.get("source"):
            source = str(merged["source"]).strip()
        doc = LoadedDocument(
            source=source,
            title=document_title(merged, parsed.blocks, file_type, parsed.title, name),
            file_type=file_type,
            blocks=parsed.blocks,
            meta=merged,
            text=document_text(parsed.blocks),
            encoding=parsed.encoding,
        )
        logger.info(
            "document loaded",
            extra={"source": source, "file_type": file_type, "blocks": len(doc.blocks), "encoding": doc.encoding},
        )
        return doc

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _source_name(path: Path, base_dir: Path | None, filename: str | None) -> str:
        if filename:
            return Path(filename).name
        if base_dir is not None:
            try:
                return path.resolve().relative_to(Path(base_dir).resolve()).as_posix()
            except ValueError:
                pass
        return path.name

    def _read(self, path: Path, source: str, data: bytes | None) -> bytes:
        if data is not None:
            size = len(data)
        else:
            if not path.is_file():
                raise LoadError(source, "file not found" if not path.exists() else "not a regular file")
            size = path.stat().st_size
        if self.max_bytes is not None and size > self.max_bytes:
            raise TooLargeError(f"{source}: {size} bytes exceeds the limit of {self.max_bytes} bytes")
        if data is not None:
            return data
        try:
            return path.read_bytes()
        except OSError as exc:
            raise LoadError(source, f"cannot read file ({exc.strerror or exc})") from exc

    @staticmethod
    def _file_type(name: str, source: str) -> str:
        suffix = Path(name).suffix.lower()
        fmt = registry.REGISTRY.get(suffix)
        if fmt is None:
            raise UnsupportedTypeError(source, unsupported_reason(suffix))
        return fmt.file_type

    def _parse(self, raw: bytes, file_type: str, source: str) -> Parsed:
        """Parse the bytes in a child process (see `ingest.isolation`), or here if that is off or impossible."""
        if self.isolate:
            from ingest.isolation import IsolationUnavailable, run_isolated

            try:
                parsed: Parsed = run_isolated(
                    parse_content, (raw, file_type, source, self.limits), source=source, limits=self.limits
                )
                return parsed
            except IsolationUnavailable as exc:
                logger.warning("parsing in this process, with deadline checks only", extra={"reason": str(exc)})
        return parse_content(raw, file_type, source, self.limits, clock=self._clock)
