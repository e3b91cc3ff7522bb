"""What an uploaded document must be to be kept (casework.documents): a real PDF, Word or OpenDocument
text, not a zip bomb, without macros or scripts, under a name with no folders or hidden characters;
and the partnership's blank CIGINF1 is known for what it is."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfWriter

from casework.documents import (
    MAX_NAME_CHARACTERS, DocumentRefused, document_attachment, document_filename, is_blank_form,
)
from config.settings import CONFIG_DIR

BLANK_CIGINF1 = (CONFIG_DIR / "forms" / "CIGINF1.docx").read_bytes()
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="/word/document.xml" ContentType="{main}"/>{more}</Types>')


def docx(text: str = "Northshire Police: two home visits in August.", *, main: str = WORD_MAIN, more: str = "",
         parts: dict[str, bytes] | None = None, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main, more=more))
        archive.writestr("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                                              f'2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>')
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def odt(*, parts: dict[str, bytes] | None = None, content: str = "<office:text>Our return</office:text>") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", f"<office:document-content>{content}</office:document-content>")
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
        for name, data in (parts or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pdf_of(catalog: bytes) -> bytes:
    """A one-page PDF whose catalog holds `catalog` too, its cross-reference table counted."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    data, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(data))
        data += b"%d 0 obj %s endobj\n" % (number, body)
    table = b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % at for at in offsets)
    return data + table + b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % len(data)


def pdf(*, password: str | None = None, owner_only: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(user_password="" if owner_only else password, owner_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def refusal(filename: str, data: bytes) -> str:
    with pytest.raises(DocumentRefused) as refused:
        document_attachment(filename, data, field="documents")
    return str(refused.value)


def test_real_documents_are_kept_under_the_extension_their_content_shows() -> None:
    assert document_attachment("CIGINF1 police.pdf", pdf())["filename"] == "CIGINF1 police.pdf"
    assert document_attachment("typed.pdf", pdf_of(b""))["filename"] == "typed.pdf"
    assert document_attachment("return.doc", docx())["content_type"].endswith("wordprocessingml.document")
    assert document_attachment("return.doc", docx())["filename"] == "return.docx"
    assert document_attachment("return", odt())["filename"] == "return.odt"
    assert document_attachment("CIGINF1.docx", BLANK_CIGINF1)["filename"] == "CIGINF1.docx"  # a real Word file
    assert document_attachment("opens.pdf", pdf(password="owner", owner_only=True))["filename"] == "opens.pdf"


@pytest.mark.parametrize(("data", "why"), [
    (b"%PDF-1.7\nMZ\x90\x00 an executable after a PDF header", "documents: r.pdf is not a readable PDF"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
     "documents: r.pdf is not a readable PDF"),  # no cross-reference table, no pages
    (pdf(password="secret"), "documents: r.pdf is protected by a password; save it without one"),
    (pdf_of(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
     "documents: r.pdf holds JavaScript; save it as a PDF without scripts"),
    (pdf_of(b"/AA << /WC << /S /JavaScript /JS (app.alert(1)) >> >>"),
     "documents: r.pdf holds JavaScript; save it as a PDF without scripts"),
])
def test_a_pdf_is_parsed_not_just_its_first_bytes(data: bytes, why: str) -> None:
    assert refusal("r.pdf", data) == why


def test_a_zip_holding_word_document_xml_is_not_a_word_document_for_that() -> None:
    assert refusal("r.docx", docx(main="application/xml")) == \
        "documents: r.docx is not a Word document: its main part is not declared as a Word document"
    bare = io.BytesIO()
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refusal("r.docx", bare.getvalue()) == "documents: r.docx is not a Word document: it has no content types"
    damaged = docx(compression=zipfile.ZIP_STORED).replace(b"home visits", b"home visitz")  # its checksum fails
    assert refusal("r.docx", damaged) == "documents: r.docx cannot be opened: the file is damaged"


def test_a_zip_bomb_is_refused_before_it_is_kept() -> None:
    bomb = docx(parts={"word/media/image1.png": b"\0" * (16 * 1024 * 1024)})  # 16 MB of zeros in about 16 KB
    assert len(bomb) < 1024 * 1024
    assert refusal("r.docx", bomb) == \
        "documents: r.docx expands to far more than its size (a compressed archive, not a document)"

    many = docx(parts={f"word/media/part{n}.xml": b"\0" * (1024 * 1024 - 1) for n in range(101)})  # each under the ratio rule
    assert refusal("r.docx", many) == "documents: r.docx expands to more than 100 MB"


@pytest.mark.parametrize("data", [
    docx(main="application/vnd.ms-word.document.macroEnabled.main+xml"),
    docx(parts={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macros"}),
    docx(more='<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'),
])
def test_a_word_document_with_macros_is_refused(data: bytes) -> None:
    assert refusal("r.docx", data) == "documents: r.docx holds macros; save it as a Word document (.docx) without macros"


@pytest.mark.parametrize("data", [
    odt(parts={"Basic/Standard/Module1.xml": b"<script:module>Sub Main</script:module>"}),
    odt(parts={"Scripts/python/run.py": b"import os"}),
    odt(content='<office:event-listeners><script:event-listener xlink:href="vnd.sun.star.script:Standard.Module1.Main'
                '?language=Basic&amp;location=application"/></office:event-listeners>'),
])
def test_an_opendocument_text_with_macros_is_refused(data: bytes) -> None:
    assert refusal("r.odt", data) == "documents: r.odt holds macros; save it as an OpenDocument text (.odt) without macros"


def test_an_opendocument_text_without_its_content_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert refusal("r.odt", buffer.getvalue()) == \
        "documents: r.odt is not an OpenDocument text: its content or manifest is missing"


@pytest.mark.parametrize(("given", "kept"), [
    ("C:\\Users\\pat\\Desktop\\CIGINF1 police.pdf", "CIGINF1 police.pdf"),
    ("../../etc/CIGINF1.pdf", "CIGINF1.pdf"),
    ("CIGINF1 \u202efdp.exe", "CIGINF1 fdp.pdf"),  # a right-to-left override shows 'exe.pdf' backwards
    ("Re\u0301turn\u200b\x00.pdf", "R\u00e9turn.pdf"),  # composed (NFC); zero-width and NUL gone
    ("   .hidden.pdf", "hidden.pdf"),
    ("\u202e", "document.pdf"),
    ("x" * 300 + ".pdf", "x" * MAX_NAME_CHARACTERS + ".pdf"),
])
def test_every_file_name_is_normalised(given: str, kept: str) -> None:
    assert document_attachment(given, pdf())["filename"] == kept


def test_a_refusal_names_the_file_as_normalised() -> None:
    assert refusal("C:\\x\\a\u202etxt.pdf", b"MZ") == \
        "documents: atxt.pdf is not a PDF, Word (.docx) or OpenDocument (.odt) document"


@given(st.text(max_size=400))
def test_a_normalised_name_has_no_folder_no_hidden_character_and_a_bounded_length(name: str) -> None:
    kept = document_filename(name, kind="pdf")
    assert "/" not in kept and "\\" not in kept
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in kept)
    assert unicodedata.normalize("NFC", kept) == kept
    assert kept.endswith(".pdf") and 0 < len(kept) <= MAX_NAME_CHARACTERS + len(".pdf")


def test_the_blank_ciginf1_is_known_unchanged_or_saved_again_and_a_filled_in_one_is_not() -> None:
    assert is_blank_form(BLANK_CIGINF1, BLANK_CIGINF1)

    saved_again = io.BytesIO()  # opened and saved again, unchanged: other bytes, the same words
    with zipfile.ZipFile(io.BytesIO(BLANK_CIGINF1)) as original, \
            zipfile.ZipFile(saved_again, "w", zipfile.ZIP_STORED) as copy:
        for part in original.infolist():
            copy.writestr(part.filename, original.read(part.filename))
    assert saved_again.getvalue() != BLANK_CIGINF1
    assert is_blank_form(saved_again.getvalue(), BLANK_CIGINF1)

    filled_in = io.BytesIO()  # the same form with an answer typed in
    with zipfile.ZipFile(io.BytesIO(BLANK_CIGINF1)) as original, zipfile.ZipFile(filled_in, "w") as copy:
        for part in original.infolist():
            body = original.read(part.filename)
            if part.filename == "word/document.xml":
                body = body.replace(b'<w:t xml:space="preserve"></w:t>', b"<w:t>Two home visits in August.</w:t>", 1)
            copy.writestr(part.filename, body)
    assert not is_blank_form(filled_in.getvalue(), BLANK_CIGINF1)
    assert not is_blank_form(docx(), BLANK_CIGINF1)
    assert not is_blank_form(pdf(), BLANK_CIGINF1)
