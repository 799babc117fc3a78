"""Activities, sign-ups, scans, attendance sessions, manual entries.

Scans are append-only: triggers refuse UPDATE and DELETE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 11:57:16.090578

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def append_only_statements(dialect: str, table: str) -> list[str]:
    """A literal copy (migrations are snapshots) of volunteer_registry.models.append_only_ddl; the PostgreSQL
    function refuse_change() exists since revision 0001."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
        ]
    raise RuntimeError(f"append-only triggers are not written for {dialect}")


def upgrade():
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=120), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('is_recruiting', sa.Boolean(), nullable=False),
    sa.Column('allows_walk_ins', sa.Boolean(), nullable=False),
    sa.Column('grace_minutes', sa.Integer(), nullable=False),
    sa.Column('signup_mode', sa.String(length=12), nullable=False),
    sa.Column('person_in_charge', sa.String(length=60), nullable=False),
    sa.Column('risk_disclosure', sa.Text(), nullable=False),
    sa.Column('requires_training', sa.Boolean(), nullable=False),
    sa.Column('requires_insurance', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('community', 'elderly', 'disability', 'poverty', 'education', 'health', 'environment', 'culture', 'emergency', 'events', 'other')", name=op.f('ck_activities_category')),
    sa.CheckConstraint("signup_mode IN ('auto', 'approval')", name=op.f('ck_activities_signup_mode')),
    sa.CheckConstraint("status IN ('draft', 'published', 'closed')", name=op.f('ck_activities_status')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_activities_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_activities_ends_after_start')),
    sa.CheckConstraint('grace_minutes >= 0 AND grace_minutes <= 720', name=op.f('ck_activities_grace_minutes_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_activities_created_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_activities_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('code', name=op.f('uq_activities_code'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_organization_id_starts_at', ['organization_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_region_code'), ['region_code'], unique=False)
        batch_op.create_index('ix_activities_status_starts_at', ['status', 'starts_at'], unique=False)

    op.create_table('attendance_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.CheckConstraint('checked_out_at IS NULL OR checked_out_at >= checked_in_at', name=op.f('ck_attendance_sessions_out_after_in')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_attendance_sessions_activity_id_activities')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_attendance_sessions_organization_id_organizations')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_attendance_sessions_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_sessions'))
    )
    with op.batch_alter_table('attendance_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_sessions_activity_id_volunteer_id', ['activity_id', 'volunteer_id'], unique=False)
        batch_op.create_index('ix_attendance_sessions_organization_id_checked_in_at', ['organization_id', 'checked_in_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_sessions_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('accepted', 'pending', 'waitlisted', 'withdrawn', 'declined')", name=op.f('ck_signups_status')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_signups_activity_id_activities')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_signups_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signups')),
    sa.UniqueConstraint('activity_id', 'volunteer_id', name=op.f('uq_signups_activity_id_volunteer_id'))
    )
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.create_index('ix_signups_activity_id_status', ['activity_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_signups_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('manual_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_manual_entries_status')),
    sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id <> entered_by_id', name=op.f('ck_manual_entries_four_eyes')),
    sa.CheckConstraint('ended_at > started_at', name=op.f('ck_manual_entries_ends_after_start')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_manual_entries_activity_id_activities')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_manual_entries_decided_by_id_users')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_manual_entries_entered_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_manual_entries_organization_id_organizations')),
    sa.ForeignKeyConstraint(['session_id'], ['attendance_sessions.id'], name=op.f('fk_manual_entries_session_id_attendance_sessions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_manual_entries_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_entries'))
    )
    with op.batch_alter_table('manual_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_entries_activity_id'), ['activity_id'], unique=False)

    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.Column('typed_number', sa.String(length=40), nullable=True),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('result', sa.String(length=4), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('refusal_code', sa.String(length=40), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out', 'auto')", name=op.f('ck_scans_direction')),
    sa.CheckConstraint("method IN ('kiosk', 'card', 'offline', 'correction')", name=op.f('ck_scans_method')),
    sa.CheckConstraint('accepted = (refusal_code IS NULL)', name=op.f('ck_scans_accepted_xor_refused')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_scans_activity_id_activities')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_scans_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_scans_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['attendance_sessions.id'], name=op.f('fk_scans_session_id_attendance_sessions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_scans_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('event_id', name=op.f('uq_scans_event_id'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index('ix_scans_activity_id_id', ['activity_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_volunteer_id'), ['volunteer_id'], unique=False)

    for statement in append_only_statements(op.get_bind().dialect.name, "scans"):
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_volunteer_id'))
        batch_op.drop_index('ix_scans_activity_id_id')

    op.drop_table('scans')
    with op.batch_alter_table('manual_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_entries_activity_id'))

    op.drop_table('manual_entries')
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signups_volunteer_id'))
        batch_op.drop_index('ix_signups_activity_id_status')

    op.drop_table('signups')
    with op.batch_alter_table('attendance_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_sessions_volunteer_id'))
        batch_op.drop_index('ix_attendance_sessions_organization_id_checked_in_at')
        batch_op.drop_index('ix_attendance_sessions_activity_id_volunteer_id')

    op.drop_table('attendance_sessions')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_status_starts_at')
        batch_op.drop_index(batch_op.f('ix_activities_region_code'))
        batch_op.drop_index('ix_activities_organization_id_starts_at')

    op.drop_table('activities')
