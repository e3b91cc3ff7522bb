"""The safeguarding partners' yearly report under `wt2023`, against a real case database and a real SMTP
server: its publication recorded with its link sends it, Word and markdown attached, to the Child Safeguarding
Practice Review Panel and the Secretary of State once each; with the mail server down, the sweep warns the
business manager once, two days before the 7 days run out, and everything goes once the server is back."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from docx import Document

import casework.store
from casework.delivery import deliver_pending
from casework.learning.forms import YearlyReportPublicationForm
from casework.learning.yearly_publication import (
    queue_yearly_report_warnings, record_yearly_report_publication, texts_path,
)
from casework.clocks import report_period_containing
from casework.office import Office, open_office
from config.settings import CONFIG_DIR
from notifications.mailbox import read_mailbox, start_mailbox
from tests.tasks.test_sweep import _free_port

EXAMPLE_TEXTS = Path(__file__).resolve().parents[2] / "examples" / "yearly-report.yaml"
PANEL, DFE = "review-panel@example.org", "dfe-reviews@example.org"
MANAGER = "partnership-manager@example.org"
PUBLISHED = date(2027, 7, 30)  # a Friday; sent by Friday 6 August
RECORDED = datetime(2027, 7, 30, 15, tzinfo=timezone.utc)
LINK = "https://southshire.example.org/yearly-report-2026-27"


@pytest.fixture
def port() -> int:
    """The mail server's port; each test starts the server when it wants mail to go."""
    return _free_port()


@pytest.fixture
def wt2023_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int) -> Iterator[Office]:
    """The invented wt2023 partnership (config/partnership.wt2023.example.yaml) on its own database."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(CONFIG_DIR / "partnership.wt2023.example.yaml"))
    monkeypatch.setenv("CIG_SMTP_PORT", str(port))
    monkeypatch.setenv("CIG_SMTP_TIMEOUT_SECONDS", "2")
    casework.store._factory.cache_clear()
    office = open_office()
    yield office
    office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def _form(**changes: object) -> YearlyReportPublicationForm:
    data = {"period_starts_on": "2026-04-01", "published_on": PUBLISHED.isoformat(), "link": LINK, **changes}
    return YearlyReportPublicationForm.model_validate(data, context={"today": RECORDED.date()})


def _texts_written(office: Office) -> None:
    path = texts_path(office, report_period_containing(date(2026, 4, 1), 4))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE_TEXTS, path)


def test_the_published_yearly_report_goes_to_the_panel_and_the_secretary_of_state_once_each(
        wt2023_office: Office, port: int) -> None:
    office = wt2023_office
    mailbox = start_mailbox(office.settings.mail_dir, port=port)
    try:
        with pytest.raises(ValueError, match="^period_starts_on: the partners have not written the report's texts"):
            record_yearly_report_publication(office, _form(), now=RECORDED, actor="test")
        _texts_written(office)
        with pytest.raises(ValueError, match="^period_starts_on: the partnership's periods start on the 1st of April"):
            record_yearly_report_publication(office, _form(period_starts_on="2026-05-01"), now=RECORDED, actor="test")
        with pytest.raises(ValueError, match="^published_on: the period April 2026 to March 2027 ends on 31 March"):
            record_yearly_report_publication(office, _form(published_on="2027-03-30"), now=RECORDED, actor="test")
        assert read_mailbox(office.settings.mail_dir) == []  # nothing queued by a refusal

        published = record_yearly_report_publication(office, _form(), now=RECORDED, actor="test")
        assert published.queued == 2 and published.send_by.date() == date(2027, 8, 6)
        asyncio.run(deliver_pending(office))
        again = record_yearly_report_publication(office, _form(), now=RECORDED, actor="test")  # a second submit
        asyncio.run(deliver_pending(office))
        assert again.queued == 0

        mails = read_mailbox(office.settings.mail_dir)
        assert sorted(m.to[0] for m in mails) == [DFE, PANEL]
        for mail in mails:
            assert mail.subject == ("Southshire Safeguarding Children Partnership: Safeguarding partners' yearly "
                                    "report, April 2026 to March 2027")
            text = mail.text()
            assert "published its report" in text and "Friday 30 July 2027" in text and LINK in text
            assert "within 7 days of its publication" in text
            parts = {p.get_filename(): p for p in mail.message().iter_attachments()}
            assert set(parts) == {"yearly-report-2026-04.docx", "yearly-report-2026-04.md"}
            document = Document(io.BytesIO(parts["yearly-report-2026-04.docx"].get_content()))
            words = "\n".join(p.text for p in document.paragraphs)
            assert "The independent scrutineer observed two rapid review meetings" in words
            assert "Not written yet" not in words
        assert queue_yearly_report_warnings(office, now=datetime(2027, 8, 5, 9, tzinfo=timezone.utc)) == 0  # all sent
    finally:
        mailbox.stop()


def test_the_business_manager_is_warned_once_when_the_report_has_not_gone_two_days_before_its_seven_run_out(
        wt2023_office: Office, port: int) -> None:
    office = wt2023_office
    _texts_written(office)
    record_yearly_report_publication(office, _form(), now=RECORDED, actor="test")
    asyncio.run(deliver_pending(office))  # the mail server is down: both stay queued
    moment = lambda day: datetime(2027, 8, day, 9, tzinfo=timezone.utc)  # noqa: E731

    assert queue_yearly_report_warnings(office, now=moment(3)) == 0  # not yet: send by Friday 6 August
    assert queue_yearly_report_warnings(office, now=moment(4)) == 1
    assert queue_yearly_report_warnings(office, now=moment(5)) == 0  # once
    mailbox = start_mailbox(office.settings.mail_dir, port=port)
    try:
        asyncio.run(deliver_pending(office))  # the server is back: everything goes, once
        asyncio.run(deliver_pending(office))
    finally:
        mailbox.stop()
    mails = read_mailbox(office.settings.mail_dir)
    assert sorted(m.to[0] for m in mails) == [DFE, MANAGER, PANEL]
    [warning] = [m for m in mails if m.to == [MANAGER]]
    assert warning.subject.endswith("not yet sent to everyone")
    text = warning.text()
    assert "Wednesday 4 August" not in text and "Friday 6 August 2027, 23:59" in text
    assert "Child Safeguarding Practice Review Panel (test), Department for Education reviews (test)" in text
    assert queue_yearly_report_warnings(office, now=moment(6)) == 0


async def test_the_yearly_report_reads_each_reviews_clocks_and_the_actions_done_from_the_records(
        office: Office, mailbox: object, referral_form: object) -> None:
    """From the case database: the review commissioned in the period with its case's statutory clocks (the
    labels of the case's own rule set, met or not), and the action done in it with its evidence."""
    from casework.learning import actions as learning
    from casework.learning.forms import ActionUpdateForm
    from casework.learning.yearly_publication import build_yearly_report
    from tests.tasks.test_learning_actions import ratified_review
    from tests.tasks.test_review import at, form

    reference = await ratified_review(office, referral_form)  # type: ignore[arg-type]
    learning.update_action(office, reference, form(
        ActionUpdateForm, number=1, status="done", evidence="Triage minutes: health visiting at 19 of 20.",
        done_on="2027-05-03"), now=at(5, 5, year=2027), actor="t")

    # a partnership whose periods start in December: December 2026 to November 2027
    report = build_yearly_report(office, report_period_containing(date(2027, 1, 1), 12), now=at(5, 5, year=2027),
                                 texts=None)

    [review] = report.reviews
    assert (report.commissioned, review.reference, review.commissioned_on) == ((reference,), reference,
                                                                               date(2026, 12, 11))
    labels = {clock.label: clock.outcome(report.as_of).value for clock in review.clocks}
    rules = office.rules()
    assert labels[rules.clocks["decision"].label] == "met"
    assert all(label in {c.label for c in rules.clocks.values()} for label in labels)
    [done] = report.actions_done
    assert (done.reference, done.agency, done.done_on, done.evidence) == (
        reference, "HEALTH", date(2027, 5, 3), "Triage minutes: health visiting at 19 of 20.")
