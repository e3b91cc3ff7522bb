"""Migration 0007 (learning and improvement) upgrades a database in place from 0006 with a review in it, which
then gets an action; down again keeps the review; and 0007 follows the review's migration."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, REVIEW, at_revision, config, downgrade, empty_database, rows, tables, upgrade,
)

ACTION = ("INSERT INTO learning_actions (review_id, number, plan, agency, finding, action, lead, target_on, "
          "evidence_of_impact, status, revision, created_at, updated_at) VALUES (1, 1, 'multi_agency', 'HEALTH', 'f', "
          "'a', 'sealed', '2027-07-31', 'e', 'open', 0, :now, :now)")


def test_the_learning_migration_follows_the_review() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert len(script.get_heads()) == 1  # later migrations (0008, the reason a report is not published) follow
    assert script.get_revision("0007").down_revision == "0006"


def test_a_database_with_a_review_upgrades_to_the_learning_tables_in_place_and_back(empty_database: Engine) -> None:
    at_revision(empty_database, "0006", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}),
                (REVIEW, {"reference": "NSCP-2026-0001", "stage": "ratifying", "availability": None}))
    upgrade(empty_database)
    assert {"learning_actions", "action_updates", "learning_records"} <= tables(empty_database)
    at_revision(empty_database, "head", (ACTION, {}))
    assert rows(empty_database, "SELECT number FROM learning_actions") == [(1,)]
    downgrade(empty_database, "0006")
    assert "learning_actions" not in tables(empty_database)
    assert rows(empty_database, "SELECT stage FROM reviews") == [("ratifying",)]
