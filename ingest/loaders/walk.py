"""Walking folders: the files of a knowledge-base folder that the loader should see, in a stable order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

_SKIP_DIRS = {"rules", "playbooks", "calls", "tools", "tickets", "qa", "guard"}  # config, not documents
_SKIP_SUFFIXES = {".yaml", ".yml", ".jsonl", ".py"}
_SKIP_NAMES = {"readme.md", "userdict.txt", "thumbs.db", "desktop.ini"}


def iter_document_paths(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, base_dir) pairs.

    Folders are walked recursively and their files sorted by relative path. A walk skips hidden files
    and folders, Office lock files (`~$…`), `*.meta.yaml` sidecars, README.md, userdict.txt, YAML/JSONL/
    Python files, and the folders `rules`, `playbooks`, `calls` and `tools` (they hold other things).
    Any other file is returned, even with an unsupported extension, so that the loader reports it as a
    failure. A file given explicitly is always returned (with its own folder as base_dir).

    Args:
        paths: Files and folders, in the order the user gave them.

    Returns:
        (file, base_dir) pairs without duplicates.
    """
    out: list[tuple[Path, Path]] = []
    seen: set[Path] = set()

    def add(file: Path, base: Path) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            out.append((file, base))

    for given in paths:
        given = Path(given)
        if not given.is_dir():
            add(given, given.parent)
            continue
        found: list[tuple[str, Path]] = []
        for file in given.rglob("*"):
            rel = file.relative_to(given)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if any(part.lower() in _SKIP_DIRS for part in rel.parts[:-1]):
                continue
            if not file.is_file():
                continue
            lower = file.name.lower()
            if lower.startswith("~$") or lower in _SKIP_NAMES or lower.endswith(".meta.yaml"):
                continue
            if file.suffix.lower() in _SKIP_SUFFIXES:
                continue
            found.append((rel.as_posix(), file))
        for _, file in sorted(found, key=lambda item: item[0]):
            add(file, given)
    return out
