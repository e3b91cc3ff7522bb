"""`cig review` as a user types it, on a real database (the steps the review run waits for are covered
in tests/flows/test_review_flow.py; here the facts recorded at once, `show` and `list`, and refusals naming the field)."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from typer.testing import CliRunner

from casework.forms import ReferralForm
from casework.office import Office
from casework.review import actions as review
from cli import main as cig
from cli import subcommands
from cli import review as cli_review
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import at, decided, form


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(subcommands, "clock", lambda: at(12, 14))
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


async def test_cig_review_not_published_records_the_decision_and_closes_the_case_once_nothing_is_outstanding(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm, runner: CliRunner,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from casework.review.forms import AppointmentForm, MilestoneForm, RatificationForm

    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(
        AppointmentForm, reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True,
        appointed_on="2026-12-12", appointed_by="Review group"), now=at(12, 12), actor="t")
    with office.sessions() as session:  # every milestone done, every body ratified
        from casework.review import store as review_store
        from casework.store import cases as store

        codes = [m.code for m in review_store.get_review(session, case=store.get_case(session, reference=reference)).milestones]
    for code in codes:
        review.record_milestone(office, reference, form(MilestoneForm, stage=code, done_on="2026-12-13", by="B"),
                                now=at(12, 13), actor="t")
    bad = runner.invoke(cig.app, ["review", "not-published", reference, "--by", "Partnership board", "--reason",
                                  "Publication would identify the surviving siblings."])
    assert str(bad.exception).startswith("decided_on: the partnership board has not ratified")
    for by in ("cig", "executive_group", "board"):
        review.record_ratification(office, reference, form(RatificationForm, by=by, result="ratified", on="2026-12-13"),
                                   now=at(12, 13), actor="t")
    bad = runner.invoke(cig.app, ["review", "not-published", reference, "--by", "Partnership board"])
    assert bad.exit_code != 0 and "reason" in bad.output  # required

    woken: list[str] = []  # the review's run is woken to finish (tests/flows/test_review_flow.py runs that)
    monkeypatch.setattr(cli_review, "_wake_review_run", lambda _office, ref: woken.append(ref))
    done = await asyncio.to_thread(  # `cig` runs its own event loop to send at once: not this test's
        cig_json, runner, "review", "not-published", reference, "--by", "Partnership board", "--reason",
        "Publication would identify the surviving siblings.", "--improvements-link",
        "https://northshire-scp.example.org/scr/8-improvements")
    assert woken == [reference]
    assert (done["stage"], done["case_closed"], done["decided_on"]) == ("closed", True, "2026-12-14")
    shown = cig_json(runner, "review", "show", reference)
    assert (shown["availability"], shown["published_on"], shown["case_status"]) == ("not_published", None, "closed")
    assert shown["non_publication_reason"] == "Publication would identify the surviving siblings."
    text = runner.invoke(cig.app, ["review", "show", reference]).output
    assert "  the final report is not published. Why: Publication would identify the surviving siblings.\n" \
           "  the improvements are published at https://northshire-scp.example.org/scr/8-improvements\n" in text
    told = [m for m in mailbox.received() if "not published" in m.subject]
    assert "business-manager@example.org" in {to for m in told for to in m.to}
    assert [m.to for m in told if "National Panel" in m.subject] == [["national-panel@example.org"]]  # once, with why
    assert "Publication would identify the surviving siblings." in [m for m in told if "National Panel" in m.subject][0].text()
