"""wt2023's rapid review sent to the Panel: what the rapid review meeting records for it (sealed: the facts as
readily established, the immediate action, the learning so far, the national-review question) and the Panel's
reply (what it answered and when, in the open for the tracker; its reasons and who recorded it, sealed).

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rapid_review', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('panel_reply', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('panel_reply_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('panel_reply_detail', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('panel_reply_detail')
        batch_op.drop_column('panel_reply_on')
        batch_op.drop_column('panel_reply')
        batch_op.drop_column('rapid_review')
