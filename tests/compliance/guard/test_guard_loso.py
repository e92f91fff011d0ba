"""benchmarks/guard_loso.py (issue #16, tenth round): batches held out together, the model alone reported."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.guard_loso import SETS, SPENT, parse, table

ROOT = Path(__file__).resolve().parents[3]


def test_a_batch_is_held_out_as_one_set_and_its_lines_are_in_the_corpus() -> None:
    ids = [json.loads(line)["id"] for line in (ROOT / "kb_docs/guard/claims.jsonl").open(encoding="utf-8")]
    for batch in ("guard_fresh5", "guard_fresh6"):
        files, prefixes = SETS[batch]
        assert len(files) == 2 and all((ROOT / SPENT / f"{f}.jsonl").is_file() for f in files)
        assert all(any(i.startswith(p) for i in ids) for p in prefixes)
    assert len(SETS) == 7


def test_reuse_and_policy_fields_are_parsed() -> None:
    argv = ["x", "--reuse", "base", "policy.suppress=clause", "policy.suppress_any_category=0", "third_party_weight=2"]
    name, cfg, pol, _, sets, reuse = parse(argv)
    assert (name, reuse) == ("x", "base") and sets == list(SETS)
    assert pol["suppress"] == "clause" and pol["suppress_any_category"] is False
    assert cfg["third_party_weight"] == 2.0


def test_the_table_puts_the_model_alone_beside_combined() -> None:
    def counts(caught: int) -> dict[str, int]:
        return {"claims": 10, "caught": caught, "allowed": 20, "blocked": 1, "flagged": 2}

    sets = {"a": {"no_judgement/model": counts(6), "no_judgement/combined": counts(9)}}
    rows = table("run", {"sets": sets, "pooled": sets["a"]})
    assert rows[2].startswith("| `run` | model alone | 0.600 / 0.050 / 0.100 | 0.600")
    assert rows[3].startswith("| `run` | combined | 0.900 / 0.050 / 0.100")
