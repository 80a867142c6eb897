"""two-step sign-in: authenticator secrets, recovery codes, pending sign-ins, sessions that passed it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:30:57
"""
import sqlalchemy as sa
import sqlmodel

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_code_hash'), ['code_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('sign_in_challenge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('challenge_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('binding_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_challenge_challenge_hash'), ['challenge_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_sign_in_challenge_user_id'), ['user_id'], unique=False)

    op.create_table('two_step',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('enabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('two_step', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('two_step')

    op.drop_table('two_step')
    with op.batch_alter_table('sign_in_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_challenge_user_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_challenge_challenge_hash'))

    op.drop_table('sign_in_challenge')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
        batch_op.drop_index(batch_op.f('ix_recovery_code_code_hash'))

    op.drop_table('recovery_code')
