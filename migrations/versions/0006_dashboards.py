"""The dashboards: monthly totals and indexes.

service_months holds the approved minutes per organization and month, a projection of ledger_states that the app
keeps in step (volunteer_registry/ledger/aggregates.py); it is filled here from the states as they are. Indexes: an
organization's minutes in a period (organization, status, service date) replaces (organization, status), of which
it is an extension; new volunteers by month (volunteers.created_at). (An index on (status, service date) misled
SQLite's planner into scanning every approved entry for one volunteer's months; the province's months come from
service_months instead.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:05:52.188296

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_months',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_service_months_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'month', name=op.f('pk_service_months'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        month = "COALESCE(date_trunc('month', service_date)::date, DATE '0001-01-01')"
    else:
        month = "COALESCE(date(service_date, 'start of month'), '0001-01-01')"
    op.execute(f"INSERT INTO service_months (organization_id, month, minutes) "
               f"SELECT organization_id, {month}, SUM(minutes) FROM ledger_states "
               f"WHERE status = 'approved' GROUP BY organization_id, {month} HAVING SUM(minutes) <> 0")
    op.drop_index('ix_ledger_states_organization_id_status', table_name='ledger_states')
    op.create_index('ix_ledger_states_organization_id_status_service_date', 'ledger_states',
                    ['organization_id', 'status', 'service_date'], unique=False)
    op.create_index('ix_volunteers_created_at', 'volunteers', ['created_at'], unique=False)


def downgrade():
    op.drop_table('service_months')
    op.drop_index('ix_volunteers_created_at', table_name='volunteers')
    op.drop_index('ix_ledger_states_organization_id_status_service_date', table_name='ledger_states')
    op.create_index('ix_ledger_states_organization_id_status', 'ledger_states', ['organization_id', 'status'],
                    unique=False)
