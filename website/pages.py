"""Rendering the website's pages: its own Jinja environment (autoescaped, undefined names an error)
over website/templates, and the date filters every page uses (London time, one way of writing a date)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).resolve().parent / "templates"
LONDON = ZoneInfo("Europe/London")


def day(value: datetime | date | None) -> str:
    """A date, or a moment's London date: "Friday 3 July 2026"."""
    if value is None:
        return "not set"
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return value.strftime("%A %-d %B %Y")


def when(value: datetime | date | None) -> str:
    """A moment as its London date and time: "Friday 3 July 2026, 10:00"."""
    if isinstance(value, datetime):
        return f"{day(value)}, {value.astimezone(LONDON):%H:%M}"
    return day(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The website's one Jinja environment."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = day
    env.filters["when"] = when
    return env


def page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` rendered with `context`."""
    return HTMLResponse(environment().get_template(template).render(context), status_code=status)
