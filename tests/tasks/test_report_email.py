"""The monthly report's email as the managers receive it: delivered to the real local SMTP server
(aiosmtpd) of the task fixtures, with the markdown and the chart (a PNG) attached.

Its own module because the seeded month of test_report.py lives on a module-scoped database with
its own data key; this test uses the function-scoped `office` and `mailbox` (SQLite, or PostgreSQL
when CIG_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime, timezone

from PIL import Image

from casework.delivery import deliver_pending
from casework.office import Office
from casework.oversight.publication import publish_monthly_report
from tests.tasks.conftest import Mailbox

NOVEMBER = date(2026, 11, 1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_managers_receive_the_report_with_its_chart_as_a_png(office: Office, mailbox: Mailbox) -> None:
    published = publish_monthly_report(office, NOVEMBER, now=datetime(2026, 12, 1, 8, tzinfo=timezone.utc))
    assert published.queued == 1
    delivered = asyncio.run(deliver_pending(office, now=datetime(2026, 12, 1, 8, 1, tzinfo=timezone.utc)))
    assert not delivered.temporary_failures and not delivered.permanent_failures

    [mail] = [m for m in mailbox.received() if m.subject == "Case review performance, November 2026"]
    assert mail.to == ["managers@example.org"]
    assert "The full report (markdown) and its chart (PNG) are attached" in mail.text()
    parts = {p.get_filename(): p for p in mail.message().iter_attachments()}
    assert set(parts) == {"monthly-report-2026-11.md", "monthly-report-2026-11.png"}
    chart = parts["monthly-report-2026-11.png"]
    assert chart.get_content_type() == "image/png"
    png = chart.get_content()
    assert png.startswith(PNG_SIGNATURE) and png == published.chart_path.read_bytes()
    with Image.open(io.BytesIO(png)) as image:  # decodes as an image, the size the chart is drawn at
        image.load()
        assert (image.format, image.size) == ("PNG", (1000, 400))
    report = parts["monthly-report-2026-11.md"].get_payload(decode=True).decode()
    assert report == published.markdown and "](monthly-report-2026-11.png)" in report
