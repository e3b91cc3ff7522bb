"""Migration 0013 (each safeguarding partner's sign-off kept beside their answers to a recommendation) adds the
step to the partners' answers of a database at 0012, keeping an answer there as a decision's, and comes off again."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, at_revision, columns, downgrade, empty_database, rows, upgrade,
)

ANSWER = ("INSERT INTO partner_decisions (case_id, round, partner, response, rationale, national_importance, "
          "recorded_at) VALUES ((SELECT id FROM cases WHERE reference = :reference), 1, 'police', :response, 'r', "
          "false, :now)")


def test_an_answer_is_kept_as_a_decision_and_a_sign_off_is_kept_beside_it(empty_database: Engine) -> None:
    at_revision(empty_database, "0012", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}),
                (ANSWER, {"reference": "NSCP-2026-0001", "response": "agree"}))
    upgrade(empty_database, "0013")
    assert "step" in columns(empty_database, "partner_decisions")
    assert rows(empty_database, "SELECT step, partner, response FROM partner_decisions") == \
        [("decision", "police", "agree")]
    with empty_database.begin() as connection:  # the same partner and round, at the sign-off: kept beside it
        connection.execute(text(ANSWER.replace("(case_id,", "(step, case_id,").replace("VALUES (", "VALUES ('sign_off', ")),
                           {"reference": "NSCP-2026-0001", "response": "ratified", "now": "2027-05-04T15:00:00+00:00"})
    with pytest.raises(IntegrityError), empty_database.begin() as connection:  # but once only
        connection.execute(text(ANSWER.replace("(case_id,", "(step, case_id,").replace("VALUES (", "VALUES ('sign_off', ")),
                           {"reference": "NSCP-2026-0001", "response": "returned", "now": "2027-05-04T15:00:00+00:00"})
    downgrade(empty_database, "0012")
    assert "step" not in columns(empty_database, "partner_decisions")
    assert rows(empty_database, "SELECT partner, response FROM partner_decisions") == [("police", "agree")]
