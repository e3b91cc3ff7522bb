"""Rendering a message: subject, plain-text part and HTML part from the templates beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from casework.referral.messages import Message
from casework.model import REVIEW_LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class RenderedMessage:
    key: str
    kind: str
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[dict[str, str], ...] = ()


@pass_context
def _label(context: Context, outcome: str) -> str:
    """A review outcome in the case's regime's words: the message's `labels` (casework.model.review_labels)."""
    return context.get("labels", REVIEW_LABELS).get(outcome, outcome)


DAY = "%A %-d %B %Y"  # every date a message shows reads one way: "Friday 3 July 2026"


def _day(value: datetime | date | None) -> str:
    """The `day` filter: a date, or a moment's London date, as every message writes it."""
    if value is None:
        return "not set"
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return value.strftime(DAY)


def _when(value: datetime | date | None) -> str:
    """The `when` filter: a moment as its London date and time ("Friday 3 July 2026, 10:00"); a date as `day`."""
    if isinstance(value, datetime):
        return f"{_day(value)}, {value.astimezone(LONDON):%H:%M}"
    return _day(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment: HTML autoescaped, undefined names an error."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["label"] = _label
    return env


def one_line(value: str) -> str:
    """A header value: line breaks and control characters folded to spaces (no header injection)."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def render(message: Message) -> RenderedMessage:
    """Render a message's subject, text and HTML parts."""
    env = environment()
    text_template = env.get_template(f"{message.template}.txt.j2")
    html_template = env.get_template(f"{message.template}.html.j2")
    context = dict(message.context, recipient=message.to.name)
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    return RenderedMessage(
        key=message.key,
        kind=message.template,
        to=message.to.email,
        subject=one_line(subject)[:300],
        text=text_template.render(context),
        html=html_template.render(context),
        attachments=message.attachments,
    )
