"""The `annual-report` flow under the session's test Prefect server: the year's section written under the
papers folder as markdown and Word (with its chart), published as the artifact `annual-report-YYYY`, and
emailed once to the board contact with the Word document attached; a second run sends nothing again."""

from __future__ import annotations

from docx import Document
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from casework.office import Office
from casework.store import cases as store
from flows.annual_report import annual_report
from flows.learning_actions import add_action
from notifications.mailbox import read_mailbox
from tests.flows.test_learning_forms import action_as_typed, commissioned_review

BOARD = "board@example.org"


async def test_the_annual_report_flow_writes_the_section_and_emails_the_board_once(office: Office) -> None:
    reference = await commissioned_review(office)
    assert (await add_action(reference=reference, action=action_as_typed(office), return_state=True)).is_completed()
    with office.sessions() as session:  # the report of the year the review was commissioned in (weeks ago)
        year = store.get_case(session, reference=reference).review.commissioned_on.year

    state = await annual_report(year=year, return_state=True)

    assert state.is_completed(), state.message
    markdown = office.settings.papers_dir / "reports" / f"annual-report-{year}.md"
    assert await state.result() == str(markdown)
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith(f"# {office.partnership.name}: Case reviews and their impact, {year}")
    assert f"| commissioned | 1 ({reference}) |" in text
    assert markdown.with_suffix(".png").stat().st_size > 0
    words = "\n".join(p.text for p in Document(str(markdown.with_suffix(".docx"))).paragraphs)
    assert office.partnership.name in words
    [mail] = [m for m in read_mailbox(office.settings.mail_dir) if BOARD in m.to]
    assert mail.subject.startswith(f"{office.partnership.name}: ") and str(year) in mail.subject
    attached = {part.get_filename() for part in mail.message().iter_attachments()}
    assert attached == {f"annual-report-{year}.docx", f"annual-report-{year}.md", f"annual-report-{year}.png"}
    async with get_client() as client:
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"annual-report-{year}"])), limit=1)
    assert artifact.type == "markdown" and str(year) in str(artifact.data)

    again = await annual_report(year=year, return_state=True)  # the schedule's retry, or a person running it again

    assert again.is_completed(), again.message
    assert sum(BOARD in m.to for m in read_mailbox(office.settings.mail_dir)) == 1
