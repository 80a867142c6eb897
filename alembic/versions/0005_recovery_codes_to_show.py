"""recovery codes waiting to be shown once, sealed, to the session that made them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 21:55:00
"""
import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_codes_to_show',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('codes_sealed', sa.Text(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['user_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_codes_to_show', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_to_show_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recovery_codes_to_show', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_to_show_session_id'))

    op.drop_table('recovery_codes_to_show')
