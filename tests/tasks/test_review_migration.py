"""Migration 0006 (the review's tables) upgrades a database in place from the previous head, with a
decided case in it that then gets its review; and the migrations have one head."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, REVIEW, at_revision, config, downgrade, empty_database, rows, tables, upgrade,
)



def test_the_migrations_have_one_head_the_review() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert len(script.get_heads()) == 1  # later migrations (0007, learning) follow the review's
    assert "0006" in [r.revision for r in script.iterate_revisions("heads", "base")]
    assert script.get_revision("0006").down_revision == "0005"


def test_a_database_at_the_previous_head_with_a_decided_case_upgrades_in_place(empty_database: Engine) -> None:
    at_revision(empty_database, "0005", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}))
    upgrade(empty_database)
    assert {"reviews", "review_milestones", "review_people"} <= tables(empty_database)
    at_revision(empty_database, "head", (REVIEW, {"reference": "NSCP-2026-0001", "stage": "awaiting_reviewer",
                                                  "availability": None}))
    assert rows(empty_database, "SELECT c.reference, r.stage FROM cases c JOIN reviews r ON r.case_id = c.id") \
        == [("NSCP-2026-0001", "awaiting_reviewer")]
    downgrade(empty_database, "0005")
    assert "reviews" not in tables(empty_database)
    assert rows(empty_database, "SELECT reference FROM cases") == [("NSCP-2026-0001",)]
