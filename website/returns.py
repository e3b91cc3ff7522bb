"""The CIGINF1 return page's form: what the agency typed and uploaded, checked by the same model `cig
return` and the Prefect UI use (casework.forms.AgencyReturnForm), with each problem named in words
against its field, as the GOV.UK error summary shows it. Each uploaded file is checked as the document
it claims to be (casework.documents), and the partnership's own blank CIGINF1 is not a return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from casework.documents import MAX_DOCUMENT_BYTES, DocumentRefused, document_attachment, is_blank_form
from casework.forms import AgencyReturnForm

MAX_FILES = 5
MAX_UPLOAD_BYTES = 2 * MAX_DOCUMENT_BYTES + 256 * 1024  # two documents at their limit, and the form's text
SIZE_WORDS = (f"Each file can be up to {MAX_DOCUMENT_BYTES // 1048576} MB, and up to "
              f"{MAX_UPLOAD_BYTES // 1048576} MB in all; up to {MAX_FILES} files.")

# each field in words, in the order the page shows them (the error summary lists problems in this order)
FIELD_WORDS = {
    "status": "Whether your agency was involved",
    "involvement": "Your agency's involvement with the child and family",
    "key_practitioners": "Key practitioners",
    "attendees": "Who will attend the meeting",
    "documents": "The completed CIGINF1",
}
MISSING = {
    "status": "Select whether your agency was involved with the child or family",
    "involvement": "Enter your agency's involvement with the child and family",
    "documents": "Select the completed CIGINF1 to upload",
}


@dataclass
class ReturnInput:
    """What the page's form held: the values to show again, and any problems, by field."""

    values: dict[str, Any]
    documents: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    form: AgencyReturnForm | None = None

    @property
    def error_list(self) -> list[tuple[str, str]]:
        """The problems in the page's order, as (field id, message)."""
        return [(name, self.errors[name]) for name in FIELD_WORDS if name in self.errors]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(problem: dict[str, Any]) -> tuple[str, str]:
    """A pydantic problem as (field, message in words)."""
    loc = [str(part) for part in problem["loc"]]
    message = problem["msg"].removeprefix("Value error, ")
    if not loc and ": " in message:  # a cross-field rule names its field first
        name, message = message.split(": ", 1)
        loc = [name]
    name = loc[0] if loc and loc[0] in FIELD_WORDS else "status"
    if problem["type"] == "missing" or name == "status" or (name in MISSING and "needs" in message):
        return name, MISSING.get(name, f"Enter {FIELD_WORDS[name].lower()}")
    where = f" (line {int(loc[1]) + 1})" if len(loc) > 1 and loc[1].isdigit() else ""
    return name, f"{FIELD_WORDS[name]}{where}: {message[0].lower()}{message[1:]}"


async def read_return(data: FormData, *, agency: str, today: date, blank_form: bytes | None = None) -> ReturnInput:
    """Check the posted return: its fields through AgencyReturnForm, its files by content and size, and
    none of them the partnership's `blank_form` (the CIGINF1 the request email carried) unchanged."""
    values = {
        "status": str(data.get("status") or ""),
        "involvement": str(data.get("involvement") or ""),
        "key_practitioners": str(data.get("key_practitioners") or ""),
        "attendees": str(data.get("attendees") or ""),
    }
    result = ReturnInput(values=values)
    uploads = [item for item in data.getlist("documents") if isinstance(item, UploadFile) and item.filename]
    if len(uploads) > MAX_FILES:
        result.errors["documents"] = f"Select up to {MAX_FILES} files"
    for upload in uploads[:MAX_FILES]:
        content = await upload.read()
        try:
            # parsing a document takes a while (a PDF's structure, a package read through): off the event loop
            result.documents.append(await run_in_threadpool(document_attachment, upload.filename or "CIGINF1", content))
        except DocumentRefused as refused:
            result.errors.setdefault("documents", f"{FIELD_WORDS['documents']}: {str(refused).split(': ', 1)[1]}")
            continue
        if blank_form is not None and await run_in_threadpool(is_blank_form, content, blank_form):
            result.errors.setdefault("documents", f"{FIELD_WORDS['documents']}: {result.documents[-1]['filename']} "
                                                  "is the blank CIGINF1 form from the request email; please fill it "
                                                  "in before uploading")
    if values["status"] == "returned" and not uploads and "documents" not in result.errors:
        result.errors["documents"] = MISSING["documents"]
    raw = {
        "agency": agency,
        "status": values["status"] if values["status"] in ("returned", "nil") else None,
        "involvement": values["involvement"] if values["status"] == "returned" and values["involvement"].strip() else None,
        "key_practitioners": _lines(values["key_practitioners"]),
        "attendees": _lines(values["attendees"]),
    }
    try:
        result.form = AgencyReturnForm.model_validate(raw, context={"today": today})
    except ValidationError as invalid:
        for problem in invalid.errors():
            name, message = _words(problem)
            result.errors.setdefault(name, message)
    if result.errors:
        result.form = None
    return result
