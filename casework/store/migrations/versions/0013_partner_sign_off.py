"""Each safeguarding partner's sign-off of a review's drafts kept beside their answers to a recommendation: the
partner_decisions table gains the step an answer is for (decision, sign_off), and is kept once per step, partner and
round.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# 0012 left its unique constraint unnamed: SQLite's copy of the table names it by this convention, PostgreSQL by its own
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unnamed_unique() -> str:
    return "uq_partner_decisions_case_id" if op.get_bind().dialect.name == "sqlite" \
        else "partner_decisions_case_id_round_partner_key"


def upgrade() -> None:
    with op.batch_alter_table('partner_decisions', naming_convention=NAMING) as table:
        table.add_column(sa.Column('step', sa.String(length=16), nullable=False, server_default='decision'))
        table.drop_constraint(_unnamed_unique(), type_='unique')
        table.create_unique_constraint('uq_partner_decisions_step', ['case_id', 'step', 'round', 'partner'])


def downgrade() -> None:
    op.execute("DELETE FROM partner_decisions WHERE step <> 'decision'")
    with op.batch_alter_table('partner_decisions', naming_convention=NAMING) as table:
        table.drop_constraint('uq_partner_decisions_step', type_='unique')
        table.create_unique_constraint(_unnamed_unique(), ['case_id', 'round', 'partner'])
        table.drop_column('step')
