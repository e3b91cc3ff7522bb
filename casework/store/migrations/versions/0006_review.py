"""The review after the decision: the review itself (plan, stage, run, lead reviewers, terms of
reference, ratifications, family involvement, availability), its milestones, and its review and
case groups (who they are sealed).

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('review_type', sa.String(length=40), nullable=False),
        sa.Column('plan', sa.String(length=40), nullable=False),
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('flow_run_id', sa.String(length=36), nullable=True),
        sa.Column('commissioned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('commissioned_on', sa.Date(), nullable=False),
        sa.Column('reviewers', sa.JSON(), nullable=False),
        sa.Column('terms', sa.JSON(), nullable=True),
        sa.Column('ratifications', sa.JSON(), nullable=False),
        sa.Column('family', sa.JSON(), nullable=True),
        sa.Column('response_link', sa.String(length=500), nullable=True),
        sa.Column('availability', sa.String(length=20), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id'),
    )
    op.create_index('ix_reviews_stage', 'reviews', ['stage'])
    op.create_table(
        'review_milestones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('planned_on', sa.Date(), nullable=False),
        sa.Column('target_on', sa.Date(), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.Column('done_by', sa.String(length=120), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('document', sa.String(length=500), nullable=True),
        sa.Column('replans', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('review_id', 'code'),
    )
    op.create_index('ix_review_milestones_review_id', 'review_milestones', ['review_id'])
    op.create_table(
        'review_people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('review_group', sa.String(length=12), nullable=False),
        sa.Column('agency', sa.String(length=12), nullable=False),
        sa.Column('person', sa.Text(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_review_people_review_id', 'review_people', ['review_id'])


def downgrade() -> None:
    op.drop_index('ix_review_people_review_id', table_name='review_people')
    op.drop_table('review_people')
    op.drop_index('ix_review_milestones_review_id', table_name='review_milestones')
    op.drop_table('review_milestones')
    op.drop_index('ix_reviews_stage', table_name='reviews')
    op.drop_table('reviews')
