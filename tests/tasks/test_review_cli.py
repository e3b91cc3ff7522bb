"""`cig review` as a user types it, on a real database (the steps the review run waits for are covered
in tests/flows/test_review_flow.py; here the facts recorded at once, `show` and `list`, and refusals naming the field)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from casework.forms import ReferralForm
from casework.office import Office
from casework.review import actions as review
from cli import main as cig
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import at, decided


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cig, "now", lambda: at(12, 14))
    return CliRunner()


def cig_json(runner: CliRunner, *arguments: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(cig.app, [*arguments, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


async def test_cig_review_records_the_facts_of_a_review_and_shows_it(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm, runner: CliRunner) -> None:
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))

    assert cig_json(runner, "review", "engage", reference, "--agency", "POL", "--by", "DI Pat Police")["stage"] \
        == "awaiting_reviewer"
    cig_json(runner, "review", "member", reference, "--group", "case", "--name", "Quinn Healthvisitor", "--agency",
             "HEALTH", "--role", "Health visitor", "--email", "q.healthvisitor@example.org")
    cig_json(runner, "review", "milestone", reference, "--stage", "initial_meeting", "--done-on", "2026-12-14",
             "--by", "Bailey Manager")
    cig_json(runner, "review", "milestone", reference, "--stage", "spe_chronologies", "--replan-to", "2027-01-29",
             "--reason", "Christmas")
    cig_json(runner, "review", "terms", reference, "--terms", "How information was shared.", "--scope", "All agencies")
    shown = cig_json(runner, "review", "show", reference)
    assert (shown["stage"], shown["plan"], shown["case_group"], shown["terms_agreed_on"]) == (
        "awaiting_reviewer", "scr_staged", 1, "2026-12-14")
    assert "POL" not in shown["engagement_outstanding"] and "CSC" in shown["engagement_outstanding"]
    assert [m["done_on"] for m in shown["milestones"][:1]] == ["2026-12-14"]
    [listed] = cig_json(runner, "review", "list")
    assert listed["reference"] == reference
    text = runner.invoke(cig.app, ["review", "show", reference]).output
    assert "initial_meeting" in text and "done 2026-12-14 (Bailey Manager)" in text

    # refused, naming the field, changing nothing
    bad = runner.invoke(cig.app, ["review", "member", reference, "--group", "panel", "--name", "X", "--agency", "CSC",
                                  "--role", "R", "--email", "x@example.org"])
    assert bad.exit_code != 0 and "group" in str(bad.exception)
    bad = runner.invoke(cig.app, ["review", "milestone", reference, "--stage", "trial", "--done-on", "2026-12-14",
                                  "--by", "B"])
    assert str(bad.exception).startswith("stage: 'trial'")
    bad = runner.invoke(cig.app, ["review", "ratify", reference, "--by", "cig"])  # no reviewer yet: not at that step
    assert "not at the ratification step" in str(bad.exception)
    assert cig_json(runner, "review", "show", reference)["case_group"] == 1
    assert date.fromisoformat(shown["commissioned_on"]) == date(2026, 12, 11)
