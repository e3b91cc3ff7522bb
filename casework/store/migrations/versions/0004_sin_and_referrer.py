"""The Serious Incident Notification on the case: the dates it was completed and sent (on the tracker)
and the notification itself, text or document, sealed like the rest of the personal data.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sin_completed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('sin_sent_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('sin', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('sin')
        batch_op.drop_column('sin_sent_on')
        batch_op.drop_column('sin_completed_on')
