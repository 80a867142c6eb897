"""user_session.ticket_binding_hash: a login ticket is redeemable only by the browser that asked

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:45:00
"""
import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_binding_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('ticket_binding_hash')
