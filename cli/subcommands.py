"""What every `cig` command shares (cli.main and its sub-apps `cig review`, `cig action`, `cig learning`,
`cig tracker`): `--json`, the one clock (`clock`, which tests may set), the office, the access record, a
form refused in words naming each field, and sending at once what a command queued. It imports no command
module: they all import it."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from config.loading import ConfigurationError, describe_errors

if TYPE_CHECKING:
    from casework.office import Office

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class CommandError(Exception):
    """A command refused: its message is printed and `cig` exits with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731  (tests set it)


def now() -> datetime:
    """The moment, through `cig`'s one clock."""
    return clock()


def office() -> Office:
    """The partnership's office, or a CommandError naming the configuration problem."""
    from casework.office import open_office

    try:
        return open_office()
    except ConfigurationError as exc:
        raise CommandError(f"configuration problem: {exc}") from None


def record_access(the_office: Office, action: str, reference: str | None = None, **detail: object) -> None:
    """Audit who looked at or took what (metadata only): viewing and exporting are recorded too."""
    import getpass

    from casework.store import cases as store

    with the_office.sessions.begin() as session:
        store.audit(session, reference=reference, actor=f"cig ({getpass.getuser()})", action=action, now=now(), **detail)


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def form(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The form, or ValueError naming each refused field (`cig` prints it, exit status 1)."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None}, context={"today": now().date()})
    except ValidationError as refused:
        raise ValueError("the form was refused:\n  " + "\n  ".join(describe_errors(refused))) from None


def send_queued(office: Any, reference: str | None = None) -> str:
    """Send what a command just queued (of one case, or all); '' when all went, else a note of what waits
    for the deadline sweep, which sends it."""
    from casework.delivery import deliver_pending

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            report = asyncio.run(deliver_pending(office, reference=reference))
        else:  # called from async code (an async caller, a test): send from a thread with a loop of its own
            with ThreadPoolExecutor(1) as thread:
                report = thread.submit(lambda: asyncio.run(deliver_pending(office, reference=reference))).result()
    except Exception as exc:  # the messages stay in the outbox; the next sweep sends them
        return f" (messages queued; not sent yet: {exc})"
    if report.temporary_failures or report.permanent_failures:
        waiting = len(report.temporary_failures) + len(report.permanent_failures)
        return (f" ({len(report.sent)} message{'s' if len(report.sent) != 1 else ''} sent, {waiting} not sent yet: "
                f"the deadline sweep tries again, and `cig outbox` shows them)")
    return ""
