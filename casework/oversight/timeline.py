"""A case's story for people: what happened when and who did it, which notices went out, what is due
next, and how far along the process the case is (stage n of m).

Pure functions over the stored case, its audit events and its outbox messages; no Prefect and no
clock reads. Every entry is a sentence a person reads ("Referral notice sent to the business
manager", "Listed for the meeting on Tue 8 Dec 2026 10:00"), every time in the partnership's local
time (Europe/London), every actor a role or the name recorded, never a form's internal name alone
("the CIG chair and business manager (screening form)"). `People` (from the partnership file,
`people_of`) turns addresses and agency codes into roles and names.

Only metadata is shown: never the child's name or date of birth, never free text a person typed
about the case (reasons, rationales, the details of a refused form); of what a form records, only
who decided, the outcome, agencies, rounds and dates. The little typed text it does show (the lead
reviewers, why a review is not published) is escaped (casework.cells.markdown_cell): it reads as
typed and carries no HTML or table syntax into the artifact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime

from casework.cells import markdown_cell
from casework.clocks import WorkingCalendar, days_left
from casework.model import MAIN_PATH, Stage, describe_stage, review_labels
from casework.store.tables import AuditEvent, Case, OutboxMessage
from casework.oversight.tracker import day_words, time_words
from casework.review.rules import STOPPED_FOR_NATIONAL_REVIEW, STOPPED_WORDS
from config.partnership import Partnership
from config.rulesets import RuleSet, in_terms as worded, load_ruleset

ACCESS_ACTIONS = ("case viewed",)  # in `cig audit`, not in the story of the case

MESSAGE_LABELS = {
    "referral_notice": "referral notice",
    "information_request": "request for information (CIGINF1)",
    "recommendation": "recommendation (CIGSUM1) to {deciders}",
    "ofsted_notice": "notice to Ofsted",
    "panel_notice": "notice to {the_panel}",
    "serious_incident_notice": "serious incident notification to the Panel",
    "rapid_review_notice": "rapid review notice to the Panel",
    "referrer_decision": "decision to the referrer",
    "screening_decline": "decline to the referrer",
    "screening_accept": "acceptance (CIGCON1) to the referrer",
    "listing_notice": "listing notice",
    "decision_advice": "decision advice",
    "reminder": "reminder",
    "escalation": "escalation",
    "review_not_published_panel": "decision not to publish, to {the_panel}",
    "review_stopped_national_review": "review stopped for the Panel's national review",
}

# what was sent, as the subject of "... sent to <whom>"
MESSAGE_NOUNS = {
    "referral_notice": "Referral notice",
    "information_request": "Request for information (CIGINF1)",
    "recommendation": "{group_short} recommendation (CIGSUM1)",
    "ofsted_notice": "Notice of the case",
    "panel_notice": "Notice of the case",
    "serious_incident_notice": "Serious incident notification",
    "rapid_review_notice": "The rapid review (its Word document attached)",
    "panel_reply_reminder": "Reminder that no reply of the Panel to the rapid review is recorded",
    "referrer_decision": "The decision",
    "screening_decline": "The decline at screening",
    "screening_accept": "The acceptance (CIGCON1)",
    "listing_notice": "Listing notice",
    "decision_advice": "Advice of the decision",
    "reminder": "Reminder",
    "escalation": "Escalation",
    "meeting_change": "Change of meeting",
    "review_commissioned": "The review's plan",
    "review_commencement": "Rationale and commencement of the review",
    "review_appointment": "The lead reviewer's appointment",
    "review_ratification": "The outcome of the review's drafts",
    "review_published": "The published review",
    "review_not_published": "The decision not to publish the review",
    "review_not_published_panel": "The decision not to publish the review, with its reasons,",
    "review_stopped_national_review": "The review's stop for the Panel's national review",
    "review_reminder": "Review reminder",
}

# who acts on each Prefect form (the audit records the form's name as the actor)
FORM_ACTORS = {
    "submit-referral form": "the referring agency (CIGSCR1 referral form)",
    "screening form": "the {screeners} (screening form)",
    "return form": "the administrator, for the agency (CIGINF1 return form)",
    "recommendation form": "{recommended_by} (recommendation form, CIGSUM1)",
    "decision form": "{deciders} (decision form)",
    "appointment form": "the partnership (lead reviewer appointment form)",
    "ratification form": "the business manager, for the meeting (ratification form)",
    "publication form": "the business manager (publication form)",
}
ACTOR_WORDS = {"system": "the case system", "administrator": "the administrator", "demo": "the demo (simulated people)"}
STEP_FORMS = {"screening": "screening form", "return": "CIGINF1 return form", "recommendation": "recommendation form",
              "decision": "decision form", "appointment": "appointment form", "ratification": "ratification form",
              "publication": "publication form"}

ROLE_WORDS = {
    "administrator": "the administrator",
    "cig_chair": "the CIG chair",
    "business_manager": "the business manager",
    "independent_chair": "the independent chair",
    "safeguarding_unit_manager": "the safeguarding unit manager",
    "ofsted": "Ofsted",
    "national_panel": "the National Panel",
}
OPTIONAL_ROLE_WORDS = {
    "training_officer": "the training officer",
    "executive_group": "the executive group",
    "board": "the partnership board",
    "professional_development_committee": "the professional development committee",
}
REFERRER_MESSAGES = ("referrer_decision", "screening_decline", "screening_accept")


@dataclass(frozen=True)
class People:
    """Who is who in the partnership, for the timeline: an email address -> its role(s) in words
    ("the business manager"), an agency code -> the agency's name."""

    roles: Mapping[str, str] = field(default_factory=dict)
    agencies: Mapping[str, str] = field(default_factory=dict)

    def recipient(self, address: str | None, kind: str) -> str:
        """Whom a message went to, in words; a person the case names (not in the partnership file) by their part."""
        if address and address.lower() in self.roles:
            return self.roles[address.lower()]
        if kind in REFERRER_MESSAGES:
            return "the referrer"
        return "the action's named lead" if kind == "action_reminder" else "its recipient"

    def agency(self, code: str) -> str:
        """"POL (Northshire Police)", or the code alone for an agency not in the partnership file."""
        return f"{code} ({self.agencies[code]})" if code in self.agencies else code


def people_of(partnership: Partnership, rules: RuleSet | None = None) -> People:
    """The `People` of a partnership (`config.partnership.Partnership`): its contacts' roles, each
    agency's contact and name, the managers' list. An address with several roles names them all. Given the case's
    rule set, the roles read in its words: the Panel by its short name ("the National Panel", "the Panel"), the rule
    set's other roles by their titles (the independent scrutineer), each safeguarding partner's lead and delegate
    by the organisation; a role the partnership file does not name is left out."""
    found: dict[str, list[str]] = {}
    contacts = partnership.contacts
    words_of = dict(ROLE_WORDS, **OPTIONAL_ROLE_WORDS)
    if rules is not None:
        panel = rules.term("panel_short")
        words_of["national_panel"] = panel if panel.startswith("the ") else f"the {panel}"
        words_of |= {key: role.title for key, role in rules.roles.items()
                     if role.named_in == f"contacts.{key}" and key not in words_of}
    for role, words in words_of.items():
        if (contact := getattr(contacts, role, None)) is not None:
            found.setdefault(contact.email.lower(), []).append(words)
    for partner in partnership.safeguarding_partners.values():
        found.setdefault(partner.lead.email.lower(), []).append(
            f"the lead safeguarding partner for {partner.organisation}")
        if partner.delegate is not None:
            found.setdefault(partner.delegate.email.lower(), []).append(
                f"the delegated safeguarding partner for {partner.organisation}")
    for agency in partnership.agencies:
        found.setdefault(agency.contact.email.lower(), []).append(f"{agency.code} ({agency.name})")
    for manager in contacts.managers:
        found.setdefault(manager.email.lower(), []).append("the managers' list")
    roles = {address: _and(words) for address, words in found.items()}
    return People(roles, {a.code: a.name for a in partnership.agencies})


def _and(words: Sequence[str]) -> str:
    """"the CIG chair", "the CIG chair and the business manager", "A, B and C"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


REVIEW_STAGE_WORDS = {
    "awaiting_reviewer": "appointing a lead reviewer",
    "under_way": "under way",
    "ratifying": "ratification",
    "awaiting_publication": "publication",
    "published": "published",
    "not_published": "not published",
    "superseded": STOPPED_WORDS,
    "closed": "closed",
}


@dataclass(frozen=True)
class Progress:
    """Stage n of m on the main path of the process chart; after a decision that started a review,
    where the review stands (`review`, a review stage)."""

    stage: Stage
    number: int
    of: int
    review: str | None = None

    @property
    def fraction(self) -> float:
        return self.number / self.of

    @property
    def percent(self) -> float:
        return round(100 * self.fraction, 1)

    @property
    def description(self) -> str:
        if self.review is not None:
            return f"review: {REVIEW_STAGE_WORDS.get(self.review, self.review.replace('_', ' '))}"
        return f"stage {self.number} of {self.of}: {describe_stage(self.stage)}"


def progress(case: Case) -> Progress:
    """How far along the process chart the case is (declined counts as the end), and its review's stage
    once a decision started one."""
    stage = Stage(case.stage)
    review = getattr(case, "review", None)
    return Progress(stage, stage.number, len(MAIN_PATH), review.stage if review is not None else None)


def _when(moment: datetime, calendar: WorkingCalendar) -> str:
    return time_words(moment, calendar.zone)


def in_terms(text: str, terms: Mapping[str, str] | None = None) -> str:
    """`text` with each {key} the rule set's term (`terms`: the case's rule set's; else the default rule set's)."""
    return worded(text, dict(_default_terms()) | dict(terms or {}))


@lru_cache(maxsize=1)
def _default_terms() -> Mapping[str, str]:
    return load_ruleset(Partnership.model_fields["ruleset"].default).terms


def actor_words(actor: str, people: People, terms: Mapping[str, str] | None = None) -> str:
    """Who did it, as a person reads it: the role behind a form in the rule set's `terms` ("the CIG chair and
    business manager (screening form)"), someone at the command line (never the command: people read this), or the
    role or name recorded."""
    if actor in FORM_ACTORS:
        return in_terms(FORM_ACTORS[actor], terms)
    if actor in ACTOR_WORDS:
        return ACTOR_WORDS[actor]
    words = actor.split()
    if words and words[0] == "cig":  # `cig <command>` or `cig (<user>)`: whoever it was, at the server
        return "someone at the command line"
    return people.agency(actor) if actor in people.agencies else actor


def _who(event: AuditEvent, people: People, terms: Mapping[str, str] | None = None) -> str:
    """The role who acted, never a name typed into a form: the timeline is a Prefect artifact, and
    Prefect keeps no personal value a case holds (the audit trail keeps the names recorded)."""
    return actor_words(event.actor, people, terms)


def _names(codes: Sequence[str], people: People) -> str:
    return _and([people.agency(c) for c in codes]) if codes else "no agency"


def _moment(value: object, calendar: WorkingCalendar) -> str:
    try:
        return _when(datetime.fromisoformat(str(value)), calendar)
    except ValueError:
        return str(value)


def sentence(event: AuditEvent, *, labels: Mapping[str, str], people: People, calendar: WorkingCalendar,
             terms: Mapping[str, str] | None = None) -> str:
    """What happened, in words (`labels`: the review outcomes in the case's regime's words; `terms`: its rule set's
    terms)."""
    action, detail = event.action, event.detail or {}
    round_ = f" (round {detail['round']})" if detail.get("round") and detail["round"] != 1 else ""
    if action == "referral recorded":
        return f"Referral recorded from {people.agency(detail['agency'])}" if detail.get("agency") else "Referral recorded"
    if action == "flow run started":
        return "The case's run started in Prefect"
    if action == "serious incident notification recorded":
        completed, sent = (date.fromisoformat(detail[k]).strftime("%a %-d %b %Y") for k in ("completed_on", "sent_on"))
        return f"Serious Incident Notification recorded: completed {completed}, sent {sent}"
    if action == "flow run rescheduled":
        return f"The case's run put back on the work pool (it was {str(detail.get('previous_state', 'stalled')).lower()})"
    if action.endswith(" input refused"):
        form = STEP_FORMS.get(action.removesuffix(" input refused"), "form")
        return f"The {form} could not be used; it is asked for again, with the reason"
    if action.startswith("screening: "):
        if action.endswith("accept"):
            whom = (_default_terms() if terms is None else terms).get("screening_consulted")  # wt2023: no one
            consulted = f"; {whom} was consulted" if whom and detail.get("independent_chair_consulted") else ""
            return f"Referral accepted at screening{consulted}"
        return "Referral declined at screening"
    if action in ("listed for meeting", "re-listed"):
        verb = "Listed for" if action == "listed for meeting" else "Moved to"
        return f"{verb} the meeting on {_moment(detail.get('meeting'), calendar)}{round_}"
    if action == "requests for information issued":
        due = ", due by return" if detail.get("by_return") else ""
        return f"Requests for information (CIGINF1) sent to {_names(detail.get('agencies') or [], people)}{round_}{due}"
    if action == "return recorded":
        agency = people.agency(str(detail.get("agency", "")))
        status = detail.get("status")
        if status == "nil":
            return f"Nil return recorded for {agency}: no involvement{round_}"
        if status == "not_received":
            return f"Return from {agency} recorded as not received; the meeting goes ahead without it{round_}"
        return f"Return (CIGINF1) received from {agency}{round_}"
    if action.startswith("recommendation: "):
        outcome = action.removeprefix("recommendation: ")
        words = in_terms("{group_short} recommendation: ", terms) + labels.get(outcome, outcome)
        if detail.get("further_information_from"):
            words += f" from {_names(detail['further_information_from'], people)}"
        return words + round_
    if action.startswith("decision: "):
        outcome = action.removeprefix("decision: ")
        response = {"affirm": ", affirming the recommendation", "challenge": ", challenging the recommendation"}
        decision = in_terms("{decision}", terms)
        return (f"{decision[:1].upper()}{decision[1:]}: {labels.get(outcome, outcome)}"
                f"{response.get(detail.get('response'), '')}")
    if action == "case decided":
        return "Case decided; it stays open while the review runs" if detail.get("status") == "open" else "Case decided and closed"
    if action == "review published":
        on = detail.get("published_on")
        return f"Review published on {day_words(datetime.fromisoformat(on).date())}" if on else "Review published"
    if action == "review commissioned":
        return f"Review commissioned: {labels.get(str(detail.get('review_type')), detail.get('review_type'))}, " \
               f"plan {detail.get('plan')} ({detail.get('milestones')} milestones)"
    if action == "agency engagement confirmed":
        return f"{people.agency(str(detail.get('agency', '')))} confirmed its engagement with the review"
    if action in ("review milestone done", "review milestone re-planned"):
        return f"Review milestone {str(detail.get('stage', '')).replace('_', ' ')} " \
               + ("done" if action.endswith("done") else "re-planned")
    if action.startswith("review drafts "):
        by = {"cig": in_terms("the {group_short}", terms), "executive_group": "the executive group",
              "board": "the partnership board", "safeguarding_partners": in_terms("{deciders}", terms)}
        return f"Review drafts {action.removeprefix('review drafts ')} by {by.get(str(detail.get('by')), detail.get('by'))}"
    if action == "review not published":
        on = detail.get("decided_on")
        return "Review not published" + (f" (decided {day_words(datetime.fromisoformat(on).date())})" if on else "") \
            + (f": {markdown_cell(str(detail['reason']))}" if detail.get("reason") else "")
    if action == "review stopped: national review":  # wt2023 (casework.review.store.record_national_review)
        stopped = len(detail.get("clocks_stopped") or [])
        return ("Review stopped: the Panel carries out a national review, and the local decision follows the "
                f"Panel's; its open deadlines stopped ({stopped})")
    if action == "review closed":
        return "Review closed: the case is closed" if detail.get("stopped_for_national_review") else \
            "Review complete: the case is closed"
    if action == "message sent":
        kind = str(detail.get("kind", ""))
        noun = in_terms(MESSAGE_NOUNS[kind], terms) if kind in MESSAGE_NOUNS else (
            kind.replace("_", " ").capitalize() or "Message")
        return f"{noun} sent to {people.recipient(detail.get('to'), kind)}"
    if action == "message delivery failed":
        kind = str(detail.get("kind", ""))
        noun = in_terms(MESSAGE_NOUNS[kind], terms) if kind in MESSAGE_NOUNS else (
            kind.replace("_", " ").capitalize() or "Message")
        refused = "the mail server refused it (ask the partnership administrator to have it sent again)"
        return f"{noun} not delivered: " + ("the mail server will be tried again" if detail.get("temporary") else refused)
    if action.startswith("Panel's reply recorded: "):  # wt2023 (casework.referral.actions.record_panel_reply)
        reply = action.removeprefix("Panel's reply recorded: ")
        on = detail.get("received_on")
        line = f"The Panel's reply to the rapid review recorded: it {reply}" + (
            f" (received {day_words(datetime.fromisoformat(on).date())})" if on else "")
        return line + ("; a national review is recorded on the case" if detail.get("national_review") else "")
    if action == "rapid review recorded for the Panel":
        return "What the rapid review meeting found recorded for the Panel's rapid review"
    if action == "case data purged":
        years = detail.get("retention_years")
        return f"Case data deleted at the end of its {years} years' retention" if years else "Case data deleted"
    return action[:1].upper() + action[1:]


def review_line(stage: str, non_publication_reason: str | None, availability: str | None = None) -> str:
    """The review's stage under the timeline's header, and why its final report is not published, when it is not
    (or that the review stopped for the Panel's national review: its `availability` says so)."""
    line = f"Review stage: **{stage.replace('_', ' ')}**."
    if availability == STOPPED_FOR_NATIONAL_REVIEW:
        line += " It stopped: the Panel carries out a national review, and the local decision follows the Panel's."
    if non_publication_reason:
        line += f" The final report is not published. Why: {markdown_cell(non_publication_reason)}"
    return line


def case_timeline_markdown(
    case: Case,
    events: Sequence[AuditEvent],
    messages: Sequence[OutboxMessage],
    *,
    calendar: WorkingCalendar,
    now: datetime,
    terms: Mapping[str, str] | None = None,
    people: People | None = None,
    tracker_url: str | None = None,
) -> str:
    """The case's story as markdown: header, progress, what happened, notices, what is due next.

    `terms`: the case's rule set's terms, so a wt2023 case reads in that regime's words; `people`:
    the partnership's roles and agencies (`people_of`), so messages say whom they went to;
    `tracker_url`: the latest case tracker in the Prefect UI, linked under the header.
    """
    step = progress(case)
    labels = review_labels(terms or {})
    people = people or People()
    lines = [
        f"# Case {case.reference}",
        "",
        f"**{step.description[:1].upper()}{step.description[1:]}** ({case.status}); referred by "
        f"{people.agency(case.referring_agency)}, notified {day_words(case.notified_on)}.",
    ]
    if tracker_url:
        lines.append(f"Every case, deadline and breach: [the latest case tracker]({tracker_url}).")
    if case.meeting_at:
        lines.append(f"Listed for the meeting on {_when(case.meeting_at, calendar)} (round {case.round}).")
    if case.decision:
        lines.append(f"Decision: **{labels.get(case.decision, case.decision)}**"
                     + (f", lead reviewer {markdown_cell(', '.join(case.lead_reviewers))}" if case.lead_reviewers else "")
                     + ".")
    if (review := getattr(case, "review", None)) is not None:
        lines.append(review_line(review.stage, review.non_publication_reason, review.availability))
    lines += ["", "## What happened", "", "| when | who | what |", "| --- | --- | --- |"]
    lines += [f"| {_when(e.at, calendar)} | {_who(e, people, terms)} | "
              f"{sentence(e, labels=labels, people=people, calendar=calendar, terms=terms)} |"
              for e in events if e.action not in ACCESS_ACTIONS]
    notices = [m for m in messages if m.kind not in ("reminder", "escalation")]
    lines += ["", "## Notices", ""]
    if notices:
        lines += ["| notice | status | sent |", "| --- | --- | --- |"]
        for kind in dict.fromkeys(m.kind for m in notices):  # in the order they were queued
            group = [m for m in notices if m.kind == kind]
            label = in_terms(MESSAGE_LABELS[kind], terms) if kind in MESSAGE_LABELS else kind.replace("_", " ")
            label += f" (to {len(group)})" if len(group) > 1 else ""
            statuses = dict.fromkeys(m.status for m in group)
            status = ", ".join(f"{sum(1 for m in group if m.status == s)} {s}" if len(group) > 1 else s for s in statuses)
            sent = [m.sent_at for m in group if m.sent_at is not None]
            lines.append(f"| {label} | {status} | {_when(max(sent), calendar) if sent else '-'} |")
    else:
        lines.append("No notices yet.")
    upcoming = sorted((d for d in case.deadlines if d.met_at is None), key=lambda d: d.due_at)
    lines += ["", "## What is due next", ""]
    if upcoming:
        lines += ["| deadline | due | days left |", "| --- | --- | --- |"]
        for item in upcoming:
            left = days_left(item.due_at, now, calendar)
            flag = " **OVERDUE**" if item.due_at < now else ""
            lines.append(f"| {item.label} | {_when(item.due_at, calendar)} | {left}{flag} |")
    else:
        lines.append("Nothing is due: every deadline of this case is met.")
    return "\n".join(lines) + "\n"

