"""The moves a case may make between stages, in the order of the process chart."""

from __future__ import annotations

import itertools

import pytest

from casework.model import ALLOWED_MOVES, MAIN_PATH, InvalidMove, ReturnStatus, Stage, check_move

ALLOWED = {
    (Stage.awaiting_screening, Stage.awaiting_returns),  # accepted at screening
    (Stage.awaiting_screening, Stage.declined),  # declined at screening
    (Stage.awaiting_returns, Stage.awaiting_recommendation),  # every return in
    (Stage.awaiting_recommendation, Stage.awaiting_decision),  # the CIG recommends
    (Stage.awaiting_recommendation, Stage.awaiting_returns),  # further information: back to step 5
    (Stage.awaiting_decision, Stage.notifying),  # the independent chair decides
    (Stage.notifying, Stage.decided),  # the notices are out
}


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_the_process_allows_these_moves(current: Stage, target: Stage) -> None:
    assert check_move(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [pair for pair in itertools.product(Stage, Stage) if pair not in ALLOWED],
)
def test_every_other_move_is_refused_naming_where_the_case_is(current: Stage, target: Stage) -> None:
    with pytest.raises(InvalidMove, match=f"cannot move to '{target.value}'"):
        check_move(current, target)


def test_the_table_is_the_whole_of_the_rules() -> None:
    assert {(a, b) for a, targets in ALLOWED_MOVES.items() for b in targets} == ALLOWED
    assert set(ALLOWED_MOVES) == set(Stage)


def test_decided_and_declined_are_the_end() -> None:
    assert ALLOWED_MOVES[Stage.decided] == frozenset()
    assert ALLOWED_MOVES[Stage.declined] == frozenset()


def test_the_main_path_walks_the_chart_in_order() -> None:
    for current, target in itertools.pairwise(MAIN_PATH):
        check_move(current, target)
    assert [s.number for s in MAIN_PATH] == [1, 2, 3, 4, 5, 6]
    assert Stage.declined.number == len(MAIN_PATH)


def test_only_an_outstanding_return_is_unresolved() -> None:
    assert [s for s in ReturnStatus if not s.resolved] == [ReturnStatus.outstanding]
