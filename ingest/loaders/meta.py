"""Document metadata: YAML front matter, `X.meta.yaml` sidecars, the caller's fields, and the defaults.

Dates are parsed to `datetime.date` (a bad one is a `LoadError` naming its key) and comma-separated
`tags`/`next_steps` split into lists. Front matter and sidecars are read with a safe YAML loader that keeps
dates as strings and refuses aliases.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from assist.errors import LoadError
from ingest.loaders.encoding import decode_bytes
from ingest.loaders.types import Block

_DATE_KEYS = {"effective_from", "effective_to", "date", "published", "updated", "reviewed"}
_LIST_KEYS = {"tags", "next_steps"}


def normalise_meta(raw: dict[Any, Any], source: str) -> dict[str, Any]:
    """String keys; dates parsed to `datetime.date`; comma-separated tags/next_steps split into lists."""
    meta: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).strip()
        if isinstance(value, dt.datetime):
            value = value.date()
        if name in _DATE_KEYS or name.endswith("_date"):
            value = _parse_date(name, value, source)
        elif name in _LIST_KEYS and isinstance(value, str):
            value = [v.strip() for v in re.split(r"[,，、;；]", value) if v.strip()]
        meta[name] = value
    return meta


def _parse_date(key: str, value: Any, source: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError as exc:
        raise LoadError(source, f"bad date for '{key}': {text!r} (expected YYYY-MM-DD)") from exc


@lru_cache(maxsize=1)
def _yaml_loader() -> type:
    """A SafeLoader that leaves dates as strings (so that `_parse_date` reports bad ones by key) and refuses
    aliases: metadata has no use for them, and nested aliases expand exponentially when the metadata is
    hashed or stored ("billion laughs")."""
    import yaml

    class _NoDatesLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in metadata", event.start_mark
                )
            return super().compose_node(parent, index)

    _NoDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _NoDatesLoader


def load_yaml_mapping(text: str, source: str, what: str) -> dict[Any, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise LoadError(source, f"invalid YAML in {what}: {reason}") from exc
    except RecursionError as exc:  # the composer recurses once per level of [[[[…
        raise LoadError(source, f"invalid YAML in {what}: nested too deeply") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(source, f"{what} must be a mapping of keys to values, got {type(data).__name__}")
    return data


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.yaml")


def split_front_matter(text: str, source: str) -> tuple[dict[Any, Any], str]:
    """Leading `---` ... `---` (or `...`) YAML block → (mapping, rest of the text)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in {"---", "..."}:
            data = load_yaml_mapping("\n".join(lines[1:i]), source, "front matter")
            return data, "\n".join(lines[i + 1 :])
    raise LoadError(source, "front matter starts with '---' but has no closing '---'")


def read_sidecar(path: Path, source: str) -> dict[str, Any]:
    """The metadata of `path`'s `X.meta.yaml` sidecar, normalised; empty when there is none."""
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    side_text, _ = decode_bytes(side.read_bytes(), f"{source}.meta.yaml")
    return normalise_meta(load_yaml_mapping(side_text, source, side.name), source)


def merge_meta(
    sidecar: dict[str, Any], own: dict[str, Any], given: dict[str, Any] | None, source: str
) -> dict[str, Any]:
    """The document's metadata: the caller's fields (blank ones ignored) over its own over the sidecar's."""
    fields = {k: v for k, v in (given or {}).items() if v is not None and v != ""}
    return {**sidecar, **own, **normalise_meta(fields, source)}


def document_title(meta: dict[str, Any], blocks: list[Block], file_type: str, doc_title: str, name: str) -> str:
    """The title: metadata's, an HTML `<title>`, the first heading, the title the file declares, the file name."""
    if meta.get("title"):
        return str(meta["title"]).strip()
    if file_type == "html" and doc_title:
        return doc_title
    if file_type != "csv":  # section headings of an FAQ are not its title
        for b in blocks:
            if b.kind == "heading":
                return b.text
    if doc_title and doc_title.lower() not in {"untitled", "anonymous", "unknown", "microsoft word"}:
        return doc_title
    return Path(name).stem
