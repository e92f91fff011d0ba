"""Reading a /metrics scrape in tests: every sample by name and labels, parsed by prometheus-client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """(sample name, labels) → value of every sample in the exposition text (the parser rejects bad text)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value, 0 when it is not there (a series not yet touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
