"""Migration 0007 (learning and improvement) upgrades a database in place from 0006 with a review in it, which
then gets an action; down again keeps the review; and 0007 is the one head."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tests.tasks.test_review_migration import config


def test_the_learning_migration_is_the_one_head_after_the_review() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert script.get_heads() == ["0007"]
    assert script.get_revision("0007").down_revision == "0006"


def test_a_database_with_a_review_upgrades_to_the_learning_tables_in_place_and_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    now = datetime(2027, 5, 4, 15, tzinfo=timezone.utc).isoformat()
    with engine.begin() as connection:
        command.upgrade(config(connection), "0006")
        connection.execute(text(
            "INSERT INTO cases (reference, regime, status, stage, referring_agency, notified_on, referred_at, facts, "
            "wait_seq, round, decision, decided_at, updated_at) VALUES ('NSCP-2026-0001', 'wt2015', 'open', 'decided', "
            "'HEALTH', '2026-11-16', :now, '{}', 6, 1, 'scr', :now, :now)"), {"now": now})
        connection.execute(text(
            "INSERT INTO reviews (case_id, review_type, plan, stage, commissioned_at, commissioned_on, reviewers, "
            "ratifications, updated_at) VALUES (1, 'scr', 'scr_staged', 'ratifying', :now, '2026-12-11', '[]', "
            "'[]', :now)"), {"now": now})
    with engine.begin() as connection:
        command.upgrade(config(connection), "head")
        assert {"learning_actions", "action_updates", "learning_records"} <= set(inspect(connection).get_table_names())
        connection.execute(text(
            "INSERT INTO learning_actions (review_id, number, plan, agency, finding, action, lead, target_on, "
            "evidence_of_impact, status, revision, created_at, updated_at) VALUES (1, 1, 'multi_agency', 'HEALTH', 'f', "
            "'a', 'sealed', '2027-07-31', 'e', 'open', 0, :now, :now)"), {"now": now})
        assert connection.execute(text("SELECT number FROM learning_actions")).scalar_one() == 1
    with engine.begin() as connection:
        command.downgrade(config(connection), "0006")
        assert "learning_actions" not in set(inspect(connection).get_table_names())
        assert connection.execute(text("SELECT stage FROM reviews")).scalar_one() == "ratifying"
    engine.dispose()
