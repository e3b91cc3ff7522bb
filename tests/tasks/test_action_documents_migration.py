"""Migration 0010 (the files of evidence an action's named lead uploads on the action's page) adds its table to a
database at 0009 with a review in it, keeps the review, and comes off again; one head follows it."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, REVIEW, at_revision, columns, config, downgrade, empty_database, rows, tables, upgrade,
)


def test_the_action_documents_migration_is_the_one_head_after_review_documents() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert len(script.get_heads()) == 1  # later migrations (0011, the rapid review to the Panel) follow
    assert script.get_revision("0010").down_revision == "0009"


def test_a_database_with_a_review_upgrades_and_downgrades_in_place(empty_database: Engine) -> None:
    at_revision(empty_database, "0009", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}),
                (REVIEW, {"reference": "NSCP-2026-0001", "stage": "under_way", "availability": None}))
    upgrade(empty_database, "0010")
    assert {"id", "action_id", "document", "uploaded_at"} <= columns(empty_database, "action_documents")
    assert rows(empty_database, "SELECT stage FROM reviews") == [("under_way",)]
    downgrade(empty_database, "0009")
    assert "action_documents" not in tables(empty_database)
    assert rows(empty_database, "SELECT stage FROM reviews") == [("under_way",)]
