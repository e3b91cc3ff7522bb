"""Documents people attach (a Serious Incident Notification, later a CIGINF1 return): recognised by their
content, not their name, checked as the kind of file they claim to be, and size-limited. Pure: bytes in,
an outbox attachment (base64) out, or a refusal in words.

A Word document (.docx) or OpenDocument text (.odt) is opened as the package it must be: its declared
content type, every part read through with a limit on the expanded size and the compression ratio (a zip
bomb is refused before it is kept), and no macros. A PDF is parsed (pypdf): it must have readable pages,
no password and no JavaScript. A file's name is normalised (no folders, no control or bidirectional
characters, NFC, a length limit); its extension is the one its content shows.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from xml.etree import ElementTree

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_BYTES = 100 * 1024 * 1024  # a package's parts, all expanded
MAX_COMPRESSION_RATIO = 100  # of any part larger than RATIO_FROM_BYTES (XML text compresses about 10:1)
RATIO_FROM_BYTES = 1024 * 1024
MAX_PARTS = 2000
MAX_NAME_CHARACTERS = 100  # of a file name's stem
KINDS = {
    "pdf": ("application/pdf", "a PDF"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document"),
    "odt": ("application/vnd.oasis.opendocument.text", "an OpenDocument text"),
}
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
MACRO_CONTENT = ("macroenabled", "vbaproject", "vbadata", "activex")  # in a Word content type, lower case
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
ODF_SCRIPTS = ("Basic/", "Scripts/")  # StarBasic and script macros inside an OpenDocument package
ODF_SCRIPT_REFERENCE = b"vnd.sun.star.script:"  # an event bound to a macro
WORD_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
ODF_TEXT = re.compile(rb">([^<]+)<")


class DocumentRefused(ValueError):
    """The file is not one the partnership can accept; `str()` is "field: name why" (casework.forms style)."""


def document_filename(filename: str, *, kind: str | None = None) -> str:
    """The name a document is kept under: its last path part (a backslash is a folder too), without
    control or bidirectional formatting characters, NFC, its stem at most MAX_NAME_CHARACTERS, and the
    extension of `kind` when given (what the content is, whatever the name said)."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))
    name = " ".join(name.split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(". ")[:MAX_NAME_CHARACTERS].rstrip(". ") or "document"
    extension = kind or extension[:10]
    return f"{stem}.{extension}" if extension else stem


def _package_problem(archive: zipfile.ZipFile) -> str | None:
    """Why the zip package cannot be kept (too many parts, encrypted, expanding too far), reading every
    part through as a person's word processor would; None when it reads whole within the limits."""
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        return f"holds more than {MAX_PARTS} parts"
    expanded = 0
    for part in parts:
        if part.flag_bits & 0x1:
            return "is protected by a password; save it without one"
        if part.file_size > RATIO_FROM_BYTES and part.file_size > MAX_COMPRESSION_RATIO * max(part.compress_size, 1):
            return "expands to far more than its size (a compressed archive, not a document)"
        read = 0
        with archive.open(part) as stream:  # the sizes the archive declares are not trusted: count what comes out
            while chunk := stream.read(1024 * 1024):
                read += len(chunk)
                expanded += len(chunk)
                if expanded > MAX_EXPANDED_BYTES:
                    return f"expands to more than {MAX_EXPANDED_BYTES // 1048576} MB"
                if read > RATIO_FROM_BYTES and read > MAX_COMPRESSION_RATIO * max(part.compress_size, 1):
                    return "expands to far more than its size (a compressed archive, not a document)"
    return None


def _word_problem(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """Why a package holding word/document.xml is not a Word document without macros, or None."""
    if "[Content_Types].xml" not in names:
        return "is not a Word document: it has no content types"
    try:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except ElementTree.ParseError:
        return "is not a Word document: its content types cannot be read"
    declared = {(item.get("PartName") or item.get("Extension") or "").lower(): (item.get("ContentType") or "").lower()
                for item in types if item.tag in (f"{CONTENT_TYPES}Override", f"{CONTENT_TYPES}Default")}
    if any(marker in content for content in declared.values() for marker in MACRO_CONTENT) or \
            any(name.lower().rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml") for name in names):
        return "holds macros; save it as a Word document (.docx) without macros"
    if declared.get("/word/document.xml") != WORD_MAIN:
        return "is not a Word document: its main part is not declared as a Word document"
    return None


def _odt_problem(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """Why a package that says it is OpenDocument text is not one without macros, or None."""
    if "content.xml" not in names or "META-INF/manifest.xml" not in names:
        return "is not an OpenDocument text: its content or manifest is missing"
    if any(name.startswith(ODF_SCRIPTS) for name in names) or \
            any(ODF_SCRIPT_REFERENCE in archive.read(part) for part in ("content.xml", "styles.xml") if part in names):
        return "holds macros; save it as an OpenDocument text (.odt) without macros"
    return None


def _pdf_problem(data: bytes) -> str | None:
    """Why the bytes are not a readable PDF without a password or JavaScript (parsed by pypdf), or None."""
    from pypdf import PasswordType, PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about a repaired file are not ours to log
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:  # an owner password alone opens
            return "is protected by a password; save it without one"
        if len(reader.pages) == 0:
            return "is not a readable PDF: it has no pages"
        root = reader.trailer["/Root"].get_object()
        names = root.get("/Names")
        action = root.get("/OpenAction")
        action = action.get_object() if action is not None else None
        if (names is not None and "/JavaScript" in names.get_object()) or "/AA" in root or \
                (hasattr(action, "get") and action.get("/S") in ("/JavaScript", "/Launch")):
            return "holds JavaScript; save it as a PDF without scripts"
    except Exception:  # noqa: BLE001 - a hostile file can break a parser in any way; each is a refusal
        return "is not a readable PDF"
    return None


def document_kind(data: bytes) -> str | None:
    """'pdf', 'docx' or 'odt' as the bytes' first bytes and package entries show it, else None (a renamed
    executable is None). Only what the file claims to be: `document_problem` checks it is that."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100 and \
                    archive.read("mimetype").strip() == KINDS["odt"][0].encode():
                return "odt"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        return None
    return None


def document_problem(data: bytes, kind: str) -> str | None:
    """Why a file that claims to be `kind` cannot be kept, in words that follow its name; None when it is
    a real document of that kind, within the limits and without macros or scripts."""
    if kind == "pdf":
        return _pdf_problem(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            problem = _package_problem(archive)
            if problem is None:
                problem = _word_problem(archive, names) if kind == "docx" else _odt_problem(archive, names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError):
        return "cannot be opened: the file is damaged"
    return problem


def document_text(data: bytes) -> str | None:
    """The words of a Word or OpenDocument text's body, whitespace folded (to compare two documents by what
    they say, whatever saved them); None for any other file or one that cannot be read."""
    kind = document_kind(data)
    if kind not in ("docx", "odt"):
        return None
    part = "word/document.xml" if kind == "docx" else "content.xml"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if archive.getinfo(part).file_size > MAX_EXPANDED_BYTES:
                return None
            body = archive.read(part)
    except (KeyError, zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError):
        return None
    pieces = WORD_TEXT.findall(body) if kind == "docx" else ODF_TEXT.findall(body)
    return " ".join(b" ".join(pieces).decode("utf-8", "replace").split())


def is_blank_form(data: bytes, form: bytes) -> bool:
    """Whether `data` is the partnership's blank `form` unchanged: the same bytes, or (a Word or
    OpenDocument file saved again without being filled in) the same words."""
    if hashlib.sha256(data).digest() == hashlib.sha256(form).digest():
        return True
    text = document_text(data)
    return text is not None and text == document_text(form)


def document_attachment(filename: str, data: bytes, *, field: str = "document",
                        max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, str]:
    """The document as an outbox attachment, under its normalised name; DocumentRefused (a ValueError)
    naming `field` and the file when it is too big, not a PDF, Word or OpenDocument text file (whatever
    its name says), or one of those that fails its checks (document_problem)."""
    name = document_filename(filename)
    if len(data) > max_bytes:
        raise DocumentRefused(f"{field}: {name} is {len(data) / 1048576:.1f} MB; the limit is {max_bytes // 1048576} MB")
    kind = document_kind(data)
    if kind is None:
        raise DocumentRefused(f"{field}: {name} is not a PDF, Word (.docx) or OpenDocument (.odt) document")
    problem = document_problem(data, kind)
    if problem is not None:
        raise DocumentRefused(f"{field}: {name} {problem}")
    content_type, _ = KINDS[kind]
    return {"filename": document_filename(filename, kind=kind), "content_type": content_type, "encoding": "base64",
            "content": base64.b64encode(data).decode("ascii")}
