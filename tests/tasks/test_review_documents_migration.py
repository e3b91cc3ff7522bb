"""Migration 0009 (the drafts and final report a lead reviewer uploads to the review's task list) adds its table
to a database at 0008 with a review in it, keeps the review, and comes off again."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, REVIEW, at_revision, columns, config, downgrade, empty_database, rows, tables, upgrade,
)


def test_the_review_documents_migration_follows_non_publication() -> None:
    script = ScriptDirectory.from_config(config(None))  # the head is the latest migration's test's to say
    assert script.get_revision("0009").down_revision == "0008"


def test_a_database_with_a_review_upgrades_and_downgrades_in_place(empty_database: Engine) -> None:
    at_revision(empty_database, "0008", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}),
                (REVIEW, {"reference": "NSCP-2026-0001", "stage": "under_way", "availability": None}))
    upgrade(empty_database, "0009")
    assert {"id", "case_id", "kind", "document", "uploaded_at"} <= columns(empty_database, "review_documents")
    assert rows(empty_database, "SELECT stage FROM reviews") == [("under_way",)]
    downgrade(empty_database, "0008")
    assert "review_documents" not in tables(empty_database)
    assert rows(empty_database, "SELECT stage FROM reviews") == [("under_way",)]
