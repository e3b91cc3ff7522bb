"""Personal links to the partnership's secure website: what a link is for and when it stops working.

Pure: plain values in (the link as stored, the case as it stands, `now`), a verdict out. Nothing here
reads the clock, the database or Prefect. A link is an opaque random token; the case database keeps
only its SHA-256 (`token_digest`), so a copy of the database does not open any page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class LinkStep(StrEnum):
    """The one thing a link lets its person do."""

    information_return = "return"  # an agency answers its CIGINF1 request
    papers = "papers"  # a member reads a meeting's papers
    screening = "screening"  # the CIG chair and business manager screen a referral
    decision = "decision"  # the independent chair decides
    review = "review"  # the business manager and each lead reviewer keep a review's task list
    engagement = "engagement"  # an agency confirms its engagement with a review
    ratification = "ratification"  # the CIG, the executive group or the board ratifies a review's drafts
    action = "action"  # an action's named lead reports on it (the link's round is the action's number)
    agency_actions = "agency_actions"  # an agency's CIG member sees its actions in a review and their state
    impact_review = "impact_review"  # the professional development committee's 6-month review of the plans
    learning = "learning"  # the training officer writes up a review's learning summary, dissemination and audits


class LinkRefusal(StrEnum):
    """Why a link no longer opens its page, in words for the person holding it (nothing about the case)."""

    unknown = "This link is not recognised. Check that you copied the whole link from the email."
    expired = "This link has expired."
    revoked = "This link has been withdrawn by the partnership administrator."
    used = "This has already been recorded. Nothing more is needed from this link."
    superseded = "This link is out of date: the case has moved to another meeting or round of requests."
    closed = "This step is no longer open: the case has moved on."


@dataclass(frozen=True)
class LinkFacts:
    """A stored link as the rules read it."""

    step: LinkStep
    round: int
    meeting_on: date | None
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class StepFacts:
    """The case as a link's step sees it: its round and meeting, and whether the step still waits for
    this link's person (`open`) or was recorded (`done`)."""

    round: int
    meeting_on: date | None
    open: bool
    done: bool


def new_token() -> str:
    """A fresh link token: 256 random bits, URL-safe, carrying no data."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the case database keeps of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: str) -> bool:
    """Whether `token` has a token's shape (43 URL-safe characters): others are refused unlooked-up."""
    return len(token) == 43 and all(c.isalnum() or c in "-_" for c in token)


def link_refusal(link: LinkFacts, step: StepFacts | None, *, now: datetime) -> LinkRefusal | None:
    """Why the link does not open its page at `now`, or None when it does.

    Revoked first, then used (the step recorded through it), expired, and, for a step of a case,
    superseded (another round or meeting), recorded by another door (`used`) or no longer open.
    """
    if link.revoked_at is not None:
        return LinkRefusal.revoked
    if link.used_at is not None:
        return LinkRefusal.used
    if now >= link.expires_at:
        return LinkRefusal.expired
    if link.step is LinkStep.papers:
        return None
    if step is None:
        return LinkRefusal.closed
    if step.round != link.round or step.meeting_on != link.meeting_on:
        return LinkRefusal.superseded
    if step.done:
        return LinkRefusal.used
    if not step.open:
        return LinkRefusal.closed
    return None


def link_url(base_url: str, token: str) -> str:
    """The address a link's email carries: the website's base URL and the token, nothing else."""
    return f"{base_url.rstrip('/')}/link/{token}"
