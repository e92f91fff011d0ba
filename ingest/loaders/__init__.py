"""Document loaders: Markdown, plain text, HTML, PDF, DOCX and FAQ CSV → `LoadedDocument` (a list of blocks).

Every loader returns the same shape: headings (with a level), paragraphs (with a 1-based page for PDFs)
and FAQ question/answer pairs, plus metadata from YAML front matter or an `X.meta.yaml` sidecar.

Text formats (md, txt, html, csv) go through one encoding detector (`encoding`): UTF-8 (with or without
BOM) is tried first and strictly; anything else is left to charset-normalizer, with a bias towards the
Chinese code pages a bank in the region actually receives (GB18030 for the GB family, Big5 for
Traditional Chinese).

Every error names the file: `LoadError(source, reason)`, `UnsupportedTypeError(source, reason)`,
`TooLargeError("<source>: <n> bytes exceeds the limit of <max> bytes")` or, for a document over one of
the `IngestLimits` (decompressed size, pages, text, parse time or memory), `LimitExceededError` naming
the limit and its setting (the errors are those of `assist.errors`). The parse itself runs in a child
process (`ingest.isolation`) that is killed at the deadline.

Modules: `loader` (DocumentLoader), `registry` (the formats: suffix → parser), one per format (`markdown`,
`plaintext`, `html`, `pdf`, `docx`, `faq_csv`), `encoding`, `meta` (front matter, sidecars, defaults),
`lines` (line helpers the parsers share), `types` (Block, LoadedDocument, Parsed) and `walk`
(iter_document_paths).
"""

from ingest.loaders.encoding import decode_bytes
from ingest.loaders.loader import DocumentLoader
from ingest.loaders.registry import FORMATS, REGISTRY, SUPPORTED, Format
from ingest.loaders.types import Block, LoadedDocument
from ingest.loaders.walk import iter_document_paths

__all__ = [
    "FORMATS",
    "REGISTRY",
    "SUPPORTED",
    "Block",
    "DocumentLoader",
    "Format",
    "LoadedDocument",
    "decode_bytes",
    "iter_document_paths",
]
