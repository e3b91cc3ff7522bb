"""`cig link`: the personal links to the secure website that the administrator manages.

`cig link resend REF --agency CODE` withdraws the agency's links to its outstanding CIGINF1 request
and emails it a new one (sent at once when the mail server is reachable, else by the next sweep).
`cig link revoke REF [--agency CODE]` withdraws the case's live links (one agency's, or all), say
when an email went to the wrong person. Both are audited. Errors are raised as ValueError (or
AlreadyRecorded, CaseNotFound), which `cig` prints as a sentence with exit status 1.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

from casework.referral import actions
from casework.office import open_office

app = typer.Typer(no_args_is_help=True, help="Personal links to the secure website: resend, revoke.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _actor() -> str:
    return f"cig ({getpass.getuser()})"


@app.command("resend")
def resend(
    reference: str,
    agency: Annotated[str, typer.Option(help="The agency code, e.g. POL")],
    as_json: JsonOption = False,
) -> None:
    """Email an agency a new link to its outstanding CIGINF1 request; its earlier links stop working."""
    from casework.delivery import deliver_pending

    office = open_office()
    outcome = actions.resend_return_link(office, reference, agency, now=datetime.now(timezone.utc), actor=_actor())
    try:
        report = asyncio.run(deliver_pending(office, reference=reference))
    except OSError:  # the mail server cannot be reached: the next sweep sends it
        report = None
    sent = "sent" if report is not None and report.sent else "queued (the next deadline sweep sends it)"
    contact = office.partnership.agency(agency).contact
    if as_json:
        typer.echo(json.dumps({"reference": outcome.reference, "agency": agency, "queued": outcome.queued}))
    else:
        typer.echo(f"{reference}: a new link for {agency} {sent} to {contact.email}; its earlier links no longer work.")


@app.command("revoke")
def revoke(
    reference: str,
    agency: Annotated[Optional[str], typer.Option(help="Only this agency's links (default: every live link of the case)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a case's live personal links (one agency's, or all); they open no page again."""
    office = open_office()
    count = actions.revoke_case_links(office, reference, agency=agency, now=datetime.now(timezone.utc), actor=_actor())
    if as_json:
        typer.echo(json.dumps({"reference": reference, "agency": agency, "revoked": count}))
    else:
        whose = f" of {agency}" if agency else ""
        typer.echo(f"{reference}: {count} live link{'s' if count != 1 else ''}{whose} withdrawn.")
