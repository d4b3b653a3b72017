"""kept forms: a form sent after the session ended, completed at the next sign-in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'keptform',
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('keptform', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_keptform_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('keptform', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_keptform_user_id'))
    op.drop_table('keptform')
