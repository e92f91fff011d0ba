"""Prompt templates: files in prompts/ with {variables}; rendering raises on a missing variable."""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from pathlib import Path

from assist.errors import AssistError

logger = logging.getLogger(__name__)


class PromptError(AssistError):
    """A template that is missing, or rendered without one of its variables."""

    status_code = 500


@dataclass(frozen=True)
class PromptTemplate:
    """One template: its name, text and the variables it needs."""

    name: str
    text: str

    @property
    def variables(self) -> frozenset[str]:
        """The {names} the template uses."""
        return frozenset(f for _, f, _, _ in string.Formatter().parse(self.text) if f)

    def render(self, **values: object) -> str:
        """Fill in the variables.

        Raises:
            PromptError: a variable the template uses was not given (names it).
        """
        missing = sorted(self.variables - values.keys())
        if missing:
            raise PromptError(f"prompt {self.name!r} is missing variable(s): {', '.join(missing)}")
        return self.text.format(**{k: values[k] for k in self.variables})


class PromptLibrary:
    """The templates of a directory (`*.md`), by file stem.

    Args:
        directory: where the templates are (settings.prompts_dir).
    """

    def __init__(self, directory: Path) -> None:
        directory = Path(directory)
        if not directory.is_dir():
            raise PromptError(f"prompts directory {str(directory)!r} does not exist")
        self.directory = directory
        self._cache: dict[str, PromptTemplate] = {}

    def names(self) -> list[str]:
        """The template names available."""
        return sorted(p.stem for p in self.directory.glob("*.md"))

    def get(self, name: str) -> PromptTemplate:
        """The template `name` (prompts/<name>.md).

        Raises:
            PromptError: no such template.
        """
        if name not in self._cache:
            path = self.directory / f"{name}.md"
            if not path.is_file():
                raise PromptError(f"prompt template {name!r} not found in {str(self.directory)!r}")
            self._cache[name] = PromptTemplate(name=name, text=path.read_text(encoding="utf-8").strip())
        return self._cache[name]
