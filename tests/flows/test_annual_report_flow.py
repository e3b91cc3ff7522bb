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


async def test_under_wt2023_the_flow_writes_the_partners_yearly_report_and_its_publication_sends_it_once(
        office: Office) -> None:
    """The same `annual-report` flow writes the safeguarding partners' yearly report where the rule set has one;
    the `record-yearly-report` Run form records its publication and sends it to the Panel and the Secretary of
    State, once; a form with a publication date before the period ended is refused, naming the field."""
    import os
    import shutil
    from pathlib import Path

    import yaml

    from casework.office import open_office
    from config.settings import CONFIG_DIR
    from flows.annual_report import record_yearly_report

    path = Path(os.environ["CIG_PARTNERSHIP_FILE"])
    data = yaml.safe_load((CONFIG_DIR / "partnership.wt2023.example.yaml").read_text())
    data["reference_prefix"] = yaml.safe_load(path.read_text())["reference_prefix"]
    path.write_text(yaml.safe_dump(data))
    office = open_office()
    texts = office.settings.papers_dir / "reports" / "yearly-report-2025-04.yaml"
    texts.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "examples" / "yearly-report.yaml", texts)

    state = await annual_report(year=2025, return_state=True)

    assert state.is_completed(), state.message
    markdown = texts.with_suffix(".md")
    assert await state.result() == str(markdown)
    assert markdown.read_text(encoding="utf-8").startswith(
        f"# {office.partnership.name}: Safeguarding partners' yearly report, April 2025 to March 2026")
    async with get_client() as client:
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["yearly-report-2025-04"])), limit=1)
    assert "Children's and families' voice" in str(artifact.data)

    form = {"period_starts_on": "2025-04-01", "published_on": "2026-07-30", "link": "https://example.org/yearly"}
    refused = await record_yearly_report(publication=dict(form, published_on="2026-03-01"), return_state=True)
    assert refused.is_failed() and "Published on: the period April 2025 to March 2026 ends" in refused.message
    for _ in range(2):  # the form submitted twice
        recorded = await record_yearly_report(publication=form, return_state=True)
        assert recorded.is_completed(), recorded.message
    received = {m.to[0]: [a.get_filename() for a in m.message().iter_attachments()]
                for m in read_mailbox(office.settings.mail_dir)}
    assert received == {address: ["yearly-report-2025-04.docx", "yearly-report-2025-04.md"]
                        for address in ("review-panel@example.org", "dfe-reviews@example.org")}
