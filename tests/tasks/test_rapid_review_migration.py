"""Migration 0011 (wt2023's rapid review to the Panel: what the rapid review meeting records for it and the Panel's
reply) adds its columns to the cases of a database at 0010, keeps a decided case, and comes off again."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, at_revision, columns, config, downgrade, empty_database, rows, upgrade,
)

ADDED = {"rapid_review", "panel_reply", "panel_reply_on", "panel_reply_detail"}


def test_the_rapid_review_migration_follows_action_documents() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert script.get_revision("0011").down_revision == "0010"


def test_a_decided_case_upgrades_and_downgrades_in_place(empty_database: Engine) -> None:
    at_revision(empty_database, "0010", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}))
    upgrade(empty_database, "0011")
    assert ADDED <= columns(empty_database, "cases")
    assert rows(empty_database, "SELECT reference, panel_reply FROM cases") == [("NSCP-2026-0001", None)]
    downgrade(empty_database, "0010")
    assert not ADDED & columns(empty_database, "cases")
    assert rows(empty_database, "SELECT reference FROM cases") == [("NSCP-2026-0001",)]
