"""Markdown the project writes for people (the meeting papers, the case context of a form) as HTML in the
GOV.UK Design System's classes. Raw HTML in the text is escaped, never passed through (markdown-it's
"js-default" preset: no HTML, safe link schemes only), so what a person typed into a form cannot
become markup on a page."""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup

CLASSES = {
    "h1": "govuk-heading-l", "h2": "govuk-heading-m", "h3": "govuk-heading-s", "h4": "govuk-heading-s",
    "p": "govuk-body", "ul": "govuk-list govuk-list--bullet", "ol": "govuk-list govuk-list--number",
    "table": "govuk-table", "thead": "govuk-table__head", "tbody": "govuk-table__body", "tr": "govuk-table__row",
    "th": "govuk-table__header", "td": "govuk-table__cell", "a": "govuk-link", "hr": "govuk-section-break govuk-section-break--m govuk-section-break--visible",
}
OPENING = re.compile(r"<(h[1-4]|p|ul|ol|table|thead|tbody|tr|th|td|a|hr)(?=[\s>/])([^>]*)>")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("js-default").enable("table")


def _with_class(match: re.Match[str]) -> str:
    tag, attributes = match.group(1), re.sub(r'\s*style="[^"]*"', "", match.group(2))
    return f'<{tag} class="{CLASSES[tag]}"{attributes}>'


def markdown_html(text: str, *, shift_headings: int = 0) -> Markup:
    """`text` (markdown) as HTML with GOV.UK classes; headings moved down `shift_headings` levels (a paper's
    own "# Case ..." under the page's h1)."""
    html = _parser().render(text)
    for level in range(4, 0, -1) if shift_headings else ():
        target = min(level + shift_headings, 4)
        html = html.replace(f"<h{level}>", f"<h{target}>").replace(f"</h{level}>", f"</h{target}>")
    return Markup(OPENING.sub(_with_class, html))
