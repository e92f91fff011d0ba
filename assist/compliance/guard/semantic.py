"""Optional semantic layer: embedding similarity between a clause and the rules' positive examples.

It runs after the deterministic layers, only when they found no block, and may add a *warn* (never a
block) for a rule that did not fire. Clauses with a negator or hedge are skipped, since embeddings do not
understand negation (不保本 is close to 保本). Off by default: ``guard.enable_semantic(embedder)``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from assist.compliance.guard.rules import Rule

logger = logging.getLogger(__name__)

_CLAUSE_SPLIT = re.compile(r"[^,，。.!！?？;；:：\n]+")


class SemanticLayer:
    """Warn when a clause is very close to a rule's positive example.

    Args:
        rules: The guard's rules (only those with positive examples take part).
        embedder: Any object with ``embed_documents(texts) -> (n, dim)`` L2-normalised vectors.
        threshold: Cosine similarity needed to warn, in (0, 1]. High by default to keep false positives low.
        skip_clause: Returns True for clauses not to judge (negated or hedged ones).
        min_chars: Clauses shorter than this are not embedded.
    """

    def __init__(
        self,
        rules: list[Rule],
        embedder: Any,
        *,
        threshold: float = 0.96,
        skip_clause: Callable[[str], bool] | None = None,
        min_chars: int = 4,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"semantic threshold must be in (0, 1], got {threshold}")
        if not callable(getattr(embedder, "embed_documents", None)):
            raise TypeError(f"embedder needs embed_documents(), got {type(embedder).__name__}")
        import numpy as np

        self.threshold = threshold
        self._embedder = embedder
        self._skip = skip_clause or (lambda _c: False)
        self._min_chars = min_chars
        self._owners: list[Rule] = []
        examples: list[str] = []
        for rule in rules:
            for ex in rule.positive:
                self._owners.append(rule)
                examples.append(ex)
        self._matrix = np.asarray(embedder.embed_documents(examples), dtype=np.float32) if examples else None
        logger.info("semantic layer: %d examples, threshold %.2f", len(examples), threshold)

    def check(self, text: str, already: list[Any]) -> list[Any]:
        """Warn matches for clauses of ``text`` close to an example of a rule not already matched."""
        from assist.compliance.guard.engine import Match

        if self._matrix is None:
            return []
        fired = {m.rule_id for m in already}
        spans = [(m.start(), m.end()) for m in _CLAUSE_SPLIT.finditer(text)]
        spans = [(a, b) for a, b in spans if len(text[a:b].strip()) >= self._min_chars and not self._skip(text[a:b])]
        if not spans:
            return []
        vecs = self._embedder.embed_documents([text[a:b] for a, b in spans])
        sims = vecs @ self._matrix.T
        out: list[Match] = []
        for row, (a, b) in zip(sims, spans, strict=True):
            j = int(row.argmax())
            rule = self._owners[j]
            if float(row[j]) >= self.threshold and rule.id not in fired:
                fired.add(rule.id)
                while a < b and text[a].isspace():
                    a += 1
                out.append(
                    Match(rule.id, rule.category, "warn", a, b, text[a:b], rule.advice, rule.version, layer="semantic")
                )
        return out
