"""An agency answers its CIGINF1 request itself, on the secure website, from the link in its email:
what the page shows, what a submit records, what the agency and the administrator receive, and what
is refused (a second submit, bad input, a disguised or oversized upload, a cross-site post)."""

from __future__ import annotations

import io
import logging
import re
import zipfile

import httpx
from sqlalchemy import select

from casework.office import Office
from casework.store import cases as store
from casework.store import links as link_store
from casework.store.tables import OutboxMessage
from tests.website.conftest import ADMIN, IDENTITIES, POLICE, mails_to

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> "
       b"endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\nxref\n0 4\n"
       b"0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
       b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")  # a one-page PDF, its cross-reference table counted


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                         'officedocument.wordprocessingml.document.main+xml"/></Types>')
        archive.writestr("word/document.xml", "<w:document><w:t>An annex: the chronology.</w:t></w:document>")
    return buffer.getvalue()


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


def title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)  # type: ignore[union-attr]


RETURN = {"status": "returned", "involvement": "Two home visits in August; a referral to early help.",
          "key_practitioners": "PC Ash Example, neighbourhood officer\nDS Birch Example", "attendees": "DI Pat Police"}


async def post_return(client: httpx.AsyncClient, link: str, fields: dict[str, str],
                      files: list[tuple[str, bytes]] | None = None) -> httpx.Response:
    page = (await client.get(link)).text
    uploads = [("documents", (name, data, "application/octet-stream")) for name, data in (files or [])]
    return await client.post(link, data={**fields, "form_token": form_token(page)}, files=uploads or None)


def request_of(office: Office, reference: str, agency: str):  # type: ignore[no-untyped-def]
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        return next(r for r in case.requests if r.round == case.round and r.agency == agency)


def events(office: Office, reference: str) -> list[tuple[str, str]]:
    with office.sessions() as session:
        return [(e.actor, e.action) for e in store.audit_trail(session, reference=reference)]


async def test_the_link_in_the_ciginf1_email_opens_the_request_with_who_it_is_about(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    [email] = mails_to(office, POLICE, "(CIGINF1)")
    for identity in IDENTITIES:  # the email no longer carries the child's or family's identity
        assert identity not in email.text() and identity not in email.html()

    response = await client.get(police_link)

    assert response.status_code == 200
    page = response.text
    assert f"Case {case}" in page and "Return your request for information (CIGINF1)" in page
    assert "Northshire Police" in page
    assert "Robin Testchild" in page and "Friday 3 July 2026" in page and "1 Invented Row, Northshire NS1 0AA" in page
    assert "Jordan Testparent" in page and "Saturday 14 February 1998" in page and "mother" in page
    assert "Each file can be up to 10 MB, and up to 20 MB in all" in page
    for identity in IDENTITIES:
        assert identity not in title(page)
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"
    assert ("agency POL (link 1)", "return page viewed") in events(office, case) or \
        any(actor.startswith("agency POL") and action == "return page viewed" for actor, action in events(office, case))


async def test_a_return_with_its_document_is_recorded_receipted_and_told_to_the_administrator(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    response = await post_return(client, police_link, RETURN, [("CIGINF1 police.pdf", PDF), ("annex.docx", docx())])

    assert response.status_code == 200, response.text
    assert "Return recorded" in response.text and case in response.text and "with 2 documents" in response.text
    request = request_of(office, case, "POL")
    assert request.status == "returned"
    assert request.content == {"involvement": RETURN["involvement"],
                               "key_practitioners": ["PC Ash Example, neighbourhood officer", "DS Birch Example"]}
    assert request.attendees == ["DI Pat Police"]
    with office.sessions() as session:
        kept = link_store.return_documents(session, case=store.get_case(session, reference=case), agency="POL")
        assert [d.document["filename"] for d in kept] == ["CIGINF1 police.pdf", "annex.docx"]
    [receipt] = mails_to(office, POLICE, "Your CIGINF1 return is recorded")
    assert "with 2 documents" in receipt.text()
    [told] = mails_to(office, ADMIN, "CIGINF1 return received from POL")
    assert "Northshire Police returned CIGINF1" in " ".join(told.text().split())
    assert any(a == "return recorded" for _, a in events(office, case))
    assert any(a == "return submitted by link" for _, a in events(office, case))

    again = await client.post(police_link, data={**RETURN, "form_token": "0" * 64})
    assert again.status_code == 410
    assert "This has already been recorded" in again.text
    assert request_of(office, case, "POL").returned_at == request.returned_at
    assert len(mails_to(office, POLICE, "Your CIGINF1 return is recorded")) == 1
    assert "already been recorded" in (await client.get(police_link)).text


async def test_a_nil_return_needs_no_document(office: Office, case: str, client: httpx.AsyncClient) -> None:
    [request] = mails_to(office, "health@example.org", "(CIGINF1)")
    from tests.website.conftest import link_in

    response = await post_return(client, link_in(request), {"status": "nil"})

    assert response.status_code == 200 and "nil return is recorded" in response.text
    assert request_of(office, case, "HEALTH").status == "nil"


async def test_each_problem_is_named_in_words_against_its_field_and_nothing_is_recorded(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    empty = await post_return(client, police_link, {})
    assert empty.status_code == 400
    assert title(empty.text).startswith("Error: ")
    assert "There is a problem" in empty.text
    assert '<a href="#status">Select whether your agency was involved with the child or family</a>' in empty.text

    bare = await post_return(client, police_link, {"status": "returned", "involvement": ""})
    assert '<a href="#involvement">Enter your agency&#39;s involvement with the child and family</a>' in bare.text
    assert '<a href="#documents">Select the completed CIGINF1 to upload</a>' in bare.text
    assert 'id="involvement-error"' in bare.text and 'aria-describedby="involvement-hint involvement-error"' in bare.text
    assert 'value="returned" checked' in bare.text  # what was chosen stays chosen

    long_name = await post_return(client, police_link, {**RETURN, "key_practitioners": "A\n" + "x" * 121}, [("r.pdf", PDF)])
    assert "Key practitioners (line 2): string should have at most 120 characters" in long_name.text

    assert request_of(office, case, "POL").status == "outstanding"


async def test_a_disguised_or_oversized_upload_is_refused_saying_why_and_nothing_is_stored(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    disguised = await post_return(client, police_link, RETURN, [("CIGINF1.pdf", b"MZ\x90\x00 a renamed executable")])
    assert disguised.status_code == 400
    assert "The completed CIGINF1: CIGINF1.pdf is not a PDF, Word (.docx) or OpenDocument (.odt) document" in disguised.text

    oversized = await post_return(client, police_link, RETURN, [("big.pdf", PDF + b"0" * (21 * 1024 * 1024))])
    assert oversized.status_code == 413
    assert "The selected files must be smaller than 20 MB in all" in oversized.text

    assert request_of(office, case, "POL").status == "outstanding"
    with office.sessions() as session:
        assert link_store.return_documents(session, case=store.get_case(session, reference=case)) == []


async def test_a_cross_site_post_or_one_without_the_pages_token_is_refused(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    page = (await client.get(police_link)).text
    fields = {**RETURN, "status": "nil", "form_token": form_token(page)}

    cross_site = await client.post(police_link, data=fields, headers={"Origin": "https://attacker.example.org"})
    assert cross_site.status_code == 403 and "The form could not be sent" in cross_site.text
    fetched_cross_site = await client.post(police_link, data=fields, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched_cross_site.status_code == 403
    no_token = await client.post(police_link, data={**fields, "form_token": ""})
    assert no_token.status_code == 403

    assert request_of(office, case, "POL").status == "outstanding"


async def test_html_typed_into_a_field_comes_back_escaped(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    typed = {"status": "returned", "involvement": "<script>alert('x')</script>", "attendees": "<b>bold</b>"}

    response = await post_return(client, police_link, typed)  # refused: no document

    assert "<script>alert" not in response.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in response.text
    assert "<b>bold</b>" not in response.text and "&lt;b&gt;bold&lt;/b&gt;" in response.text


async def test_the_websites_log_names_the_route_never_the_token(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="website")
    await client.get(police_link)
    await post_return(client, police_link, {"status": "nil"})

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /link/{token} 200" in logged and "POST /link/{token} 200" in logged
    token = police_link.rsplit("/", 1)[1]
    assert token not in logged
    for identity in IDENTITIES:
        assert identity not in logged
    with office.sessions() as session:  # the database keeps the token's digest, never the token
        bodies = " ".join(str(row) for row in session.execute(select(OutboxMessage.key, OutboxMessage.subject)))
        assert token not in bodies


async def test_a_zip_bomb_posing_as_word_or_a_pdf_header_on_anything_else_is_refused_naming_the_field(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    bomb = io.BytesIO()  # a real Word package but for one part: 16 MB of zeros, about 16 KB packed
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, zipfile.ZipFile(io.BytesIO(docx())) as real:
        for part in real.namelist():
            archive.writestr(part, real.read(part))
        archive.writestr("word/media/image1.png", b"\0" * (16 * 1024 * 1024))

    expanding = await post_return(client, police_link, RETURN, [("CIGINF1.docx", bomb.getvalue())])
    pretending = await post_return(client, police_link, RETURN, [("CIGINF1.pdf", b"%PDF-1.7\nMZ\x90\x00 not a PDF")])
    named = await post_return(client, police_link, RETURN, [("C:\\Users\\pat\\CIGINF1 \u202efdp.exe", b"MZ\x90\x00")])

    assert expanding.status_code == 400
    assert '<a href="#documents">The completed CIGINF1: CIGINF1.docx expands to far more than its size ' \
           '(a compressed archive, not a document)</a>' in expanding.text
    assert pretending.status_code == 400
    assert '<a href="#documents">The completed CIGINF1: CIGINF1.pdf is not a readable PDF</a>' in pretending.text
    assert "The completed CIGINF1: CIGINF1 fdp.exe is not a PDF" in named.text and "\u202e" not in named.text
    assert request_of(office, case, "POL").status == "outstanding"
    with office.sessions() as session:
        assert link_store.return_documents(session, case=store.get_case(session, reference=case)) == []


async def test_a_file_name_is_kept_without_its_folders_or_hidden_characters(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    response = await post_return(client, police_link, RETURN, [("C:\\Users\\pat\\CIGINF1 \u202efdp.exe", PDF)])

    assert response.status_code == 200, response.text
    with office.sessions() as session:
        [kept] = link_store.return_documents(session, case=store.get_case(session, reference=case), agency="POL")
    assert kept.document["filename"] == "CIGINF1 fdp.pdf"


async def test_the_blank_ciginf1_from_the_request_email_is_not_a_return(
        office: Office, case: str, police_link: str, client: httpx.AsyncClient) -> None:
    [request] = mails_to(office, POLICE, "(CIGINF1)")
    [blank] = [part for part in request.message().iter_attachments() if part.get_filename() == "CIGINF1.docx"]

    response = await post_return(client, police_link, RETURN, [("CIGINF1.docx", blank.get_content())])

    assert response.status_code == 400
    assert '<a href="#documents">The completed CIGINF1: CIGINF1.docx is the blank CIGINF1 form from the request ' \
           'email; please fill it in before uploading</a>' in response.text
    assert request_of(office, case, "POL").status == "outstanding"
    with office.sessions() as session:
        assert link_store.return_documents(session, case=store.get_case(session, reference=case)) == []
