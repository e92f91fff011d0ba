"""Metadata: sidecars, their precedence over front matter, caller fields, and bad sidecar YAML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import DocumentLoader
from tests.utils.documents import make_pdf, write


def test_sidecar_metadata_and_precedence(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "fund.md", "---\nproduct: fund\n---\n# 基金\n\n申购费率为1.5%。")
    write(tmp_path / "fund.md.meta.yaml", "product: wealth\nlanguage: zh-Hans\neffective_to: 2030-01-01\n")
    pdf = write(tmp_path / "fund.pdf", make_pdf([["Fund fees", "Subscription fee is 1.5%."]]))
    write(tmp_path / "fund.pdf.meta.yaml", "product: fund\ntags: [fees]\n")

    md_doc = loader.run(md)
    assert md_doc.meta == {"product": "fund", "language": "zh-Hans", "effective_to": dt.date(2030, 1, 1)}
    assert loader.run(pdf).meta == {"product": "fund", "tags": ["fees"]}
    overridden = loader.run(md, meta={"product": "bond", "title": "", "effective_from": "2024-06-01"})
    assert overridden.meta["product"] == "bond"
    assert overridden.meta["effective_from"] == dt.date(2024, 6, 1)
    assert overridden.title == "基金"  # an empty form field does not blank the title


def test_bad_sidecar_yaml(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "a.md", "# A\n\ntext.")
    write(tmp_path / "a.md.meta.yaml", "product: [oops\n")
    with pytest.raises(LoadError, match=r"^a\.md: invalid YAML in a\.md\.meta\.yaml"):
        loader.run(md)
