"""Shared data of the redaction tests: PRC resident ID numbers with a valid checksum."""

from __future__ import annotations


def _prc_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


VALID_ID = _prc_id("11010519491231002")
ID_WITH_X = next(_prc_id(f"44010619900101{i:03d}") for i in range(1000) if _prc_id(f"44010619900101{i:03d}")[-1] == "X")
