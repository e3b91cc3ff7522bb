"""Migration 0008 (the reason a review's report is not published, on the review) upgrades a database in place
from 0007 with reviews in it: the one already recorded not published gets the reason its audit event kept, the
others none; down again keeps the reviews; and 0008 is the one head."""

from __future__ import annotations

import json

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from tests.tasks.migration_steps import (  # empty_database: the fixture
    AUDIT, DECIDED_CASE, REVIEW, at_revision, columns, config, downgrade, empty_database, rows, upgrade,
)

REASON = "Publication would identify the surviving siblings."


def test_the_non_publication_migration_is_the_one_head_after_learning() -> None:
    script = ScriptDirectory.from_config(config(None))
    assert script.get_revision("0008").down_revision == "0007"
    assert len(script.get_heads()) == 1 and "0008" in {r.revision for r in script.walk_revisions()}  # 0009 follows it


def test_a_database_with_reviews_upgrades_in_place_keeping_the_reason_already_recorded(empty_database: Engine) -> None:
    at_revision(
        empty_database, "0007",
        (DECIDED_CASE, {"reference": "NSCP-2026-0001"}), (DECIDED_CASE, {"reference": "NSCP-2026-0002"}),
        (REVIEW, {"reference": "NSCP-2026-0001", "stage": "not_published", "availability": "not_published"}),
        (REVIEW, {"reference": "NSCP-2026-0002", "stage": "awaiting_publication", "availability": None}),
        (AUDIT, {"reference": "NSCP-2026-0001", "action": "review drafts ratified", "detail": json.dumps({"by": "board"})}),
        (AUDIT, {"reference": "NSCP-2026-0001", "action": "review not published",
                 "detail": json.dumps({"decided_on": "2027-03-10", "reason": REASON, "improvements_link": None})}),
    )
    upgrade(empty_database)
    assert "non_publication_reason" in columns(empty_database, "reviews")
    assert rows(empty_database, "SELECT c.reference, r.stage, r.non_publication_reason FROM reviews r "
                                "JOIN cases c ON c.id = r.case_id ORDER BY c.reference") == [
        ("NSCP-2026-0001", "not_published", REASON), ("NSCP-2026-0002", "awaiting_publication", None)]
    assert len(rows(empty_database, "SELECT id FROM audit_events")) == 2  # the trail is left as it was

    downgrade(empty_database, "0007")
    assert "non_publication_reason" not in columns(empty_database, "reviews")
    assert rows(empty_database, "SELECT stage FROM reviews ORDER BY id") == [("not_published",), ("awaiting_publication",)]
