"""Each safeguarding partner's answer to a rapid review's recommendation, once per partner and round (wt2023: the
partners decide, each by their own hand), and the partner a decision link was made for.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'partner_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('partner', sa.String(length=40), nullable=False),
        sa.Column('response', sa.String(length=16), nullable=False),
        sa.Column('rationale', sa.Text(), nullable=False),
        sa.Column('national_importance', sa.Boolean(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'round', 'partner'),
    )
    op.create_index('ix_partner_decisions_case_id', 'partner_decisions', ['case_id'])
    with op.batch_alter_table('personal_links') as table:
        table.add_column(sa.Column('partner', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('personal_links') as table:
        table.drop_column('partner')
    op.drop_index('ix_partner_decisions_case_id', table_name='partner_decisions')
    op.drop_table('partner_decisions')
