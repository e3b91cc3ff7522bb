"""A personal link opens its page only for the person it was made for, only for that step: refused,
with a page that says why and nothing about the case, when tampered with, guessed, expired, revoked
(`cig link revoke`), replaced (`cig link resend`) or overtaken by another round; guessing is throttled."""

from __future__ import annotations

import asyncio

from datetime import timedelta

import httpx
from sqlalchemy import update
from typer.testing import CliRunner

from casework.links import token_digest
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import Case, PersonalLink
from cli.main import app as cig
from tests.website.conftest import IDENTITIES, POLICE, link_in, mails_to, now


async def cig_says(arguments: list[str]):  # type: ignore[no-untyped-def]
    """`cig ARGUMENTS` as a person at a terminal runs it (in a thread: cig runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cig, arguments)


def assert_reveals_nothing(response: httpx.Response, reference: str) -> None:
    assert reference not in response.text
    for identity in IDENTITIES:
        assert identity not in response.text
    assert "Return your request" not in response.text


async def test_a_tampered_or_guessed_link_is_not_recognised(office: Office, case: str, police_link: str,
                                                           client: httpx.AsyncClient) -> None:
    token = police_link.rsplit("/", 1)[1]
    tampered = police_link[:-1] + ("A" if token[-1] != "A" else "B")

    for url in (tampered, f"{office.settings.website_url}/link/short", f"{office.settings.website_url}/link/{'x' * 43}"):
        response = await client.get(url)
        assert response.status_code == 404
        assert "This link is not recognised" in response.text
        assert_reveals_nothing(response, case)


async def test_guessing_links_is_throttled(office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    for attempt in range(10):
        assert (await client.get(f"{office.settings.website_url}/link/{'g' * 42}{attempt}")).status_code == 404

    blocked = await client.get(police_link)  # even a good link, from the address that kept guessing

    assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    assert_reveals_nothing(blocked, case)


async def test_an_expired_link_is_refused(office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    with office.sessions.begin() as session:
        session.execute(update(PersonalLink).where(PersonalLink.token_hash == token_digest(police_link.rsplit("/", 1)[1]))
                        .values(expires_at=now() - timedelta(minutes=1)))

    response = await client.get(police_link)

    assert response.status_code == 410 and "This link has expired" in response.text
    assert_reveals_nothing(response, case)
    with office.sessions() as session:
        assert any(e.action == "link refused" and e.detail["reason"] == "expired"
                   for e in store.audit_trail(session, reference=case))


async def test_a_link_of_an_earlier_round_or_meeting_is_refused(office: Office, case: str, police_link: str,
                                                              client: httpx.AsyncClient) -> None:
    with office.sessions.begin() as session:
        session.execute(update(Case).where(Case.reference == case).values(round=2))

    response = await client.get(police_link)

    assert response.status_code == 410 and "This link is out of date" in response.text
    assert_reveals_nothing(response, case)


async def test_cig_link_revoke_withdraws_a_cases_links(office: Office, case: str, police_link: str,
                                                      client: httpx.AsyncClient) -> None:
    [health_request] = mails_to(office, "health@example.org", "(CIGINF1)")

    result = await cig_says(["link", "revoke", case, "--agency", "POL"])

    assert result.exit_code == 0, result.output
    assert f"{case}: 1 live link of POL withdrawn." in result.output
    refused = await client.get(police_link)
    assert refused.status_code == 410 and "withdrawn by the partnership administrator" in refused.text
    assert (await client.get(link_in(health_request))).status_code == 200  # another agency's link still works

    everything = await cig_says(["link", "revoke", case])
    assert f"{case}: 8 live links withdrawn." in everything.output  # the other six agencies', the two screening links


async def test_cig_link_resend_emails_a_new_link_and_the_old_one_stops(office: Office, case: str, police_link: str,
                                                                      client: httpx.AsyncClient) -> None:
    result = await cig_says(["link", "resend", case, "--agency", "POL"])

    assert result.exit_code == 0, result.output
    assert f"{case}: a new link for POL sent to {POLICE}; its earlier links no longer work." in result.output
    [resent] = mails_to(office, POLICE, "Your new link to the request for information (CIGINF1)")
    new_link = link_in(resent)
    assert new_link != police_link
    for identity in IDENTITIES:
        assert identity not in resent.text()
    assert (await client.get(police_link)).status_code == 410
    opened = await client.get(new_link)
    assert opened.status_code == 200 and "Robin Testchild" in opened.text
    with office.sessions() as session:
        assert "link resent" in [e.action for e in store.audit_trail(session, reference=case)]

    again = await cig_says(["link", "resend", case, "--agency", "NOPE"])
    assert again.exit_code != 0


async def test_a_reminder_or_chase_to_an_agency_carries_a_fresh_link_to_its_request(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    from casework.delivery import deliver_pending
    from casework.sweep import queue_reminders

    with office.sessions() as session:
        due_at = next(r.due_at for r in store.get_case(session, reference=case).requests if r.agency == "POL")
    chased_at = due_at + timedelta(hours=1)
    while not office.calendar.is_working_day(office.calendar.local_date(chased_at)):  # chases go on working days only
        chased_at += timedelta(days=1)
    queue_reminders(office, now=chased_at)  # overdue: a chase to each agency, copied to the administrator
    await deliver_pending(office)

    [chase] = mails_to(office, POLICE, "OVERDUE")
    chase_link = link_in(chase)
    assert chase_link != police_link
    for identity in IDENTITIES:
        assert identity not in chase.text()
    assert "Robin Testchild" in (await client.get(chase_link)).text
    [copy] = mails_to(office, "cig-admin@example.org", "OVERDUE (copy)")[:1]
    assert "/link/" not in copy.text()  # the administrator's copy carries no agency's link


async def test_a_case_moved_to_another_meeting_tells_each_agency_its_new_link(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    from casework.delivery import deliver_pending
    from casework.meetings.rescheduling import add_meeting

    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=case).meeting_at
    extraordinary = (meeting_at - timedelta(days=2)).replace(hour=14)  # type: ignore[union-attr]
    add_meeting(office, extraordinary, now=now(), reason="an extraordinary meeting (test)", actor="test",
                relist_cases=[case])
    await deliver_pending(office)

    [notice] = mails_to(office, POLICE, "Extraordinary meeting")
    new_link = link_in(notice)
    assert (await client.get(police_link)).status_code == 410  # listed for another meeting: out of date
    opened = await client.get(new_link)
    assert opened.status_code == 200 and "Robin Testchild" in opened.text
