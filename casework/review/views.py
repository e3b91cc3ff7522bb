"""What a person sees of a review: on `cig review show` and at the head of each form on the review run's
page. Pure: built from the case and its review as read from the store, and `today`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from casework.model import review_labels
from casework.review.rules import (
    RATIFIER_WORDS, MilestoneState, ReviewStage, days_overdue, next_milestone, next_ratifier, Ratification,
    RatificationResult, Ratifier, CLOCK_STOPPED, STOPPED_FOR_NATIONAL_REVIEW, signed_off_jointly,
)
from casework.review.store import signing_bodies
from casework.store.tables import Case, Review
from config.rulesets import in_terms, load_ruleset

STEP_WORDS = {
    "appointment": "Appoint the lead reviewer. For a {scr} the reviewer must be independent of all the "
                   "partnership's agencies; {the_panel} is told of the appointment.",
    "ratification": "Record the outcome when the drafts go before {next}.",
    # the partners each sign off from their own link (wt2023): this form cannot record it for them
    "sign_off_by_links": "{Next} sign off each from their own link, in the email that tells them the drafts are "
                         "ready; their answers so far are on the review's task list. This form records nothing for "
                         "them: it moves on by itself once they have signed off.",
    "publication": "Record the publication of the final report, with the partnership's response alongside.",
}


@dataclass(frozen=True)
class MilestoneView:
    code: str
    label: str
    target_on: date
    done_on: date | None
    done_by: str | None
    replanned: int


@dataclass(frozen=True)
class ReviewView:
    """A review as people read it."""

    reference: str
    review_type: str
    plan: str
    stage: str
    commissioned_on: date
    lead_reviewers: list[str]
    next_milestone: str | None
    next_milestone_on: date | None
    days_overdue: int
    next_ratifier: str | None
    terms_agreed_on: str | None
    family: str | None
    engagement_outstanding: list[str]
    review_group: int
    case_group: int
    published_on: date | None
    publication_link: str | None
    response_link: str | None
    case_status: str
    milestones: list[MilestoneView] = field(default_factory=list)
    availability: str | None = None  # after publication: stays_published or on_request; or not_published
    non_publication_reason: str | None = None  # why the partnership decided not to publish the final report
    terms: dict[str, str] = field(default_factory=dict)  # the case's rule set's words (an LCSPR under wt2023)
    signed_off_by_links: bool = False  # the drafts' sign-off is each partner's own, from their link (wt2023)
    stopped_for_national_review: bool = False  # wt2023: the Panel carries out a national review; this one stopped

    @property
    def stage_words(self) -> str:
        """The stage in words, saying why a review stopped for the Panel's national review is closed."""
        words = self.stage.replace("_", " ")
        if self.stopped_for_national_review and self.stage == ReviewStage.closed:
            return f"{words}{CLOCK_STOPPED}"
        return words

    @property
    def review_words(self) -> str:
        """The review's type in the case's rule set's words ("Serious Case Review", "... (LCSPR)")."""
        return review_labels(self.terms).get(self.review_type, self.review_type)

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if key != "terms"}


def review_view(case: Case, review: Review, today: date) -> ReviewView:
    states = [MilestoneState(m.code, m.label, m.target_on, m.done_on) for m in review.milestones]
    stopped = review.availability == STOPPED_FOR_NATIONAL_REVIEW
    upcoming = None if stopped else next_milestone(states)  # a stopped review's milestones are no longer owed
    history = [Ratification(Ratifier(r["by"]), RatificationResult(r["result"]), date.fromisoformat(r["on"]))
               for r in review.ratifications]
    return ReviewView(
        reference=case.reference, review_type=review.review_type, plan=review.plan, stage=review.stage,
        commissioned_on=review.commissioned_on, lead_reviewers=[r["name"] for r in review.reviewers],
        next_milestone=upcoming.label if upcoming else None, next_milestone_on=upcoming.target_on if upcoming else None,
        days_overdue=days_overdue(upcoming, today),
        next_ratifier=(n.value if (n := next_ratifier(history, signing_bodies(case))) else None),
        terms_agreed_on=(review.terms or {}).get("agreed_on"),
        family=(review.family or {}).get("involvement"),
        engagement_outstanding=sorted(d.subject for d in case.deadlines if d.kind == "review_engagement" and d.met_at is None),
        review_group=sum(1 for p in review.people if p.group == "review"),
        case_group=sum(1 for p in review.people if p.group == "case"),
        published_on=case.published_on, publication_link=case.publication_link, response_link=review.response_link,
        case_status=case.status,
        milestones=[MilestoneView(m.code, m.label, m.target_on, m.done_on, m.done_by, len(m.replans or []))
                    for m in review.milestones],
        availability=review.availability,
        non_publication_reason=review.non_publication_reason,
        terms=dict((rules := load_ruleset(case.regime)).terms),
        signed_off_by_links=signed_off_jointly(rules),
        stopped_for_national_review=stopped,
    )


def plan_title(name: str) -> str:
    """The review plan's title as its file gives it ("Concise review"), not its name (concise_review)."""
    from config.review_plans import load_review_plans

    plan = load_review_plans().get(name)
    return plan.title if plan is not None else name.replace("_", " ")


def review_markdown(view: ReviewView, step: str, problem: str | None = None) -> tuple[str, str]:
    """The form's context (description) and the summary that heads its first field, as markdown."""
    nxt = RATIFIER_WORDS[Ratifier(view.next_ratifier)] if view.next_ratifier else "the board"
    if step == "ratification" and view.signed_off_by_links and view.next_ratifier == Ratifier.safeguarding_partners:
        step = "sign_off_by_links"
    summary = f"**{view.reference}: {view.review_words}.** " + in_terms(STEP_WORDS[step], view.terms, next=nxt,
                                                                        Next=nxt[:1].upper() + nxt[1:])
    if problem:
        summary += f"\n\n**The last input was refused:** {problem}"
    rows = "\n".join(
        f"| {m.label} | {m.target_on.isoformat()} | {m.done_on.isoformat() if m.done_on else ''} |"
        for m in view.milestones)
    description = "\n\n".join([
        summary,
        f"Stage: {view.stage.replace('_', ' ')}. Lead reviewer(s): {', '.join(view.lead_reviewers) or 'none yet'}. "
        f"Plan: {plan_title(view.plan)}, commissioned {view.commissioned_on.isoformat()}.",
        "| Milestone | Target | Done |\n| --- | --- | --- |\n" + rows,
    ])
    return description, summary


def review_text(view: ReviewView) -> str:
    """`cig review show` as text."""
    lines = [
        f"{view.reference}: {view.review_words} ({view.plan}), "
        f"{view.stage_words}; case {view.case_status}",
        f"  commissioned {view.commissioned_on.isoformat()}; lead reviewer(s): {', '.join(view.lead_reviewers) or 'none yet'}",
        f"  review group {view.review_group}, case group {view.case_group}; "
        f"engagement awaited from: {', '.join(view.engagement_outstanding) or 'nobody'}",
        f"  terms of reference: {view.terms_agreed_on or 'not yet'}; family involvement: {view.family or 'not yet'}",
    ]
    if view.stage in (ReviewStage.under_way, ReviewStage.ratifying) and view.next_ratifier:
        lines.append(f"  drafts next go to: {RATIFIER_WORDS[Ratifier(view.next_ratifier)]}")
    if view.availability == "not_published":
        lines.append(f"  the final report is not published. Why: {view.non_publication_reason or 'not recorded'}")
        if view.response_link:
            lines.append(f"  the improvements are published at {view.response_link}")
    if view.published_on:
        lines.append(f"  published {view.published_on.isoformat()} at {view.publication_link}; response {view.response_link}")
    lines.append("  milestones:")
    for m in view.milestones:
        done = f"done {m.done_on.isoformat()} ({m.done_by})" if m.done_on else f"target {m.target_on.isoformat()}"
        lines.append(f"    {m.code:<26} {done}{f', re-planned {m.replanned}x' if m.replanned else ''}")
    return "\n".join(lines)
