"""Members read the meeting papers from their own link in the agenda email: the agenda, each listed
case's paper and the returns received, read from the papers pack on disk (its source), each view and
download audited; the link stops a configured time after the meeting."""

from __future__ import annotations

import io
import re

from datetime import datetime, timedelta

import httpx
from docx import Document
from sqlalchemy import update

from casework.links import token_digest
from casework.office import Office
from casework.meetings.preparation import Preparation, prepare_meeting, prepare_meetings
from casework.store import cases as store
from casework.store.tables import AuditEvent, PersonalLink
from tests.website.conftest import IDENTITIES, link_in, mails_to, now
from tests.website.test_website_return import PDF, RETURN, post_return
from website.pages import day


WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def word_text(content: bytes) -> str:
    """Every paragraph and table cell of a downloaded Word document, as python-docx opens it."""
    document = Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return " ".join([p.text for p in document.paragraphs] + cells)


def prepared(office: Office, reference: str) -> Preparation:
    """The case's meeting prepared on its preparation day (a few working days before it)."""
    with office.sessions() as session:
        meeting_at: datetime = store.get_case(session, reference=reference).meeting_at  # type: ignore[assignment]
    for days in range(14, -1, -1):
        preparation = prepare_meeting(office, now=meeting_at - timedelta(days=days))
        if preparation is not None:
            return preparation
    raise AssertionError("the meeting was never prepared")


async def test_a_member_reads_the_papers_from_the_link_in_the_agenda(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    await post_return(client, police_link, {**RETURN}, [("CIGINF1 police.pdf", PDF)])  # a return received, in the papers
    preparation = prepared(office, case)
    from casework.delivery import deliver_pending

    await deliver_pending(office)
    [agenda] = mails_to(office, "cig-chair@example.org", "Agenda (CIGM1)")
    link = link_in(agenda)
    assert "secure website" in agenda.text()
    for identity in IDENTITIES:
        assert identity not in agenda.text()

    response = await client.get(link)

    assert response.status_code == 200
    page = response.text
    assert f"Case {case}: papers for the meeting" in page and "Robin Testchild" in page
    assert "Northshire Police (POL)" in page and "Two home visits in August" in page
    document = re.search(r'href="(/link/[^"]+/documents/\d+)"', page)
    assert document and "CIGINF1 police.pdf" in page
    uploaded = await client.get(document.group(1))
    assert uploaded.status_code == 200 and uploaded.content == PDF
    assert uploaded.headers["content-type"] == "application/pdf"
    assert "CIGM1 agenda" in page and "Part A: Practitioner review" in page
    for identity in IDENTITIES:
        assert identity not in page.split("</title>")[0]
    assert f'href="/link/{link.rsplit("/", 1)[1]}/papers/agenda.docx"' in page
    download = await client.get(f"{link}/papers/case-{case}.docx")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert download.headers["content-type"] == WORD
    paper = word_text(download.content)
    assert f"Case {case}: papers for the meeting" in paper and "Robin Testchild" in paper
    assert "Two home visits in August" in paper
    agenda_document = await client.get(f"{link}/papers/agenda.docx")
    assert agenda_document.headers["content-type"] == WORD
    assert f"A1. Case {case}" in word_text(agenda_document.content)
    assert (await client.get(f"{link}/papers/case-{case}.md")).status_code == 404  # Word, not markdown
    assert preparation.papers.exists()
    assert (await client.get(f"{link}/papers/..%2Fcig.sqlite3")).status_code == 404
    with office.sessions() as session:
        actions = [e.action for e in session.query(AuditEvent).all()]
    assert "meeting papers viewed" in actions and "meeting paper downloaded" in actions
    assert "return document downloaded" in actions

    [police_agenda] = mails_to(office, "police@example.org", "Agenda (CIGM1)")
    assert link_in(police_agenda) != link  # each member has their own link


async def test_the_papers_link_stops_after_the_meeting(office: Office, case: str, client: httpx.AsyncClient) -> None:
    prepared(office, case)
    from casework.delivery import deliver_pending

    await deliver_pending(office)
    link = link_in(mails_to(office, "cig-chair@example.org", "Agenda (CIGM1)")[0])
    with office.sessions() as session:
        expires_at = session.query(PersonalLink).filter_by(token_hash=token_digest(link.rsplit("/", 1)[1])).one().expires_at
        meeting_at = store.get_case(session, reference=case).meeting_at
    assert expires_at == meeting_at + timedelta(hours=office.settings.papers_link_hours)

    with office.sessions.begin() as session:
        session.execute(update(PersonalLink).values(expires_at=now() - timedelta(seconds=1)))
    response = await client.get(link)

    assert response.status_code == 410 and "This link has expired" in response.text
    assert case not in response.text


async def test_an_extraordinary_meeting_has_its_own_papers_link_with_only_its_cases(
        office: Office, client: httpx.AsyncClient) -> None:
    from casework.delivery import deliver_pending
    from casework.meetings.rescheduling import add_meeting
    from tests.website.conftest import listed_case

    urgent, regular = await listed_case(office), await listed_case(office)  # both listed for the next meeting
    with office.sessions() as session:
        meeting_at: datetime = store.get_case(session, reference=regular).meeting_at  # type: ignore[assignment]
    extraordinary = meeting_at - timedelta(days=1)  # the day before: a day the rule gives no meeting
    add_meeting(office, extraordinary, now=now(), reason="The urgent case cannot wait", actor="administrator",
                relist_cases=[urgent])
    for days in range(14, -1, -1):
        prepare_meetings(office, now=extraordinary - timedelta(days=days))
    await deliver_pending(office)

    agendas = mails_to(office, "cig-chair@example.org", "Agenda (CIGM1)")
    assert len(agendas) == 2
    links = {agenda.subject: link_in(agenda) for agenda in agendas}
    [own] = [link for subject, link in links.items() if day(extraordinary) in subject]
    [usual] = [link for subject, link in links.items() if day(meeting_at) in subject]

    own_page, usual_page = (await client.get(own)).text, (await client.get(usual)).text
    assert f"Case {urgent}: papers for the meeting" in own_page and regular not in own_page
    assert f"Case {regular}: papers for the meeting" in usual_page and urgent not in usual_page
    assert (await client.get(f"{own}/papers/case-{urgent}.docx")).status_code == 200
    assert (await client.get(f"{usual}/papers/case-{urgent}.docx")).status_code == 404
    assert f"A1. Case {urgent}" in word_text((await client.get(f"{own}/papers/agenda.docx")).content)
