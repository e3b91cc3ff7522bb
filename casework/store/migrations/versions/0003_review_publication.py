"""Review publication on the case tracker: abuse or vulnerability themes, publication date and link,
and how the learning was shared (all nullable: recorded by `cig review publish`).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('themes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('published_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('publication_link', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('learning_shared', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('learning_shared')
        batch_op.drop_column('publication_link')
        batch_op.drop_column('published_on')
        batch_op.drop_column('themes')
