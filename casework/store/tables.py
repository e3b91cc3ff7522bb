"""The case database: cases, requests for information, deadlines, the outbox and the audit log."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from casework.store.sealed import SealedJSON


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Case(Base):
    """One referral, from CIGSCR1 to the decision notices. Personal data is sealed in `personal`."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    regime: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    referring_agency: Mapped[str] = mapped_column(String(12))
    notified_on: Mapped[date]
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    facts: Mapped[dict] = mapped_column(JSON)
    personal: Mapped[dict | None] = mapped_column(SealedJSON)
    referrer_email: Mapped[str | None] = mapped_column(SealedJSON)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    wait_seq: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    meeting_on: Mapped[date | None]
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    screening: Mapped[str | None] = mapped_column(String(16))
    screening_reason: Mapped[str | None] = mapped_column(Text)
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_round_agencies: Mapped[list | None] = mapped_column(JSON)
    recommendation: Mapped[str | None] = mapped_column(String(40))
    recommendation_rationale: Mapped[str | None] = mapped_column(Text)
    recommended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chair_response: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(40))
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    lead_reviewers: Mapped[list | None] = mapped_column(JSON)
    panel_details: Mapped[dict | None] = mapped_column(SealedJSON)
    # wt2023: what the rapid review meeting recorded for the Panel (facts_established, immediate_action,
    # learning_so_far, national_review) and the Panel's reply (casework.referral.panel.PanelReply) with its
    # reasons and who recorded it
    rapid_review: Mapped[dict | None] = mapped_column(SealedJSON)
    panel_reply: Mapped[str | None] = mapped_column(String(40))
    panel_reply_on: Mapped[date | None]
    panel_reply_detail: Mapped[dict | None] = mapped_column(SealedJSON)
    # the Serious Incident Notification (step 1): its dates on the tracker, the notification itself sealed
    sin_completed_on: Mapped[date | None]
    sin_sent_on: Mapped[date | None]
    sin: Mapped[dict | None] = mapped_column(SealedJSON)  # {"completed_by", "text", "document": {filename, ...}}
    # the review's final report, once published (`cig review publish`); words and a link, never identity
    themes: Mapped[list | None] = mapped_column(JSON)  # abuse or vulnerability themes, e.g. ["neglect"]
    published_on: Mapped[date | None]
    publication_link: Mapped[str | None] = mapped_column(String(500))
    learning_shared: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    requests: Mapped[list["InformationRequest"]] = relationship(
        back_populates="case", order_by="InformationRequest.id", cascade="all, delete-orphan"
    )
    deadlines: Mapped[list["Deadline"]] = relationship(
        back_populates="case", order_by="Deadline.due_at", cascade="all, delete-orphan"
    )


class InformationRequest(Base):
    """CIGINF1 to one agency in one round, and what came back."""

    __tablename__ = "information_requests"
    __table_args__ = (UniqueConstraint("case_id", "agency", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency: Mapped[str] = mapped_column(String(12))
    round: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_return: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16), default="outstanding")
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[dict | None] = mapped_column(SealedJSON)
    attendees: Mapped[list | None] = mapped_column(SealedJSON)

    case: Mapped[Case] = relationship(back_populates="requests")


class Deadline(Base):
    """A statutory or process clock on a case; `met_at` is set when the thing is done."""

    __tablename__ = "deadlines"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "subject", "round"),
        Index("ix_deadlines_open_due", "met_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(40), default="")
    round: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="deadlines")


class OutboxMessage(Base):
    """An email the process owes someone, written with the change that caused it; sent once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict] = mapped_column(SealedJSON)  # {"text": ..., "html": ..., "attachments": [...]}
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending, sending, sent, failed
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a deliverer took it to send
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only: who did what to which case, when (metadata, never the personal data itself)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_reference: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class MeetingException(Base):
    """A meeting the rule gave, moved to another time or cancelled (moved_to is null)."""

    __tablename__ = "meeting_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduled_on: Mapped[date] = mapped_column(unique=True)
    moved_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonalLink(Base):
    """A personal link to one step for one person: an opaque random token, kept only as its SHA-256,
    with the case (none for a meeting's papers), the step, the recipient (and agency), the round and
    meeting it was made for, and its expiry. It stops working once used, revoked, expired, or when the
    case moves to another round or meeting (casework.links decides)."""

    __tablename__ = "personal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # return, papers, screening, decision, review, engagement
    recipient: Mapped[str] = mapped_column(String(254))  # the address the link was sent to
    agency: Mapped[str | None] = mapped_column(String(12))
    partner: Mapped[str | None] = mapped_column(String(40))  # a decision link's decider (wt2023: the partner's key)
    round: Mapped[int] = mapped_column(Integer, default=0)
    meeting_on: Mapped[date | None]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PartnerDecision(Base):
    """One decider's answer at a step the rule set's deciders take each by their own hand (wt2023: each safeguarding
    partner, through its delegate or lead): the case's recommendation (`step` decision: agree or disagree) or the
    review's drafts (`step` sign_off: ratified or returned). Kept once per step, decider and round (the unique
    constraint refuses a second), never changed; the step is taken when the quorum agrees."""

    __tablename__ = "partner_decisions"
    __table_args__ = (UniqueConstraint("case_id", "step", "round", "partner", name="uq_partner_decisions_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16), default="decision", server_default="decision")
    round: Mapped[int] = mapped_column(Integer)  # decision: the case's round; sign_off: outcomes recorded before it
    partner: Mapped[str] = mapped_column(String(40))  # whom the decider acts for (the partner's key)
    response: Mapped[str] = mapped_column(String(16))  # agree, disagree; ratified, returned
    rationale: Mapped[str] = mapped_column(Text)  # a sign-off's comments ("" when signed off without)
    national_importance: Mapped[bool]
    link_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReturnDocument(Base):
    """A completed CIGINF1 document an agency uploaded with its return, sealed (its name too: a file
    name can carry a child's name); deleted with its case."""

    __tablename__ = "return_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agency: Mapped[str] = mapped_column(String(12))
    round: Mapped[int]
    document: Mapped[dict] = mapped_column(SealedJSON)  # an outbox attachment: filename, content_type, content
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """The review a decision initiated (one per case): its plan, stage, run, lead reviewer(s), terms of
    reference, ratifications, family involvement and what became of its report after publication."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    review_type: Mapped[str] = mapped_column(String(40))
    plan: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(32), index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    commissioned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    commissioned_on: Mapped[date]
    reviewers: Mapped[list] = mapped_column(JSON, default=list)  # [{name, kind, agency, appointed_on, by}]
    terms: Mapped[dict | None] = mapped_column(JSON)  # {terms_of_reference, scope, agreed_on}
    ratifications: Mapped[list] = mapped_column(JSON, default=list)  # [{by, result, on, comments}]
    family: Mapped[dict | None] = mapped_column(JSON)  # {involvement, on, reason}
    response_link: Mapped[str | None] = mapped_column(String(500))
    availability: Mapped[str | None] = mapped_column(String(20))  # stays_published, on_request; or not_published
    non_publication_reason: Mapped[str | None] = mapped_column(Text)  # why, when not published (names no one)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # `case.review` too: the tracker reads a case's review with it (deleted with its case, as by `purge`)
    case: Mapped[Case] = relationship(backref=backref("review", uselist=False, cascade="all, delete-orphan"))
    milestones: Mapped[list["ReviewMilestone"]] = relationship(
        order_by="ReviewMilestone.position", cascade="all, delete-orphan")
    people: Mapped[list["ReviewPerson"]] = relationship(order_by="ReviewPerson.id", cascade="all, delete-orphan")


class ReviewMilestone(Base):
    """A milestone of a review's plan: its target (first and as re-planned), and when and by whom it was done."""

    __tablename__ = "review_milestones"
    __table_args__ = (UniqueConstraint("review_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[date]
    target_on: Mapped[date]
    done_on: Mapped[date | None]
    done_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(String(500))
    replans: Mapped[list] = mapped_column(JSON, default=list)  # [{from, to, reason, at}]


class ReviewDocument(Base):
    """A draft or the final report a lead reviewer uploaded to the review's task list (PDF, Word or ODT, checked
    by content as returns are), sealed (its name too); deleted with its case."""

    __tablename__ = "review_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # draft_report, action_plans, final_report
    document: Mapped[dict] = mapped_column(SealedJSON)  # an outbox attachment: filename, content_type, content
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewPerson(Base):
    """A member of the review group or the case group; who they are is sealed (the partnership file does not list them)."""

    __tablename__ = "review_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    group: Mapped[str] = mapped_column("review_group", String(12))  # review, case
    agency: Mapped[str] = mapped_column(String(12))
    person: Mapped[dict] = mapped_column(SealedJSON)  # {name, role, email}
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LearningAction(Base):
    """One action of a review's multi-agency or single-agency learning and improvement plan: the finding it
    answers, the action, the agency, the named lead (sealed: a practitioner's name and email), the target
    date, the evidence of impact that will show it worked, and its status. Its reminders run from the
    case's `learning_action` deadline (subject "A<number>"), so the sweep reads only what is due."""

    __tablename__ = "learning_actions"
    __table_args__ = (UniqueConstraint("review_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    plan: Mapped[str] = mapped_column(String(16))  # multi_agency, single_agency
    agency: Mapped[str] = mapped_column(String(12))
    finding: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    lead: Mapped[dict] = mapped_column(SealedJSON)  # {name, email}
    target_on: Mapped[date]
    evidence_of_impact: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done, dropped
    status_note: Mapped[str | None] = mapped_column(Text)  # the evidence it is done, or why it was dropped
    done_on: Mapped[date | None]
    revision: Mapped[int] = mapped_column(Integer, default=0)  # a new target date starts its reminders afresh
    outcome: Mapped[str | None] = mapped_column(String(20))  # the committee's 6-month review
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActionDocument(Base):
    """A file of evidence that an action is done, uploaded by its named lead (PDF, Word or ODT, checked by content
    as returns are), sealed (its name too); deleted with its action."""

    __tablename__ = "action_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("learning_actions.id", ondelete="CASCADE"), index=True)
    document: Mapped[dict] = mapped_column(SealedJSON)  # an outbox attachment: filename, content_type, content
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActionUpdate(Base):
    """A recorded change to an action: what changed (field names and statuses, never the lead's details), why, who, when."""

    __tablename__ = "action_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("learning_actions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    changes: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class LearningRecord(Base):
    """What a review's learning produced, by kind: its learning summary (key "summary"), each dissemination
    the training officer records, a 6-month review of impact; an audit that is not a case review is an index
    entry with no review. Anonymised text only (checked against the case's names and dates of birth)."""

    __tablename__ = "learning_records"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # summary, dissemination, impact_review, index_entry
    key: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
