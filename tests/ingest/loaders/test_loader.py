"""DocumentLoader: uploads, empty and missing files, unsupported types, the size limit, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.errors import LoadError, TooLargeError, UnsupportedTypeError
from ingest.loaders import DocumentLoader
from tests.utils.documents import ZH_HANT, write


def test_upload_bytes_use_the_file_name(tmp_path: Path, loader: DocumentLoader) -> None:
    data = ("# 掛失\n\n" + ZH_HANT).encode("big5")
    doc = loader.run(Path("掛失說明.md"), data=data, filename="掛失說明.md", meta={"product": "card"})
    assert doc.source == "掛失說明.md"
    assert doc.title == "掛失"
    assert doc.meta == {"product": "card"}
    assert doc.blocks[-1].text == ZH_HANT


def test_upload_is_not_read_from_disk_nor_given_a_sidecar(tmp_path: Path, loader: DocumentLoader) -> None:
    write(tmp_path / "a.md", "# On disk\n\nDisk text.")
    write(tmp_path / "a.md.meta.yaml", "product: disk\n")
    doc = loader.run(tmp_path / "a.md", data=b"# Uploaded\n\nUploaded text.", filename="a.md")
    assert doc.title == "Uploaded"
    assert doc.meta == {}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.md", b""),
        ("blank.txt", b"  \n\t\r\n"),
        ("empty.pdf", b""),
        ("empty.csv", b"\n\n"),
        ("e.docx", b""),
    ],
)
def test_empty_files(tmp_path: Path, loader: DocumentLoader, name: str, content: bytes) -> None:
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / name, content))
    assert str(err.value) == f"{name}: empty file"


@pytest.mark.parametrize(("name", "shown"), [("deck.pptx", "'.pptx'"), ("Makefile", "(no extension)")])
def test_unsupported_type(tmp_path: Path, loader: DocumentLoader, name: str, shown: str) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        loader.run(write(tmp_path / name, b"anything"))
    assert str(err.value) == (
        f"{name}: unsupported file type {shown} (supported: .md, .markdown, .txt, .html, .htm, .pdf, .docx, .csv)"
    )
    assert err.value.status_code == 415


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 101)
    with pytest.raises(TooLargeError) as err:
        DocumentLoader(max_bytes=100).run(path)
    assert str(err.value) == "big.txt: 101 bytes exceeds the limit of 100 bytes"
    with pytest.raises(TooLargeError, match="up.md: 101 bytes"):
        DocumentLoader(max_bytes=100).run(Path("up.md"), data=b"y" * 101, filename="up.md")
    assert DocumentLoader(max_bytes=101).run(path).text == "x" * 101


def test_missing_file(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^gone\.md: file not found$"):
        loader.run(tmp_path / "gone.md", base_dir=tmp_path)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True])
def test_loader_rejects_bad_max_bytes(bad: object) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        DocumentLoader(max_bytes=bad)  # type: ignore[arg-type]
