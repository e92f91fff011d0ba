"""The loader the format tests share: the default one, parsing in the isolated child process."""

from __future__ import annotations

import pytest

from ingest.loaders import DocumentLoader


@pytest.fixture
def loader() -> DocumentLoader:
    return DocumentLoader()
