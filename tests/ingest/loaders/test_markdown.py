"""Markdown: front matter, headings, paragraphs, inline syntax and the title fallbacks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assist.errors import LoadError
from ingest.loaders import Block, DocumentLoader
from tests.utils.documents import write


def test_markdown_front_matter_headings_and_paragraphs(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(
        tmp_path / "kb" / "cards" / "loss.md",
        "---\n"
        "title: 信用卡挂失与补卡\n"
        "product: credit_card\n"
        "tags: [卡片, 挂失]\n"
        "effective_from: 2024-01-01\n"
        "effective_to: '2025-12-31'\n"
        "next_steps: verify_identity, freeze_card\n"
        "---\n"
        "# 信用卡挂失与补卡\n\n"
        "## 挂失流程\n"
        "请**立即**拨打[客服热线](tel:95588)挂失，\n"
        "挂失后卡片即时冻结。\n\n"
        "- 第一步：核实身份\n"
        "- 第二步：冻结卡片\n\n"
        "### 补卡\n"
        "| 项目 | 费用 |\n|---|---|\n| 补卡 | 10元 |\n\n"
        "```\n# not a heading inside a code fence\n```\n",
    )
    doc = loader.run(md, base_dir=tmp_path / "kb")

    assert doc.source == "cards/loss.md"
    assert doc.title == "信用卡挂失与补卡"
    assert doc.file_type == "md"
    assert doc.encoding == "utf-8"
    assert doc.meta["product"] == "credit_card"
    assert doc.meta["tags"] == ["卡片", "挂失"]
    assert doc.meta["effective_from"] == dt.date(2024, 1, 1)
    assert doc.meta["effective_to"] == dt.date(2025, 12, 31)
    assert doc.meta["next_steps"] == ["verify_identity", "freeze_card"]
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [
        ("信用卡挂失与补卡", 1),
        ("挂失流程", 2),
        ("补卡", 3),
    ]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs[0] == "请立即拨打客服热线挂失，挂失后卡片即时冻结。"  # emphasis and link syntax gone
    assert paragraphs[1] == "- 第一步：核实身份\n- 第二步：冻结卡片"  # list items stay in one paragraph
    assert paragraphs[2] == "| 项目：补卡 | 费用：10元 |"  # a table row names its columns; the header row goes
    assert paragraphs[3] == "# not a heading inside a code fence"
    assert "挂失流程" in doc.text and "费用：10元" in doc.text


def test_markdown_title_falls_back_to_first_heading_then_stem(tmp_path: Path, loader: DocumentLoader) -> None:
    with_heading = write(tmp_path / "fees.md", "Intro line.\n\n## Annual fees\n\nThe annual fee is waived.")
    without = write(tmp_path / "deposit-insurance.md", "Deposits are insured up to 500,000 yuan.")
    assert loader.run(with_heading).title == "Annual fees"
    assert loader.run(without).title == "deposit-insurance"


def test_markdown_front_matter_source_overrides_path(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "v2" / "fees.md", "---\nsource: cards/fees\n---\n# Fees\n\nNo annual fee.")
    assert loader.run(md, base_dir=tmp_path).source == "cards/fees"


def test_markdown_english_emphasis_and_links_light(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(
        tmp_path / "a.md",
        "# Disputes\n\nSee *the* [dispute form](https://bank.example/form) and `verify_identity`; "
        "snake_case_words stay.\n\nSetext title\n============\n\nBody text here.",
    )
    doc = loader.run(md)
    assert doc.blocks[1].text == "See the dispute form and verify_identity; snake_case_words stay."
    assert doc.blocks[2] == Block("heading", "Setext title", level=1)


def test_markdown_bad_front_matter_yaml_names_file_and_reason(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\n# Hi\n\ntext")
    with pytest.raises(LoadError) as err:
        loader.run(md)
    assert err.value.source == "bad.md"
    assert "invalid YAML in front matter" in err.value.reason
    assert str(err.value).startswith("bad.md: ")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("---\ntitle: x\n# no closing line\n", "no closing '---'"),
        ("---\n- a\n- b\n---\nbody", "must be a mapping"),
        ("---\neffective_from: 2024-13-45\n---\nbody", r"bad date for 'effective_from': '2024-13-45'"),
        ("---\neffective_to: soon\n---\nbody", r"'effective_to': 'soon' \(expected YYYY-MM-DD\)"),
    ],
)
def test_markdown_malformed_front_matter(tmp_path: Path, loader: DocumentLoader, content: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        loader.run(write(tmp_path / "x.md", content))


def test_markdown_with_only_front_matter(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^fm\.markdown: no text content$"):
        loader.run(write(tmp_path / "fm.markdown", "---\ntitle: Only metadata\n---\n\n"))
