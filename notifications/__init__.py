"""Email: rendering messages from templates (pure) and sending them over SMTP with aiosmtplib.

`render` builds subject, plain text and HTML from Jinja templates (autoescaped HTML, StrictUndefined).
`smtp` sends one rendered message. `mailbox` is the local SMTP server that keeps what it receives.
"""
