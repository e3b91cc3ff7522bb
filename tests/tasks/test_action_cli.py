"""`cig action` and `cig learning` as a user types them, on a real database: an action added and listed,
a spreadsheet refused whole naming row and column, an update after ratification refused without a reason,
the learning summary written as Word and markdown. Invented names and example.org addresses only."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook
from typer.testing import CliRunner

from casework.forms import ReferralForm
from casework.delivery import deliver_pending
from casework.office import Office
from casework.review import actions as review
from casework.review.forms import AppointmentForm, RatificationForm
from cli import main as cig
from cli import subcommands
from tests.tasks.conftest import Mailbox
from tests.tasks.test_review import at, decided, form


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(subcommands, "clock", lambda: at(4, 20, year=2027))
    return CliRunner()


def cig_json(runner: CliRunner, *arguments: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(cig.app, [*arguments, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.output)


def refused(runner: CliRunner, *arguments: str) -> str:
    result = runner.invoke(cig.app, list(arguments))
    assert result.exit_code != 0
    return str(result.exception)


async def test_cig_action_adds_lists_imports_and_updates_actions(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm, runner: CliRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    reference = await decided(office, referral_form)
    review.commission_review(office, reference, now=at(12, 11))
    review.appoint_reviewer(office, reference, form(AppointmentForm, reviewer="Rowan Reviewer", kind="independent",
                                                    independent_of_agencies=True, appointed_on="2026-12-20",
                                                    appointed_by="Review group"), now=at(12, 20), actor="t")
    added = cig_json(runner, "action", "add", reference, "--plan", "multi_agency", "--finding", "Late information.",
                     "--action", "Daily triage with health visiting.", "--agency", "HEALTH", "--lead-name", "Ash Lead",
                     "--lead-email", "ash.lead@example.org", "--target", "2027-07-31",
                     "--evidence-of-impact", "Triage minutes.")
    assert added == {"reference": reference, "number": 1}
    assert [m.subject for m in mailbox.received() if "ash.lead@example.org" in m.to] == [
        f"[{reference}] You are the named lead: learning action 1 (Northshire Health Trust)"]
    assert "lead_email" in refused(runner, "action", "add", reference, "--plan", "single_agency", "--finding", "F",
                                   "--action", "A", "--agency", "CSC", "--lead-name", "Sky Practitioner",
                                   "--lead-email", "not-an-address", "--target", "2027-07-31",
                                   "--evidence-of-impact", "E")

    book = Workbook()
    book.active.append(["Plan", "Finding", "Action", "Agency", "Lead name", "Lead email", "Target date",
                        "Evidence of impact"])
    book.active.append(["single_agency", "Fathers unseen.", "Audit 20 assessments.", "CSC", "Sky Practitioner",
                        "sky.practitioner@example.org", datetime(2027, 6, 30), "15 of 20 see the father."])
    book.active.append(["single_agency", "Flags.", "Brief call handlers.", "NOPE", "Jo Constable",
                        "jo.constable@example.org", datetime(2027, 9, 30), "Flags raised."])
    bad = tmp_path / "plan.xlsx"
    book.save(bad)
    assert "row 3, column D (Agency)" in refused(runner, "action", "import", reference, str(bad))
    assert [a["number"] for a in cig_json(runner, "action", "list", reference)["actions"]] == [1]  # nothing imported
    book.active.delete_rows(3)
    book.save(bad)
    assert cig_json(runner, "action", "import", reference, str(bad))["numbers"] == [2]

    for by in ("cig", "executive_group"):
        review.record_ratification(office, reference, form(RatificationForm, by=by, result="ratified", on="2027-05-04"),
                                   now=at(5, 4, year=2027), actor="t")
    monkeypatch.setattr(subcommands, "clock", lambda: at(7, 5, year=2027))
    assert "reason: the plans are ratified" in refused(runner, "action", "update", reference, "2", "--target", "2027-08-31")
    updated = cig_json(runner, "action", "update", reference, "2", "--target", "2027-08-31", "--reason",
                       "The audit team was redeployed.")
    assert (updated["status"], updated["target_on"], updated["updates"]) == ("open", "2027-08-31", 1)
    listed = cig_json(runner, "action", "list", reference)
    assert (listed["ratified_on"], listed["impact_review_due"]) == ("2027-05-04", "2027-11-04")
    assert [(a["number"], a["agency"], a["lead_name"], a["status"]) for a in listed["actions"]] == [
        (1, "HEALTH", "Ash Lead", "open"), (2, "CSC", "Sky Practitioner", "open")]
    shown = runner.invoke(cig.app, ["action", "list", reference]).output
    assert "2. [open] CSC single-agency, lead Sky Practitioner <sky.practitioner@example.org>, by 2027-08-31" in shown

    # a new lead, with the mail server down: recorded, and the notice waits for the sweep, which the output says
    mailbox.stop()
    said = runner.invoke(cig.app, ["action", "update", reference, "2", "--lead-name", "Robin Newlead", "--lead-email",
                                   "robin.newlead@example.org", "--reason", "Sky Practitioner moved team."]).output
    assert re.match(rf"{reference}: action 2 is open, due 2027-08-31 \(2 recorded updates\) \(0 messages sent, \d+ not sent "
                    r"yet: the deadline sweep tries again, and `cig outbox` shows them\)\.$", said), said
    mailbox.start()
    await deliver_pending(office)  # what the next deadline sweep does
    assert [m.subject for m in mailbox.received() if "robin.newlead@example.org" in m.to] == [
        f"[{reference}] You are the named lead: learning action 2 (Children's Social Care)"]

    answers = tmp_path / "summary.yaml"
    answers.write_text(
        "case_selection: Referred by the health trust.\ncompleted_on: 2027-05-04\n"
        "learning_about_case: Information did not reach the health visitor.\n"
        "learning_about_method: Practitioners' events worked.\nsingle_agency_recommendations: Audit assessments.\n"
        "multi_agency_recommendations: Daily triage.\nwho_is_doing_what: The training officer leads.\n"
        "impact_audit: A multi-agency audit in 2028.\n", encoding="utf-8")
    written = cig_json(runner, "learning", "summary", reference, str(answers), "--out", str(tmp_path / "summary"))
    document = Document(written["docx"])
    assert document.tables[0].rows[4].cells[1].text == reference
    assert Path(written["markdown"]).read_text(encoding="utf-8").startswith(f"# Learning Summary: {reference}")

    written = cig_json(runner, "learning", "index", "--format", "xlsx", "--out", str(tmp_path / "index.xlsx"))
    from openpyxl import load_workbook

    sheet = load_workbook(written["file"]).active
    assert [c.value for c in sheet[2]][:2] == ["Serious Case Review", reference]
    assert "1 entries" in runner.invoke(cig.app, ["learning", "index", "--out", str(tmp_path / "index.md")]).output
    assert (tmp_path / "index.md").read_text(encoding="utf-8").startswith("# Northshire")


def test_cig_report_year_writes_the_annual_section_and_emails_it_to_the_board(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from casework.learning import actions as learning
    from casework.learning.forms import ActionUpdateForm
    from tests.tasks.test_learning_actions import ratified_review

    reference = asyncio.run(ratified_review(office, referral_form))  # cig runs its own event loop
    learning.update_action(office, reference, form(ActionUpdateForm, number=1, status="done", evidence="Minutes.",
                                                   done_on="2027-07-20"), now=at(7, 21, year=2027), actor="t")
    monkeypatch.setattr(subcommands, "clock", lambda: at(1, 5, year=2028))
    seen = len(mailbox.received())
    result = CliRunner().invoke(cig.app, ["report", "--year", "2027", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    written = json.loads(result.output)
    assert written["email"] == "sent" and written["actions_on_time"] == "1 of 3 (33.3%)"
    text = "\n".join(p.text for p in Document(written["docx_path"]).paragraphs)
    assert "Actions due in the year done on time: 1 of 3 (33.3%)." in text
    [mail] = mailbox.received()[seen:]
    assert mail.to == ["board@example.org"] and "Case reviews and their impact, 2027" in mail.subject
    assert {p.get_filename() for p in mail.message().iter_attachments()} == {
        "annual-report-2027.docx", "annual-report-2027.md", "annual-report-2027.png"}
