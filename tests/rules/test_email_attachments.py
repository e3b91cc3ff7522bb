"""Attachments as the outbox holds them (JSON: text as it is, binary as base64) and as the email
carries them: each decodes to the bytes that were attached. No mail server needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
from email import message_from_bytes, policy

import pytest

from casework.oversight.publication import binary_attachment
from config.settings import Settings
from notifications.render import RenderedMessage
from notifications.smtp import DeliveryFailed, attachment_bytes, build_email, send_email

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # a PNG signature and every byte value after it
MARKDOWN = "# Case review performance, November 2026\n\n![Performance](monthly-report-2026-11.png)\n\nÉquipe – £ ✓\n"


def message(*attachments: dict[str, str]) -> RenderedMessage:
    return RenderedMessage("-:monthly-report.2026-11:managers@example.org:0", "monthly_report", "managers@example.org",
                           "Case review performance, November 2026", "The report.", "<p>The report.</p>", attachments)


def test_a_binary_attachment_survives_the_outbox_json_and_the_email() -> None:
    stored = json.loads(json.dumps([
        {"filename": "monthly-report-2026-11.md", "content_type": "text/markdown", "content": MARKDOWN},
        binary_attachment("monthly-report-2026-11.png", "image/png", PNG),
    ]))
    assert stored[1]["encoding"] == "base64" and base64.b64decode(stored[1]["content"]) == PNG

    email = build_email(message(*stored), "cig-casework@example.org")
    parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    parts = {p.get_filename(): p for p in parsed.iter_attachments()}
    assert set(parts) == {"monthly-report-2026-11.md", "monthly-report-2026-11.png"}
    assert parts["monthly-report-2026-11.png"].get_content_type() == "image/png"
    assert parts["monthly-report-2026-11.png"].get_content() == PNG
    assert parts["monthly-report-2026-11.md"].get_content_type() == "text/markdown"
    assert parts["monthly-report-2026-11.md"].get_payload(decode=True).decode() == MARKDOWN
    assert parsed.get_body(preferencelist=("plain",)).get_content().strip() == "The report."


def test_a_text_attachment_is_kept_as_text() -> None:
    ics = {"filename": "meeting-2026-12-08.ics", "content_type": "text/calendar", "content": "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"}
    assert attachment_bytes(ics) == ics["content"].encode()
    parsed = message_from_bytes(build_email(message(ics), "cig@example.org").as_bytes(), policy=policy.default)
    [part] = parsed.iter_attachments()
    assert part.get_filename() == "meeting-2026-12-08.ics" and b"BEGIN:VCALENDAR" in part.get_payload(decode=True)


@pytest.mark.parametrize("attachment", [
    {"filename": "chart.png", "content_type": "image/png", "encoding": "base64", "content": "not base64!"},
    {"filename": "chart.png", "content_type": "image/png", "encoding": "rot13", "content": "abc"},
])
def test_an_attachment_that_cannot_be_decoded_is_refused_for_good(attachment: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="chart.png"):
        build_email(message(attachment), "cig@example.org")
    settings = Settings(smtp_port=9)
    with pytest.raises(DeliveryFailed) as failed:
        asyncio.run(send_email(message(attachment), settings))
    assert failed.value.temporary is False  # never retried: it would fail the same way
