"""The reason a review's final report is not published, on the review itself (nullable: recorded by
`cig review not-published`). A review already recorded not published gets the reason its audit event
kept (the audit events themselves are left as they are: the trail is append-only).

Revision ID: 0008
Revises: 0007
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('non_publication_reason', sa.Text(), nullable=True))
    connection = op.get_bind()
    reviews = connection.execute(sa.text(
        "SELECT r.id, c.reference FROM reviews r JOIN cases c ON c.id = r.case_id "
        "WHERE r.availability = 'not_published'")).all()
    for review_id, reference in reviews:
        details = connection.execute(sa.text(
            "SELECT detail FROM audit_events WHERE case_reference = :reference AND action = 'review not published' "
            "ORDER BY id DESC"), {"reference": reference}).scalars().all()
        for detail in details:
            detail = json.loads(detail) if isinstance(detail, str) else detail
            if (detail or {}).get('reason'):
                connection.execute(sa.text("UPDATE reviews SET non_publication_reason = :reason WHERE id = :id"),
                                   {"reason": detail['reason'], "id": review_id})
                break


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('non_publication_reason')
