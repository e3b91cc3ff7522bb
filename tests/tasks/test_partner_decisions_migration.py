"""Migration 0012 (each safeguarding partner's answer to a rapid review's recommendation, and the partner a decision
link was made for) adds its table and column to a database at 0011 with a decided case and a link in it, keeps
them, and comes off again."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    DECIDED_CASE, at_revision, columns, config, downgrade, empty_database, rows, tables, upgrade,
)

LINK = ("INSERT INTO personal_links (token_hash, case_id, step, recipient, round, issued_at, expires_at) VALUES "
        "('ab', (SELECT id FROM cases WHERE reference = :reference), 'decision', 'chair@example.org', 1, :now, :now)")


def test_the_partner_decisions_migration_follows_the_rapid_review_to_the_panel() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert script.get_revision("0012").down_revision == "0011"
    assert len(script.get_heads()) == 1


def test_a_database_with_a_decided_case_and_its_link_upgrades_and_downgrades_in_place(empty_database: Engine) -> None:
    at_revision(empty_database, "0011", (DECIDED_CASE, {"reference": "NSCP-2026-0001"}),
                (LINK, {"reference": "NSCP-2026-0001"}))
    upgrade(empty_database, "0012")
    assert {"case_id", "round", "partner", "response", "rationale", "national_importance", "link_id",
            "recorded_at"} <= columns(empty_database, "partner_decisions")
    assert rows(empty_database, "SELECT step, partner FROM personal_links") == [("decision", None)]
    downgrade(empty_database, "0011")
    assert "partner_decisions" not in tables(empty_database)
    assert "partner" not in columns(empty_database, "personal_links")
    assert rows(empty_database, "SELECT step FROM personal_links") == [("decision",)]
