"""Learning and improvement: the actions of a review's plans (their leads sealed), their recorded
updates, and the learning records (summary, dissemination, 6-month review, audits for the index).

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'learning_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('plan', sa.String(length=16), nullable=False),
        sa.Column('agency', sa.String(length=12), nullable=False),
        sa.Column('finding', sa.Text(), nullable=False),
        sa.Column('action', sa.Text(), nullable=False),
        sa.Column('lead', sa.Text(), nullable=False),
        sa.Column('target_on', sa.Date(), nullable=False),
        sa.Column('evidence_of_impact', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_note', sa.Text(), nullable=True),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('review_id', 'number'),
    )
    op.create_index('ix_learning_actions_review_id', 'learning_actions', ['review_id'])
    op.create_table(
        'action_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['action_id'], ['learning_actions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_action_updates_action_id', 'action_updates', ['action_id'])
    op.create_table(
        'learning_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'key'),
    )
    op.create_index('ix_learning_records_review_id', 'learning_records', ['review_id'])


def downgrade() -> None:
    op.drop_index('ix_learning_records_review_id', table_name='learning_records')
    op.drop_table('learning_records')
    op.drop_index('ix_action_updates_action_id', table_name='action_updates')
    op.drop_table('action_updates')
    op.drop_index('ix_learning_actions_review_id', table_name='learning_actions')
    op.drop_table('learning_actions')
