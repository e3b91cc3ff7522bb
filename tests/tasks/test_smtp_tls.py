"""Layer 2: the production profile's mail path: STARTTLS to the local SMTP server with a self-signed
certificate the sender is told to trust (CIG_SMTP_CA_FILE), and no mail without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.production import self_signed_certificate, server_tls_context
from config.settings import Settings
from notifications.mailbox import read_mailbox, start_mailbox
from notifications.render import RenderedMessage
from notifications.smtp import DeliveryFailed, send_email
from tests.conftest import free_port

MESSAGE = RenderedMessage("REF-1:ofsted-notice:ofsted@example.org:0", "ofsted_notice", "ofsted@example.org",
                          "Notice to Ofsted", "plain text", "<p>html</p>", ())


@pytest.fixture
def tls_mailbox(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    cert, key = self_signed_certificate(tmp_path / "tls")
    port = free_port()
    controller = start_mailbox(tmp_path / "mail", port=port, tls_context=server_tls_context(cert, key))
    yield port, cert, tmp_path / "mail"
    controller.stop()


async def test_mail_goes_over_starttls_to_a_server_whose_certificate_is_trusted(tls_mailbox: tuple[int, Path, Path]) -> None:
    port, cert, mail_dir = tls_mailbox
    settings = Settings(smtp_port=port, smtp_starttls=True, smtp_ca_file=cert)
    reply = await send_email(MESSAGE, settings)
    assert reply.startswith("Message accepted")
    assert [m.to for m in read_mailbox(mail_dir)] == [["ofsted@example.org"]]


async def test_no_mail_without_starttls_or_without_trusting_the_certificate(tls_mailbox: tuple[int, Path, Path]) -> None:
    port, _, mail_dir = tls_mailbox
    with pytest.raises(DeliveryFailed, match="STARTTLS"):
        await send_email(MESSAGE, Settings(smtp_port=port))
    with pytest.raises(DeliveryFailed, match="(?i)certificate"):
        await send_email(MESSAGE, Settings(smtp_port=port, smtp_starttls=True))
    assert read_mailbox(mail_dir) == []
