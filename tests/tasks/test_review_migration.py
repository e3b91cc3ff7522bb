"""Migration 0006 (the review's tables) upgrades a database in place from the previous head, with a
decided case in it that then gets its review; and the migrations have one head."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from casework.store import MIGRATIONS


def config(connection) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def test_the_migrations_have_one_head_the_review() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert len(script.get_heads()) == 1  # later migrations (0007, learning) follow the review's
    assert "0006" in [r.revision for r in script.iterate_revisions("heads", "base")]
    assert script.get_revision("0006").down_revision == "0005"


def test_a_database_at_the_previous_head_with_a_decided_case_upgrades_in_place(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    now = datetime(2026, 12, 10, 15, tzinfo=timezone.utc).isoformat()
    with engine.begin() as connection:
        command.upgrade(config(connection), "0005")
        connection.execute(text(
            "INSERT INTO cases (reference, regime, status, stage, referring_agency, notified_on, referred_at, facts, "
            "wait_seq, round, decision, decided_at, updated_at) VALUES ('NSCP-2026-0001', 'wt2015', 'open', 'decided', "
            "'HEALTH', '2026-11-16', :now, '{}', 6, 1, 'scr', :now, :now)"), {"now": now})
    with engine.begin() as connection:
        command.upgrade(config(connection), "head")
        tables = set(inspect(connection).get_table_names())
        assert {"reviews", "review_milestones", "review_people"} <= tables
        connection.execute(text(
            "INSERT INTO reviews (case_id, review_type, plan, stage, commissioned_at, commissioned_on, reviewers, "
            "ratifications, updated_at) VALUES (1, 'scr', 'scr_staged', 'awaiting_reviewer', :now, '2026-12-11', '[]', "
            "'[]', :now)"), {"now": now})
        assert connection.execute(text("SELECT c.reference, r.stage FROM cases c JOIN reviews r ON r.case_id = c.id")).all() \
            == [("NSCP-2026-0001", "awaiting_reviewer")]
    with engine.begin() as connection:
        command.downgrade(config(connection), "0005")
        assert "reviews" not in set(inspect(connection).get_table_names())
        assert connection.execute(text("SELECT reference FROM cases")).scalar_one() == "NSCP-2026-0001"
    engine.dispose()
