"""Audit events belong to a municipality

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-29 23:00:00

An admin's audit log showed every municipality's logins, reads and consent events. Existing
rows are backfilled from the subject (tenant, alert, caseworker, team, login e-mail), else from
the acting caseworker.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CW_ORG = "(SELECT tm.organisation_id FROM caseworkers c JOIN teams tm ON tm.id = c.team_id WHERE {})"


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_audit_events_organisation_id", ["organisation_id"])
        batch_op.create_foreign_key("fk_audit_events_organisation_id_organisations",
                                    "organisations", ["organisation_id"], ["id"])
    ae = "audit_events"
    op.execute(f"""
        UPDATE {ae} SET organisation_id = COALESCE(
          CASE WHEN subject_type = 'tenant' THEN
            (SELECT t.organisation_id FROM tenants t WHERE CAST(t.id AS VARCHAR(64)) = {ae}.subject_id) END,
          CASE WHEN subject_type = 'alert' THEN
            (SELECT a.organisation_id FROM alerts a WHERE CAST(a.id AS VARCHAR(64)) = {ae}.subject_id) END,
          CASE WHEN subject_type = 'team' THEN
            (SELECT tm.organisation_id FROM teams tm WHERE CAST(tm.id AS VARCHAR(64)) = {ae}.subject_id) END,
          CASE WHEN subject_type = 'caseworker' THEN
            {_CW_ORG.format(f"CAST(c.id AS VARCHAR(64)) = {ae}.subject_id")} END,
          CASE WHEN subject_type = 'login' THEN
            {_CW_ORG.format(f"c.email = {ae}.subject_id")} END,
          {_CW_ORG.format(f"'caseworker:' || CAST(c.id AS VARCHAR(64)) = {ae}.actor")})""")


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_events_organisation_id_organisations",
                                 type_="foreignkey")
        batch_op.drop_index("ix_audit_events_organisation_id")
        batch_op.drop_column("organisation_id")
