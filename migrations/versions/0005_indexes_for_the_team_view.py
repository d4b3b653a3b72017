"""indexes for the team view: people by organisation, latest completions and best scores

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(
            'ix_user_people', ['organisation_id', 'team_id', 'name'], unique=False
        )
    with op.batch_alter_table('modulecompletion', schema=None) as batch_op:
        batch_op.create_index(
            'ix_modulecompletion_latest', ['user_id', 'module_id', 'completed_at'], unique=False
        )
    with op.batch_alter_table('quizattempt', schema=None) as batch_op:
        batch_op.create_index(
            'ix_quizattempt_best', ['user_id', 'module_id', 'score'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('quizattempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quizattempt_best')
    with op.batch_alter_table('modulecompletion', schema=None) as batch_op:
        batch_op.drop_index('ix_modulecompletion_latest')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_people')
