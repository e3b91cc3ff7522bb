"""The purge deletes what the website kept with a case (its links and the uploaded CIGINF1 documents)
with the case itself."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from casework.office import Office
from casework.purge import purge_expired_cases
from casework.store.tables import Case, PersonalLink, ReturnDocument
from tests.website.conftest import now
from tests.website.test_website_return import PDF, RETURN, post_return


async def test_the_purge_deletes_a_cases_links_and_uploaded_documents(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    assert (await post_return(client, police_link, RETURN, [("CIGINF1.pdf", PDF)])).status_code == 200
    with office.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(ReturnDocument)) == 1
        session.execute(update(Case).values(status="closed", closed_at=now() - timedelta(days=366 * 30)))

    assert purge_expired_cases(office, now=now()) == [case]

    with office.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReturnDocument)) == 0
        assert session.scalar(select(func.count()).select_from(PersonalLink).where(PersonalLink.case_id.is_not(None))) == 0
    assert (await client.get(police_link)).status_code == 404
