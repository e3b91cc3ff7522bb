"""The files of evidence an action's named lead uploads on the action's page of the secure website (sealed,
deleted with their action).

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'action_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['action_id'], ['learning_actions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_action_documents_action_id', 'action_documents', ['action_id'])


def downgrade() -> None:
    op.drop_index('ix_action_documents_action_id', table_name='action_documents')
    op.drop_table('action_documents')
