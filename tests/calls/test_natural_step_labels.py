"""The steps a labelled natural call completes, as the benchmarks judge them (bench_calls_natural.labelled_steps).

A writer labels an agent turn with the step its words complete, or with both steps when one turn finishes two ("the
card is blocked and a new one is on its way"); a step counts from the first turn that completes it."""

from __future__ import annotations

from benchmarks.bench_calls_natural import labelled_steps


def _agent(step: object) -> dict[str, object]:
    return {"speaker": "agent", "text": "…", "step_done": step}


def test_a_turn_that_completes_two_steps_labels_both_from_that_turn() -> None:
    call = {"turns": [_agent(None), _agent("verify_identity"), _agent(["freeze_card", "reissue_card"])]}
    assert labelled_steps(call) == {"verify_identity": 1, "freeze_card": 2, "reissue_card": 2}


def test_a_step_counts_from_the_first_turn_that_completes_it_and_only_agent_turns_complete_steps() -> None:
    customer = {"speaker": "customer", "text": "…", "step_done": "freeze_card"}
    call = {"turns": [customer, _agent("freeze_card"), _agent(["freeze_card"])]}
    assert labelled_steps(call) == {"freeze_card": 1}
