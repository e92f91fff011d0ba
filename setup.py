"""Build hook: the wheel carries what the server needs to run correctly, under ``assist/_bundled/``.

pyproject.toml holds the project's configuration; this file only adds one step to ``build_py``. The repository
keeps ``kb_docs/`` and ``prompts/`` at its top level (the product card fixes them there), outside the ``assist``
package, so setuptools' package data cannot reach them. Without them an installed server started with zero
rules and let every claim through. This step copies into the wheel:

- ``kb_docs/`` (the default rule pack ``rules/``, the ``playbooks/``, ``userdict.txt``, the recorded sample
  ``calls/`` and the sample documents, so that ``assist ingest`` of the sample works from a wheel; not
  ``tools/``, a maintainer's script; with ``guard/cases.jsonl``, the labelled statements a draft rule is tried on)
  as ``assist/_bundled/kb_docs/``;
- ``prompts/`` as ``assist/_bundled/prompts/``.

``assist.config.shipped_path`` finds the checkout's own folders in a source tree or an editable install (where
this step does not run), and the bundled copies in an installed wheel. MANIFEST.in puts the same files in the
sdist, so a wheel built from the sdist has them too. ``assist/static/`` is ordinary package data
(``[tool.setuptools.package-data]``).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = "assist/_bundled"
# (source in the repository, where it goes under BUNDLED, names skipped anywhere below it)
SHIPPED: tuple[tuple[str, str, set[str]], ...] = (
    ("kb_docs", "kb_docs", {"tools", "__pycache__", ".DS_Store"}),
    ("prompts", "prompts", {"__pycache__", ".DS_Store"}),
)


def _files(source: Path, skip: set[str]) -> list[Path]:
    if source.is_file():
        return [source]
    out = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        out += [Path(root, f) for f in sorted(files) if f not in skip and not f.endswith(".pyc")]
    return out


class BuildPyWithShippedData(build_py):
    """build_py, plus the shipped folders copied under assist/_bundled/ (not in an editable install)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's own kb_docs/ and prompts/
        for source, target, skip in SHIPPED:
            src = Path(source)
            if not src.exists():
                raise SystemExit(f"cannot build the wheel: {source} is missing (the server needs it)")
            for f in _files(src, skip):
                rel = f.relative_to(src) if src.is_dir() else Path()
                dest = Path(self.build_lib, BUNDLED, target, rel)
                self.mkpath(str(dest.parent))
                self.copy_file(str(f), str(dest))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            for source, target, skip in SHIPPED:
                src = Path(source)
                if src.exists():
                    for f in _files(src, skip):
                        rel = f.relative_to(src) if src.is_dir() else Path()
                        outputs.append(str(Path(self.build_lib, BUNDLED, target, rel)))
        return outputs


setup(cmdclass={"build_py": BuildPyWithShippedData})
