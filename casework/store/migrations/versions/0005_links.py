"""Personal links to the partnership's secure website (token hashes, never tokens) and the CIGINF1
documents agencies upload there (sealed).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'personal_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('agency', sa.String(length=12), nullable=True),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('meeting_on', sa.Date(), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_personal_links_case_id', 'personal_links', ['case_id'])
    op.create_table(
        'return_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('agency', sa.String(length=12), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_return_documents_case_id', 'return_documents', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_return_documents_case_id', table_name='return_documents')
    op.drop_table('return_documents')
    op.drop_index('ix_personal_links_case_id', table_name='personal_links')
    op.drop_table('personal_links')
