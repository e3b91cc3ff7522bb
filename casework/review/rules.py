"""The rules of a review, apart from Prefect and the database: pure functions over plain data that
take `today` (or `now`) as an argument and never read the clock.

- the plan laid out as milestones with target dates, and which is next and how late;
- the stages a review moves through, and which moves are allowed;
- who may be lead reviewer (seed 001 §5.6: fully independent of every agency for a statutory SCR);
- who signs off the drafts, in order, as the rule set says (wt2015, seed 002: the CIG, then the executive group,
  then the board; wt2023: the safeguarding partners);
- what publication needs (seed 001 footnote 9: for an SCR, family involvement first) and how long the
  report stays available (seed 002: at least 12 months, then on request).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from casework.clocks import WorkingCalendar
from config.review_plans import ReviewPlan
from config.rulesets import RuleSet

REVIEW_TYPES = frozenset({"scr", "critical_case_review", "multi_agency_concise_review", "individual_agency_review"})
AVAILABLE_MONTHS = 12  # seed 002: "readily accessible on the LSCB's website for a minimum of 12 months"


def starts_review(decision: str | None) -> bool:
    """Whether the independent chair's decision initiates a review that runs as its own flow."""
    return decision in REVIEW_TYPES


class ReviewStage(StrEnum):
    """Where a review stands; each is what it waits for next."""

    awaiting_reviewer = "awaiting_reviewer"  # commissioned; no lead reviewer appointed yet
    under_way = "under_way"  # the plan's milestones; the draft report goes to the CIG when ready
    ratifying = "ratifying"  # drafts and action plans through the CIG, the executive group, the board
    awaiting_publication = "awaiting_publication"
    published = "published"
    not_published = "not_published"  # the partnership decided not to publish the report (its reason recorded)
    superseded = "superseded"  # stopped: the Panel carries out a national review (wt2023); the local review follows it
    closed = "closed"


MOVES: dict[ReviewStage, frozenset[ReviewStage]] = {
    ReviewStage.awaiting_reviewer: frozenset({ReviewStage.under_way, ReviewStage.superseded}),
    ReviewStage.under_way: frozenset({ReviewStage.ratifying, ReviewStage.superseded}),
    ReviewStage.ratifying: frozenset({ReviewStage.awaiting_publication, ReviewStage.superseded}),
    ReviewStage.awaiting_publication: frozenset({ReviewStage.published, ReviewStage.not_published,
                                                 ReviewStage.superseded}),
    ReviewStage.published: frozenset({ReviewStage.closed}),
    ReviewStage.not_published: frozenset({ReviewStage.closed}),
    ReviewStage.superseded: frozenset({ReviewStage.closed}),
    ReviewStage.closed: frozenset(),
}

# what becomes of a review's report once it stopped for the Panel's national review (Review.availability, beside
# stays_published, on_request, not_published): none is written here; the Panel's national review stands instead
STOPPED_FOR_NATIONAL_REVIEW = "national_review"
# how a deadline of such a review reads once it no longer runs (its row marked met then, the only mark the table has)
STOPPED_WORDS = "stopped: the Panel carries out a national review"  # the stage, a clock, a page say it so
CLOCK_STOPPED = f" ({STOPPED_WORDS})"


def stopped_label(label: str) -> str:
    """A deadline's label once its clock stopped for the Panel's national review (within the column's 200)."""
    return label[:200 - len(CLOCK_STOPPED)] + CLOCK_STOPPED


def clock_stopped(label: str) -> bool:
    """Whether a deadline (by its label) was stopped for the Panel's national review, not met."""
    return label.endswith(CLOCK_STOPPED)


# a review past which nothing more of it is recorded (no drafts, no delay told, no publication)
FINISHED = frozenset({ReviewStage.published, ReviewStage.not_published, ReviewStage.superseded, ReviewStage.closed})


def stops_for_national_review(stage: ReviewStage) -> bool:
    """Whether a review at `stage` stops when the Panel replies that it will carry out a national review (wt2023:
    the local decision follows the Panel's): one still before its publication or its non-published outcome. A
    review already finished keeps what it did; the reply is recorded on the case all the same."""
    return ReviewStage.superseded in MOVES[stage]


def check_review_move(current: ReviewStage, target: ReviewStage) -> ReviewStage:
    """`target` if a review may move there from `current`, else ValueError naming both."""
    if target is current or target in MOVES[current]:
        return target
    raise ValueError(f"a review cannot move from {current.value.replace('_', ' ')} to {target.value.replace('_', ' ')}")


# --- the plan --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedMilestone:
    """A milestone of a review's plan with its first target date."""

    position: int
    code: str
    label: str
    target_on: date


def lay_out(plan: ReviewPlan, commissioned_on: date, calendar: WorkingCalendar) -> list[PlannedMilestone]:
    """The plan's milestones with target dates: each its offset in calendar days after commissioning, or,
    when that day is a weekend, a bank holiday or a closure day, the working day before it."""
    return [PlannedMilestone(i, m.code, m.label,
                             calendar.working_day_on_or_before(commissioned_on + timedelta(days=m.offset_days)))
            for i, m in enumerate(plan.milestones)]


@dataclass(frozen=True)
class MilestoneState:
    """A milestone as recorded: its target (as last re-planned) and whether it is done."""

    code: str
    label: str
    target_on: date
    done_on: date | None = None


def next_milestone(milestones: Sequence[MilestoneState]) -> MilestoneState | None:
    """The earliest-targeted milestone not yet done (None when every one is done)."""
    open_ = [m for m in milestones if m.done_on is None]
    return min(open_, key=lambda m: m.target_on) if open_ else None


def days_overdue(milestone: MilestoneState | None, today: date) -> int:
    """How many days past its target a milestone not done is (0 when on time, done or none)."""
    if milestone is None or milestone.done_on is not None:
        return 0
    return max(0, (today - milestone.target_on).days)


def missed(milestones: Iterable[MilestoneState], today: date) -> list[MilestoneState]:
    """The milestones past their target and not done."""
    return [m for m in milestones if m.done_on is None and m.target_on < today]


def check_milestone_done(code: str, done_on: date, commissioned_on: date, known: Iterable[str]) -> None:
    """Refuse (ValueError naming the field) a milestone the plan does not have, or done before commissioning."""
    codes = list(known)
    if code not in codes:
        raise ValueError(f"stage: '{code}' is not a milestone of this review's plan (its milestones: {', '.join(codes)})")
    if done_on < commissioned_on:
        raise ValueError(f"done_on: {done_on.isoformat()} is before the review was commissioned "
                         f"({commissioned_on.isoformat()})")


# --- the lead reviewer -----------------------------------------------------------------------

class ReviewerKind(StrEnum):
    independent = "independent"  # independent of the case (and, for an SCR, of every agency)
    internal = "internal"  # from one of the partnership's agencies, not involved in the case


def check_reviewer(review_type: str, kind: ReviewerKind, independent_of_agencies: bool, agency: str | None,
                   review: str = "Serious Case Review", review_short: str = "SCR") -> None:
    """Seed 001 §5.6: for a statutory SCR the lead reviewer is fully independent of all the partnership's
    agencies; internal lead reviewers may be appointed for other reviews (naming their agency).
    ValueError naming the field otherwise, the review in the case's terms (`review`, `review_short`: the rule set's
    scr and scr_short; wt2023's LCSPR)."""
    if review_type == "scr":
        if kind is not ReviewerKind.independent:
            raise ValueError(f"kind: the lead reviewer of a {review} must be independent, not internal")
        if not independent_of_agencies:
            raise ValueError("independent_of_agencies: confirm the lead reviewer is independent of all the "
                             "partnership's agencies (seed 001 §5.6)")
        if agency:
            raise ValueError(f"agency: an independent lead reviewer of an {review_short} belongs to none of the "
                             "partnership's agencies")
    elif kind is ReviewerKind.internal and not agency:
        raise ValueError("agency: name the agency an internal lead reviewer comes from")


# --- drafts and ratification -------------------------------------------------------------------

class Ratifier(StrEnum):
    """A body that signs off a review's drafts; which do, in which order, is the rule set's (`sign_off_order`)."""

    cig = "cig"  # "Draft Report and Findings to LSCB Critical Incident Group"
    executive_group = "executive_group"  # "actions plans reviewed / revised / ratified by LSCB Executive Group"
    board = "board"  # "Final Report and Action Plans to LSCB for ratification"
    safeguarding_partners = "safeguarding_partners"  # wt2023: the partners sign off the LCSPR's final report


RATIFIER_WORDS = {Ratifier.cig: "the Critical Incident Group (draft report and findings)",
                  Ratifier.executive_group: "the executive group (multi- and single-agency action plans)",
                  Ratifier.board: "the partnership board (final report and action plans)",
                  Ratifier.safeguarding_partners: "the safeguarding partners (sign-off of the final report)"}
SIGNED_OFF = {Ratifier.cig: "the Critical Incident Group has already ratified the draft report",
              Ratifier.executive_group: "the executive group has already ratified the action plans",
              Ratifier.board: "the board has already ratified the final report",
              Ratifier.safeguarding_partners: "the safeguarding partners have already signed off the final report"}
NOT_SIGNED_OFF = {Ratifier.cig: "the Critical Incident Group has not ratified the draft report yet",
                  Ratifier.executive_group: "the executive group has not ratified the action plans yet",
                  Ratifier.board: "the partnership board has not ratified the final report yet",
                  Ratifier.safeguarding_partners: "the safeguarding partners have not signed off the final report yet"}
SEED_ORDER = (Ratifier.cig, Ratifier.executive_group, Ratifier.board)  # seed 002's flowchart (wt2015)


def sign_off_order(rules: RuleSet) -> tuple[Ratifier, ...]:
    """Who signs off a review's drafts under `rules`, in order: its `ratification` step's `ratifies` (wt2015: the
    CIG, the executive group, the board), else its `sign_off` step's deciders as one body (wt2023: the safeguarding
    partners, each signing off from their own link, the body's sign-off made when the step's quorum has:
    casework.review.actions.record_partner_sign_off), else the seed's order."""
    if "ratification" in rules.steps and rules.steps["ratification"].ratifies:
        return tuple(Ratifier(body) for body in rules.steps["ratification"].ratifies)
    if "sign_off" in rules.steps and rules.steps["sign_off"].decides:
        return (Ratifier.safeguarding_partners,)
    return SEED_ORDER


def signed_off_jointly(rules: RuleSet) -> bool:
    """Whether the drafts' sign-off is the rule set's `sign_off` step taken by each of its deciders by their own hand
    (wt2023: each safeguarding partner from their own link, signed off when the step's quorum agrees), rather than
    recorded whole by one body (wt2015's ratifications)."""
    return sign_off_order(rules) == (Ratifier.safeguarding_partners,) and rules.steps["sign_off"].decided_jointly


class RatificationResult(StrEnum):
    ratified = "ratified"
    returned = "returned"  # returned with comments: revised, and back to the same body


@dataclass(frozen=True)
class Ratification:
    by: Ratifier
    result: RatificationResult
    on: date


def next_ratifier(history: Sequence[Ratification], order: Sequence[Ratifier] = SEED_ORDER) -> Ratifier | None:
    """Who considers the drafts next: the first body in `order` that has not ratified them since they were
    last returned (a return sends them back to the body that returned them); None once the last has."""
    ratified: set[Ratifier] = set()
    for item in history:
        if item.result is RatificationResult.ratified:
            ratified.add(item.by)
    for body in order:
        if body not in ratified:
            return body
    return None


def check_ratification(history: Sequence[Ratification], by: Ratifier, order: Sequence[Ratifier] = SEED_ORDER) -> None:
    """Refuse (ValueError naming `by`) a ratification out of the rule set's order."""
    expected = next_ratifier(history, order)
    if expected is None:
        raise ValueError(f"by: {SIGNED_OFF[order[-1]]}")
    if by is not expected:
        raise ValueError(f"by: the drafts go to {RATIFIER_WORDS[expected]} next, not to {by.value.replace('_', ' ')}")


# --- publication ----------------------------------------------------------------------------------

class FamilyInvolvement(StrEnum):
    complete = "complete"
    not_possible = "not_possible"


def check_publication(review_type: str, family: FamilyInvolvement | None, board_ratified: bool,
                      last_body: Ratifier = Ratifier.board, scr_short: str = "SCR") -> None:
    """Publication needs the last body's sign-off (wt2015: the board's ratification), and for an SCR the family's
    involvement complete or recorded as not possible (seed 001 footnote 9); `scr_short`: the review's short name in
    the case's rule set's terms (an LCSPR under wt2023). ValueError naming what is missing."""
    if not board_ratified:
        raise ValueError(f"published_on: {NOT_SIGNED_OFF[last_body]}")
    if review_type == "scr" and family is None:
        raise ValueError(f"family_involvement: for an {scr_short} the family's involvement must be complete before the "
                         "final report is published: ask the partnership administrator to record it, or why it was "
                         "not possible")


def check_non_publication(stage: ReviewStage, board_ratified: bool, last_body: Ratifier = Ratifier.board) -> None:
    """A decision not to publish is taken on the final report, once the last body signed it off (wt2015: the
    board), and only while it awaits publication. ValueError naming the field otherwise."""
    if not board_ratified:
        raise ValueError(f"decided_on: {NOT_SIGNED_OFF[last_body]}")
    if stage is not ReviewStage.awaiting_publication:
        raise ValueError(f"decided_on: the review is {stage.value.replace('_', ' ')}, not awaiting publication")


def available_until(published_on: date) -> date:
    """The last day the report must stay readily accessible on the website (12 months from publication)."""
    return published_on + relativedelta(months=AVAILABLE_MONTHS)


class Availability(StrEnum):
    stays_published = "stays_published"
    on_request = "on_request"


def notice_waits_for_reviewer(notice: str, decision: str | None, lead_reviewers: Sequence[str] | None) -> bool:
    """Seed 001 §6: the partnership chair informs the National Panel of the lead reviewer's appointment. An
    SCR decided with no lead reviewer named sends its Panel notice when one is appointed (still within the
    14 days from the decision: the sweep warns before, and escalates after)."""
    return notice == "panel_notice" and decision == "scr" and not lead_reviewers
