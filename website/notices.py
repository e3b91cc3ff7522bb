"""What the website tells the partnership administrator by email: that it started throttling, once per
spell (website.security.Throttle), either links tried from one address that do not exist (no case, no
token: the address) or a real link's page opened far too often (its case and whose link, never its token).

Pure: the partnership and the facts in, a casework.referral.messages.Message out (the template is
notifications/templates/website_throttled); the website queues it in the outbox like every message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.links import LinkStep
from casework.referral.messages import Message
from config.partnership import Partnership

HOLDERS = {LinkStep.papers: "a member", LinkStep.screening: "the CIG chair",
           LinkStep.decision: "the independent chair", LinkStep.review: "the business manager or a lead reviewer",
           LinkStep.impact_review: "the professional development committee",
           LinkStep.ratification: "a body ratifying a review's drafts (the CIG, the executive group or the board)"}


AGENCY_HOLDERS = {LinkStep.action: "{agency}'s action lead",  # the named lead of one of its learning actions
                  LinkStep.agency_actions: "{agency}'s CIG member"}


def link_holder(partnership: Partnership, step: LinkStep, agency: str | None) -> str:
    """Whose link it is, in words: the agency's name, or the role a link of its step is sent to."""
    if agency and step in AGENCY_HOLDERS:
        return AGENCY_HOLDERS[step].format(agency=partnership.agency(agency).name)
    return partnership.agency(agency).name if agency else HOLDERS.get(step, "a person")


def throttling_notice(partnership: Partnership, *, started_at: datetime, until: datetime, allowed: int,
                      window: timedelta, client: str | None = None, reference: str | None = None,
                      holder: str | None = None) -> Message:
    """The administrator's notice that a spell of throttling started at `started_at`: of look-ups from
    `client` (no case), or of the views of `holder`'s link (to case `reference`, or to a meeting's papers).
    One per spell: its key is the moment the spell started."""
    context = {
        "partnership": partnership.name, "administrator": partnership.contacts.administrator,
        "reference": reference, "holder": holder, "client": client, "allowed": allowed,
        "window_minutes": int(window.total_seconds() // 60), "started_at": started_at, "until": until,
    }
    what = "views" if holder else "look-ups"
    return Message(None, f"website-throttled-{what}-{started_at:%Y%m%dT%H%M%S%f}", "website_throttled",
                   partnership.contacts.administrator, 0, context)
