"""Documents people attach (a Serious Incident Notification, later a CIGINF1 return): recognised by their
content, not their name, and size-limited. Pure: bytes in, an outbox attachment (base64) out."""

from __future__ import annotations

import base64
import io
import zipfile

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
KINDS = {
    "pdf": ("application/pdf", "a PDF"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document"),
    "odt": ("application/vnd.oasis.opendocument.text", "an OpenDocument text"),
}


def document_kind(data: bytes) -> str | None:
    """'pdf', 'docx' or 'odt' as the bytes show it, else None (a renamed executable is None)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names and archive.read("mimetype").strip() == KINDS["odt"][0].encode():
                return "odt"
    except zipfile.BadZipFile:
        return None
    return None


def document_attachment(filename: str, data: bytes, *, field: str = "document",
                        max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, str]:
    """The document as an outbox attachment; ValueError naming `field` when it is too big or not a
    PDF, Word or OpenDocument text file (whatever its name says)."""
    if len(data) > max_bytes:
        raise ValueError(f"{field}: {filename} is {len(data) / 1048576:.1f} MB; the limit is {max_bytes // 1048576} MB")
    kind = document_kind(data)
    if kind is None:
        raise ValueError(f"{field}: {filename} is not a PDF, Word (.docx) or OpenDocument (.odt) document")
    content_type, _ = KINDS[kind]
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "document"
    return {"filename": f"{stem}.{kind}", "content_type": content_type, "encoding": "base64",
            "content": base64.b64encode(data).decode("ascii")}
